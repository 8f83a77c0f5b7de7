"""The client address behind trusted proxies: the proxy's view, never the client's say-so."""

import pytest
from django.test import RequestFactory, override_settings

from ishibashi.core.client_address import client_ip


def _request(remote="10.0.0.2", forwarded=None, **meta):
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", REMOTE_ADDR=remote, **meta)


def test_with_no_trusted_proxy_a_forwarded_header_is_ignored():
    assert client_ip(_request(remote="203.0.113.5", forwarded="198.51.100.1")) == "203.0.113.5"


@override_settings(TRUSTED_PROXY_COUNT=1)
@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.5", "203.0.113.5"),
        # the client wrote the first entry itself; nginx appended the address it saw
        ("6.6.6.6, 203.0.113.5", "203.0.113.5"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("203.0.113.5:5123", "203.0.113.5"),
        # a proxy that forgot the header, or garbage in its slot: only the proxy is known
        (None, "10.0.0.2"),
        ("not-an-address", "10.0.0.2"),
    ],
)
def test_behind_one_proxy_the_client_is_the_address_the_proxy_saw(forwarded, expected):
    assert client_ip(_request(forwarded=forwarded)) == expected


@override_settings(TRUSTED_PROXY_COUNT=2)
def test_behind_two_proxies_the_client_is_two_hops_out():
    request = _request(forwarded="6.6.6.6, 203.0.113.5, 10.0.0.1")

    assert client_ip(request) == "203.0.113.5"


@override_settings(TRUSTED_PROXY_COUNT=1, FORWARDED_FOR_HEADER="X-Real-Client")
def test_the_forwarded_header_can_be_named():
    request = _request(forwarded="6.6.6.6", HTTP_X_REAL_CLIENT="203.0.113.5")

    assert client_ip(request) == "203.0.113.5"
