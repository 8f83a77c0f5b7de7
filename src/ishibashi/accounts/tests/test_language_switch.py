"""The header's language switch: a signed-in user's choice is remembered on the account."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_switching_the_language_signed_in_sets_the_preferred_language(make_user):
    user = make_user(email="emma@example.com", preferred_language="ja")
    web = Client()
    web.force_login(user)

    response = web.post("/i18n/setlang/", {"language": "en", "next": "/"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.preferred_language == "en"
    assert '<html lang="en">' in web.get("/").content.decode()


def test_an_unknown_language_changes_nothing(make_user):
    user = make_user(email="emma@example.com", preferred_language="ja")
    web = Client()
    web.force_login(user)

    web.post("/i18n/setlang/", {"language": "fr", "next": "/"})

    user.refresh_from_db()
    assert user.preferred_language == "ja"


def test_visitors_switch_the_page_only():
    response = Client().post("/i18n/setlang/", {"language": "en", "next": "/"})

    assert response.status_code == 302
    assert response.cookies["django_language"].value == "en"
