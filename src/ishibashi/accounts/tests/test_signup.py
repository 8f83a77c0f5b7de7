"""Sign-up: who may register, and every refusal leaves no account behind."""

import pytest

from ishibashi.accounts.models import User
from ishibashi.accounts.services import user_signup
from ishibashi.core.errors import ApplicationError

GOOD = {
    "email": "Misaki.Tanaka@Example.JP",
    "password": "hashi-wo-tataku-2026",
    "display_name": "  田中 美咲 ",
    "is_client": False,
    "is_worker": True,
}


def test_signup_creates_a_worker_with_an_argon2_password(db):
    # when
    user = user_signup(**GOOD)

    # then
    stored = User.objects.get(pk=user.pk)
    assert stored.email == "misaki.tanaka@example.jp"
    assert stored.display_name == "田中 美咲"
    assert (stored.is_client, stored.is_worker) == (False, True)
    assert stored.password.startswith("argon2$")
    assert stored.check_password(GOOD["password"]) is True


@pytest.mark.parametrize(
    ("_case", "changes", "code", "field"),
    [
        ("malformed e-mail", {"email": "not-an-address"}, "invalid_input", "email"),
        ("empty e-mail", {"email": "  "}, "invalid_input", "email"),
        ("e-mail with NUL", {"email": "a\x00@example.jp"}, "invalid_input", "email"),
        ("weak password", {"password": "12345678"}, "invalid_input", "password"),
        ("password like the e-mail", {"password": "misaki.tanaka"}, "invalid_input", "password"),
        ("over-long password", {"password": "x" * 129}, "invalid_input", "password"),
        ("over-long name", {"display_name": "名" * 51}, "invalid_input", "display_name"),
        ("blank name", {"display_name": "   "}, "invalid_input", "display_name"),
        (
            "control character in name",
            {"display_name": "田中\x07"},
            "invalid_input",
            "display_name",
        ),
        ("no role", {"is_worker": False}, "invalid_input", "roles"),
        ("unknown entity type", {"entity_type": "robot"}, "invalid_input", "entity_type"),
    ],
)
def test_bad_sign_up_is_refused_and_creates_nothing(db, _case, changes, code, field):
    # when
    with pytest.raises(ApplicationError) as refusal:
        user_signup(**{**GOOD, **changes})

    # then
    assert refusal.value.code == code
    assert refusal.value.field == field
    assert str(refusal.value.message)
    assert User.objects.count() == 0


def test_an_address_can_hold_only_one_account_whatever_its_case(db):
    # given
    user_signup(**GOOD)

    # when
    with pytest.raises(ApplicationError) as refusal:
        user_signup(**{**GOOD, "email": "MISAKI.TANAKA@example.jp", "display_name": "別人"})

    # then
    assert refusal.value.code == "email_taken"
    assert refusal.value.http_status == 409
    assert list(User.objects.values_list("display_name", flat=True)) == ["田中 美咲"]


def test_one_person_can_be_client_and_worker(db):
    user = user_signup(**{**GOOD, "is_client": True})

    assert (user.is_client, user.is_worker) == (True, True)
