"""System checks: refuse the sandbox provider in production, say so loudly when overridden.

The override (ISHIBASHI_ALLOW_SANDBOX_PAYMENTS_IN_PRODUCTION=1) is the operator's explicit
acknowledgement, so it is reported as information (ishibashi.I001), printed at every start, not
as a warning: `ishibashi serve` refuses to start on any warning of `check --deploy`, and a warning
the operator has already answered would refuse every production start while the sandbox is the
only provider that ships.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=False)
def sandbox_provider_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.PAYMENT_PROVIDER != "sandbox" or not settings.IS_PRODUCTION:
        return []
    if not settings.ALLOW_SANDBOX_PAYMENTS_IN_PRODUCTION:
        return [
            checks.Error(
                "The sandbox payment provider cannot run with production settings.",
                hint="Configure a real provider, or set "
                "ISHIBASHI_ALLOW_SANDBOX_PAYMENTS_IN_PRODUCTION=1.",
                id="ishibashi.E001",
            )
        ]
    return [
        checks.Info(
            "PRODUCTION IS USING THE SANDBOX PAYMENT PROVIDER: no real money moves. "
            "Confirm the legal structure of holding money (law.md L-70) before going live.",
            hint="Allowed by ISHIBASHI_ALLOW_SANDBOX_PAYMENTS_IN_PRODUCTION=1.",
            id="ishibashi.I001",
        )
    ]
