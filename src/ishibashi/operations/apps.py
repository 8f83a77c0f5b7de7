"""Operations: the operator console, the background worker loop, the demo data and operator commands."""

from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "ishibashi.operations"
    label = "operations"
