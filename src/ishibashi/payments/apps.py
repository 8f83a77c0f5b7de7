"""Payments: deposits and payouts through a payment provider (a sandbox built in)."""

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "ishibashi.payments"
    label = "payments"

    def ready(self) -> None:
        from ishibashi.payments import checks  # noqa: F401  (registers the system checks)
