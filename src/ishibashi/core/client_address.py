"""The address a request came from, as far as the deployment's trusted proxies vouch for it."""

from __future__ import annotations

from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address for throttles and lock-outs (None when unknown)."""
    return request.META.get("REMOTE_ADDR") or None
