"""Log-in: the right password lets you in; guessing locks the account for a while."""

from datetime import timedelta

import pytest

from conftest import STRONG_PASSWORD
from ishibashi.accounts.models import LoginFailure
from ishibashi.accounts.services import user_authenticate
from ishibashi.core import limits
from ishibashi.core.errors import ApplicationError


def _fail(email, ip="198.51.100.7"):
    with pytest.raises(ApplicationError) as refusal:
        user_authenticate(email=email, password="wrong-password-123", ip_address=ip)
    return refusal.value


def test_the_right_password_logs_in_whatever_the_case_of_the_address(make_user):
    user = make_user(email="worker@example.jp")

    assert (
        user_authenticate(email=" Worker@Example.jp ", password=STRONG_PASSWORD, ip_address=None)
        == user
    )


def test_a_wrong_password_is_refused_and_counted(make_user):
    make_user(email="worker@example.jp")

    refusal = _fail("worker@example.jp")

    assert refusal.code == "invalid_credentials"
    assert LoginFailure.objects.filter(email="worker@example.jp").count() == 1


def test_an_unknown_address_gets_the_same_answer_as_a_wrong_password(db):
    refusal = _fail("nobody@example.jp")

    assert refusal.code == "invalid_credentials"


def test_five_failures_lock_the_account_even_for_the_right_password(make_user, time_machine):
    # given
    time_machine.move_to("2026-11-23 10:00:00+09:00", tick=False)
    make_user(email="worker@example.jp")
    codes = [_fail("worker@example.jp").code for _ in range(limits.LOGIN_FAILURES_PER_ACCOUNT_MAX)]

    # when
    with pytest.raises(ApplicationError) as refusal:
        user_authenticate(
            email="worker@example.jp", password=STRONG_PASSWORD, ip_address="203.0.113.9"
        )

    # then
    assert codes == ["invalid_credentials"] * 4 + ["login_locked"]
    assert refusal.value.code == "login_locked"
    assert refusal.value.http_status == 429
    assert refusal.value.extra["retry_after_seconds"] == 15 * 60
    assert "15" in str(refusal.value.message)


def test_the_lock_lifts_after_the_window_and_success_clears_the_count(make_user, time_machine):
    # given
    time_machine.move_to("2026-11-23 10:00:00+09:00", tick=False)
    user = make_user(email="worker@example.jp")
    for _ in range(limits.LOGIN_FAILURES_PER_ACCOUNT_MAX):
        _fail("worker@example.jp")

    # when
    time_machine.shift(limits.LOGIN_FAILURE_WINDOW + timedelta(seconds=1))
    logged_in = user_authenticate(
        email="worker@example.jp", password=STRONG_PASSWORD, ip_address=None
    )

    # then
    assert logged_in == user
    assert LoginFailure.objects.filter(email="worker@example.jp").count() == 0


def test_one_address_guessing_many_accounts_is_locked_out(make_user, time_machine):
    time_machine.move_to("2026-11-23 10:00:00+09:00", tick=False)
    make_user(email="victim@example.jp")
    for n in range(limits.LOGIN_FAILURES_PER_ADDRESS_MAX - 1):
        _fail(f"guess{n}@example.jp", ip="192.0.2.66")

    refusal = _fail("victim@example.jp", ip="192.0.2.66")

    assert refusal.code == "login_locked"


def test_a_password_with_unencodable_characters_is_just_wrong(make_user):
    make_user(email="worker@example.jp")

    with pytest.raises(ApplicationError) as refusal:
        user_authenticate(email="worker@example.jp", password="\ud800abc", ip_address=None)

    assert refusal.value.code == "invalid_credentials"
