"""Contracts: the agreed terms, their versions, milestones and the contract's event chain."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class ContractsConfig(AppConfig):
    name = "ishibashi.contracts"
    label = "contracts"

    def ready(self) -> None:
        checks.register(contract_settings_check)


def contract_settings_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Settings that would break a promise to workers stop the server at start-up."""
    from ishibashi.contracts.clocks import LEGAL_PAYMENT_DAYS_AFTER_DELIVERY

    errors: list[checks.CheckMessage] = []
    if not 1 <= settings.INSPECTION_DAYS_MIN <= settings.INSPECTION_DAYS_MAX:
        errors.append(
            checks.Error("INSPECTION_DAYS_MIN must be 1..INSPECTION_DAYS_MAX", id="contracts.E001")
        )
    # Automatic approval must come before the Freelance Act's payment deadline (law.md L-26).
    if settings.INSPECTION_DAYS_MAX > LEGAL_PAYMENT_DAYS_AFTER_DELIVERY:
        errors.append(
            checks.Error(
                f"INSPECTION_DAYS_MAX must be at most {LEGAL_PAYMENT_DAYS_AFTER_DELIVERY} days",
                id="contracts.E002",
            )
        )
    clocks = ("FUNDING_DAYS", "CLIENT_REPLY_DAYS", "CHANGE_ANSWER_DAYS", "CANCELLATION_ANSWER_DAYS")
    errors.extend(
        checks.Error(f"{name} must be at least 1 day", id="contracts.E003")
        for name in clocks
        if getattr(settings, name) < 1
    )
    if not 0 <= settings.KILL_FEE_PERCENT_MAX <= 100:
        errors.append(checks.Error("KILL_FEE_PERCENT_MAX must be 0..100", id="contracts.E004"))
    if settings.MONTHLY_TERMINATION_NOTICE_DAYS < 30:
        errors.append(
            checks.Error(
                "the Freelance Act requires 30 days' notice (law.md L-41)", id="contracts.E005"
            )
        )
    return errors
