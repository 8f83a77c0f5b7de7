"""System checks about how the site is served (registered by CoreConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def plain_http_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Production over plain HTTP is an explicit opt-out; say it at every start.

    The opt-out silences Django's four HTTPS warnings (settings: SILENCED_SYSTEM_CHECKS), so
    this notice is what remains on the console.
    """
    if not (settings.IS_PRODUCTION and settings.ALLOW_PLAIN_HTTP):
        return []
    return [
        checks.Info(
            "PRODUCTION IS SERVED OVER PLAIN HTTP: no HTTPS redirect, no HSTS, cookies not "
            "Secure. Only for a test rig on loopback, never on a network.",
            hint="Allowed by ISHIBASHI_ALLOW_PLAIN_HTTP=1; see deploy/README.md.",
            id="ishibashi.I002",
        )
    ]
