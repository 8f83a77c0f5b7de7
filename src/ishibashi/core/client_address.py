"""The address a request came from, as far as the deployment's trusted proxies vouch for it."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(text: str) -> str | None:
    """An IP address in canonical form, or None; tolerates a port and IPv6 brackets."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # IPv4 with a port; a bare IPv6 has two or more colons
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _forwarded_meta_key() -> str:
    return "HTTP_" + settings.FORWARDED_FOR_HEADER.upper().replace("-", "_")


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address for throttles and lock-outs (None when unknown).

    With TRUSTED_PROXY_COUNT = n, the last n hops are our proxies: each appended the address
    it saw to the forwarded header, so the client is the n-th entry from the right, counting
    REMOTE_ADDR as the rightmost. Entries further left were written by the client and are
    ignored, so nobody picks their own address (or somebody else's) by sending the header.
    """
    remote = _address(request.META.get("REMOTE_ADDR") or "")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops == 0:
        return remote
    forwarded = request.META.get(_forwarded_meta_key(), "")
    chain = [entry for entry in forwarded.split(",") if entry.strip()]
    chain.append(request.META.get("REMOTE_ADDR") or "")
    if len(chain) <= hops:
        # The request skipped a proxy (or one forgot the header): the nearest hop is all we know.
        return remote
    return _address(chain[-(hops + 1)]) or remote
