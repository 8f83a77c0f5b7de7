"""Display names: one form per name (NFKC), nothing invisible or reversed, nothing that reads as
the platform. The same rule at sign-up and on the profile, through both doors."""

import json

import pytest
from django.test import Client

from conftest import STRONG_PASSWORD
from ishibashi.accounts.models import User
from ishibashi.accounts.services import user_profile_update, user_signup
from ishibashi.core.errors import InvalidInput


def _signup(name):
    return user_signup(
        email="n@example.jp", password=STRONG_PASSWORD, display_name=name,
        entity_type="individual", is_client=True, is_worker=False,
    )  # fmt: skip


def test_a_full_width_name_is_stored_in_its_one_form(db):
    assert _signup("ＴＡＮＡＫＡ　ﾐｻｷ").display_name == "TANAKA ミサキ"


@pytest.mark.parametrize(
    "name",
    [
        "田中\u202e作業者",  # right-to-left override: reads backwards
        "田中\u200b美咲",  # zero-width space
        "\u200d\u200d",  # zero-width joiners only
        "\u3164",  # Hangul filler: a letter that draws nothing
        "\u2800\u2800",  # blank Braille cells
        "\ue000田中",  # private use
    ],
)
def test_invisible_or_reversing_characters_are_refused(db, name):
    with pytest.raises(InvalidInput) as refused:
        _signup(name)

    assert refused.value.field == "display_name"
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    "name",
    [
        "運営",
        "石橋運営事務局",
        "公式サポート",
        "Ishibashi",
        "ｉｓｈｉｂａｓｈｉ",
        "石橋",
        "Official",
    ],
)
def test_names_that_read_as_the_platform_are_refused(db, name):
    with pytest.raises(InvalidInput) as refused:
        _signup(name)

    assert refused.value.code == "invalid_input"
    assert User.objects.count() == 0


def test_the_surname_ishibashi_is_a_name_like_any_other(db):
    assert _signup("石橋 美咲").display_name == "石橋 美咲"


def test_the_profile_refuses_a_reserved_name_and_keeps_the_old_one(make_user):
    user = make_user(display_name="田中 美咲")

    with pytest.raises(InvalidInput):
        user_profile_update(user=user, changes={"display_name": "運営スタッフ"})

    user.refresh_from_db()
    assert user.display_name == "田中 美咲"


def test_the_api_says_what_is_wrong_in_japanese(db):
    response = Client().post(
        "/api/v1/auth/signup",
        json.dumps({"email": "a@example.jp", "password": STRONG_PASSWORD,
                    "display_name": "公式", "roles": ["client"]}),
        content_type="application/json",
    )  # fmt: skip

    assert response.status_code == 422
    assert response.json()["field"] == "display_name"
    assert "運営" in response.json()["message"]
