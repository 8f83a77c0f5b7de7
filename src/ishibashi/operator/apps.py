"""Operator: the console, the background worker loop, the demo data and operator commands."""

from django.apps import AppConfig


class OperatorConfig(AppConfig):
    name = "ishibashi.operator"
    label = "operator"
