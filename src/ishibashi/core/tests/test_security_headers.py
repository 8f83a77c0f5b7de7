"""Pages carry a Content-Security-Policy; private answers and downloads are never cached."""

import pytest
from django.test import Client


@pytest.mark.django_db
def test_a_page_has_a_policy_that_forbids_framing_plugins_and_other_origins():
    page = Client().get("/")

    policy = page["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert "no-store" not in page.get("Cache-Control", "")  # public: may be cached


def test_a_logged_in_page_is_private_and_not_stored(make_user):
    web = Client()
    web.force_login(make_user())

    page = web.get("/accounts/profile/")

    assert page.status_code == 200
    assert page["Cache-Control"] == "private, no-store"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]


def test_an_api_answer_for_a_token_is_not_stored_and_has_no_page_policy(make_user, token_for):
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(make_user())}")

    wallet = api.get("/api/v1/wallet")

    assert wallet.status_code == 200
    assert wallet["Cache-Control"] == "private, no-store"
    assert "Content-Security-Policy" not in wallet
