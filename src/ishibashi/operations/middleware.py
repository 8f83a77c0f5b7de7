"""The operator area answers only from the networks the deployment names.

ISHIBASHI_OPERATOR_ALLOWED_NETWORKS (settings.OPERATOR_ALLOWED_NETWORKS): from elsewhere the
console, the admin and the operator API are the site's ordinary 404, for everyone, staff
included, before any log-in or second factor is asked for: nothing says the area is there.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from ishibashi.core.client_address import client_ip

OPERATOR_PATH_PREFIXES = ("/operations/", "/operator/", "/api/v1/operations/")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


def address_is_allowed(address: str | None, allowed: list[str]) -> bool:
    """Whether an operator may come from this address; any address when nothing is named."""
    if not allowed:
        return True
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(allowed)))


class OperatorNetworkMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(OPERATOR_PATH_PREFIXES) and not address_is_allowed(
            client_ip(request), settings.OPERATOR_ALLOWED_NETWORKS
        ):
            if request.path_info.startswith("/api/"):
                return JsonResponse({"code": "not_found", "message": _("Not found.")}, status=404)
            return render(request, "404.html", {"message": _("Not found.")}, status=404)
        return self.get_response(request)
