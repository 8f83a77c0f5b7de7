"""The Django admin has no log-in of its own: it sends people to the throttled log-in page."""

import pytest
from django.test import Client

from conftest import STRONG_PASSWORD, log_in
from ishibashi.accounts.models import TotpDevice
from ishibashi.accounts.services import user_authenticate
from ishibashi.core import limits
from ishibashi.core.errors import ApplicationError

ADMIN_LOGIN = "/operator/admin/login/"


@pytest.fixture
def staff(make_staff):
    user = make_staff(email="ops@example.jp")
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    return user


def _lock(email):
    """Pause log-in to the account from the test client's own address (127.0.0.1)."""
    for _ in range(limits.LOGIN_FAILURES_PER_PAIR_FREE):
        with pytest.raises(ApplicationError):
            user_authenticate(email=email, password="wrong-password-123", ip_address="127.0.0.1")


def test_a_locked_staff_account_cannot_log_in_through_the_admin(staff):
    # given: the normal log-in has locked the account
    _lock(staff.email)
    web = Client()

    # when: the right password is posted to the admin's log-in
    response = web.post(
        ADMIN_LOGIN,
        {"username": staff.email, "password": STRONG_PASSWORD, "next": "/operator/admin/"},
    )

    # then: nobody is logged in, and the admin is not reachable
    assert "_auth_user_id" not in web.session
    assert web.get("/operator/admin/").status_code == 302
    assert response.status_code == 302


def test_the_admin_log_in_sends_people_to_the_throttled_log_in_page(staff):
    response = Client().get(ADMIN_LOGIN, {"next": "/operator/admin/accounts/user/"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/operator/admin/accounts/user/"


def test_unlimited_guesses_at_the_admin_never_end_in_a_log_in(staff):
    # given: more wrong guesses at the admin than the log-in page would ever allow
    web = Client()
    for _ in range(limits.LOGIN_FAILURES_PER_PAIR_FREE * 2):
        web.post(ADMIN_LOGIN, {"username": staff.email, "password": "wrong-password-123"})

    # when: the right one follows
    web.post(ADMIN_LOGIN, {"username": staff.email, "password": STRONG_PASSWORD})

    # then: the admin checked no password at all; the page log-in is the only door
    assert "_auth_user_id" not in web.session


def test_a_logged_in_person_who_is_not_staff_gets_a_404_not_a_redirect_loop(make_user):
    web = Client()
    web.force_login(make_user())

    assert web.get(ADMIN_LOGIN).status_code == 404


def test_the_admin_password_change_is_the_throttled_password_page(staff):
    web = log_in(Client(), staff)

    response = web.get("/operator/admin/password_change/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/"


def test_an_operator_can_reset_a_colleagues_app_and_never_sees_its_secret(staff, make_staff):
    # given: a colleague who lost both phone and recovery codes
    colleague = make_staff(email="colleague@example.jp")
    device = TotpDevice.objects.get(user=colleague)
    web = log_in(Client(), staff)

    # when
    page = web.get(f"/operator/admin/accounts/totpdevice/{device.pk}/change/")
    deleted = web.post(f"/operator/admin/accounts/totpdevice/{device.pk}/delete/", {"post": "yes"})

    # then: the colleague is asked to enrol again at their next log-in
    assert page.status_code == 200
    assert device.secret not in page.content.decode()
    assert deleted.status_code == 302
    assert not TotpDevice.objects.filter(user=colleague).exists()
    again = Client()
    again.force_login(colleague)
    assert again.get("/accounts/two-factor/")["Location"].startswith("/accounts/security/")
