"""Operations: the operator console, the worker loop, demo data and operator commands."""

from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "ishibashi.operations"
    label = "operations"
