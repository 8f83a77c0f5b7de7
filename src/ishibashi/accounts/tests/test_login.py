"""Log-in: the right password lets you in; guessing pauses the guesser, never the owner."""

from datetime import timedelta

import pytest
from django.core import signing

from conftest import STRONG_PASSWORD
from ishibashi.accounts.models import LoginFailure
from ishibashi.accounts.services import login_unlock, user_authenticate
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


def _log_in(email, ip):
    return user_authenticate(email=email, password=STRONG_PASSWORD, ip_address=ip)


def _refusal(email, ip, password=STRONG_PASSWORD):
    with pytest.raises(ApplicationError) as refusal:
        user_authenticate(email=email, password=password, ip_address=ip)
    return refusal.value


def test_five_failures_from_one_address_pause_that_address_even_for_the_right_password(
    make_user, time_machine
):
    # given
    time_machine.move_to("2026-11-23 10:00:00+09:00", tick=False)
    make_user(email="worker@example.jp")
    codes = [_fail("worker@example.jp").code for _ in range(limits.LOGIN_FAILURES_PER_PAIR_FREE)]

    # when
    refusal = _refusal("worker@example.jp", "198.51.100.7")

    # then
    assert codes == ["invalid_credentials"] * 4 + ["login_locked"]
    assert refusal.code == "login_locked"
    assert refusal.http_status == 429
    assert refusal.extra["retry_after_seconds"] == 60
    assert "1分後" in str(refusal.message)


def test_each_further_failure_doubles_the_pause_up_to_the_cap(make_user, time_machine):
    time_machine.move_to("2026-11-23 10:00:00+09:00", tick=False)
    make_user(email="worker@example.jp")
    for _ in range(limits.LOGIN_FAILURES_PER_PAIR_FREE):
        _fail("worker@example.jp")

    waits = []
    for _ in range(6):
        time_machine.shift(timedelta(seconds=waits[-1] if waits else 60))
        waits.append(_fail("worker@example.jp").extra["retry_after_seconds"])

    assert waits == [120, 240, 480, 900, 900, 900]


def test_the_pause_ends_and_success_clears_this_address(make_user, time_machine):
    # given
    time_machine.move_to("2026-11-23 10:00:00+09:00", tick=False)
    user = make_user(email="worker@example.jp")
    for _ in range(limits.LOGIN_FAILURES_PER_PAIR_FREE):
        _fail("worker@example.jp")

    # when
    time_machine.shift(limits.LOGIN_BACKOFF_FIRST + timedelta(seconds=1))
    logged_in = _log_in("worker@example.jp", "198.51.100.7")

    # then
    assert logged_in == user
    assert LoginFailure.objects.filter(email="worker@example.jp").count() == 0


def test_a_guesser_cannot_lock_the_owner_out_from_another_address(make_user, time_machine):
    # given: someone guesses until their own address is paused
    time_machine.move_to("2026-11-23 10:00:00+09:00", tick=False)
    owner = make_user(email="worker@example.jp")
    for _ in range(limits.LOGIN_FAILURES_PER_PAIR_FREE + 2):
        _fail("worker@example.jp", ip="192.0.2.66")

    # when: the owner logs in from home
    logged_in = _log_in("worker@example.jp", "203.0.113.9")

    # then: in, and the guesser's count is kept, not wiped by the owner's success
    assert logged_in == owner
    assert _refusal("worker@example.jp", "192.0.2.66").code == "login_locked"


def test_many_addresses_guessing_one_account_alarm_the_owner_but_do_not_lock_them_out(
    make_user, time_machine, mailoutbox
):
    # given: a botnet, two guesses per address, reaches the alarm
    time_machine.move_to("2026-11-23 10:00:00+09:00", tick=False)
    owner = make_user(email="worker@example.jp", preferred_language="en")
    attackers = [f"192.0.2.{n}" for n in range(1, limits.LOGIN_FAILURES_ACCOUNT_ALARM // 2 + 1)]
    for ip in attackers:
        _fail("worker@example.jp", ip=ip)
        _fail("worker@example.jp", ip=ip)

    # then: the owner is mailed once, with a link
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["worker@example.jp"]
    assert "10 times" in mailoutbox[0].body
    assert "/accounts/login/unlock/" in mailoutbox[0].body
    # every address that guessed waits the long pause, even under the per-address free tries
    refusal = _refusal("worker@example.jp", attackers[0])
    assert refusal.code == "login_locked"
    assert refusal.extra["retry_after_seconds"] == limits.LOGIN_BACKOFF_MAX.total_seconds()
    # a new address gets one guess, no more
    assert _fail("worker@example.jp", ip="198.51.100.200").code == "login_locked"
    # more failures do not mail the owner again within the window
    assert len(mailoutbox) == 1
    # and the owner, from an address that never guessed wrong, gets in
    assert _log_in("worker@example.jp", "203.0.113.9") == owner


def test_the_unlock_link_lifts_the_pause_for_the_owners_own_address(
    make_user, time_machine, mailoutbox
):
    # given: the owner mistyped from home and an attacker set off the alarm
    time_machine.move_to("2026-11-23 10:00:00+09:00", tick=False)
    owner = make_user(email="worker@example.jp")
    for _ in range(limits.LOGIN_FAILURES_PER_PAIR_FREE):
        _fail("worker@example.jp", ip="203.0.113.9")
    for n in range(limits.LOGIN_FAILURES_ACCOUNT_ALARM):
        _fail("worker@example.jp", ip=f"192.0.2.{n + 1}")
    assert _refusal("worker@example.jp", "203.0.113.9").code == "login_locked"
    token = mailoutbox[0].body.split("/accounts/login/unlock/")[1].split("/")[0]

    # when
    login_unlock(token=token)

    # then
    assert _log_in("worker@example.jp", "203.0.113.9") == owner


def test_an_unlock_link_that_was_tampered_with_or_expired_is_refused(make_user, time_machine):
    time_machine.move_to("2026-11-23 10:00:00+09:00", tick=False)
    make_user(email="worker@example.jp")
    for n in range(limits.LOGIN_FAILURES_ACCOUNT_ALARM):
        _fail("worker@example.jp", ip=f"192.0.2.{n + 1}")
    token = signing.dumps({"u": 1, "e": "worker@example.jp"}, salt="another-salt")

    with pytest.raises(ApplicationError) as forged:
        login_unlock(token=token)
    time_machine.shift(limits.LOGIN_UNLOCK_LINK_AGE + timedelta(minutes=1))
    with pytest.raises(ApplicationError) as garbage:
        login_unlock(token="not-a-token")

    assert forged.value.code == garbage.value.code == "invalid_unlock_link"
    assert LoginFailure.objects.filter(email="worker@example.jp").count() == 10


def test_one_address_guessing_many_accounts_is_paused(make_user, time_machine):
    time_machine.move_to("2026-11-23 10:00:00+09:00", tick=False)
    make_user(email="victim@example.jp")
    for n in range(limits.LOGIN_FAILURES_PER_ADDRESS_FREE - 1):
        _fail(f"guess{n}@example.jp", ip="192.0.2.66")

    refusal = _fail("victim@example.jp", ip="192.0.2.66")

    assert refusal.code == "login_locked"
    # the victim, elsewhere, is not affected
    assert _log_in("victim@example.jp", "203.0.113.9").email == "victim@example.jp"


def test_a_password_with_unencodable_characters_is_just_wrong(make_user):
    make_user(email="worker@example.jp")

    with pytest.raises(ApplicationError) as refusal:
        user_authenticate(email="worker@example.jp", password="\ud800abc", ip_address=None)

    assert refusal.value.code == "invalid_credentials"
