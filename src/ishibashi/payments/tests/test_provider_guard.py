"""The sandbox moves no real money: refused in production unless explicitly overridden (L-70)."""

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured

from ishibashi.payments.providers import get_provider


def test_the_sandbox_is_refused_with_production_settings(settings):
    settings.IS_PRODUCTION = True
    settings.ALLOW_SANDBOX_PAYMENTS_IN_PRODUCTION = False

    with pytest.raises(ImproperlyConfigured):
        get_provider()
    assert "ishibashi.E001" in {message.id for message in run_checks()}


def test_an_operator_override_runs_the_sandbox_with_a_warning(settings):
    settings.IS_PRODUCTION = True
    settings.ALLOW_SANDBOX_PAYMENTS_IN_PRODUCTION = True

    assert get_provider().name == "sandbox"
    ids = {message.id for message in run_checks()}
    assert "ishibashi.I001" in ids
    assert "ishibashi.E001" not in ids


def test_development_uses_the_sandbox_silently(settings):
    settings.IS_PRODUCTION = False

    assert get_provider().name == "sandbox"
    assert not {m.id for m in run_checks()} & {"ishibashi.E001", "ishibashi.I001"}
