"""The wallet through both doors: API with Idempotency-Key, pages with a double-submit guard."""

import json

from django.test import Client

from ishibashi.ledger.models import Transfer
from ishibashi.payments.models import Deposit
from ishibashi.payments.providers import SANDBOX_CARD_SUCCEEDS


def test_deposit_through_the_api_honours_the_idempotency_key(make_user, token_for):
    api = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(make_user())}"}
    body = json.dumps(
        {"amount_jpy": 12_000, "method": "card", "card_number": SANDBOX_CARD_SUCCEEDS}
    )

    first = api.post(
        "/api/v1/wallet/deposits",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="abc",
        **auth,
    )
    retry = api.post(
        "/api/v1/wallet/deposits",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="abc",
        **auth,
    )
    wallet = api.get("/api/v1/wallet", **auth)

    assert first.status_code == retry.status_code == 201
    assert first.json()["id"] == retry.json()["id"]
    assert wallet.json() == {
        "wallet_jpy": 12_000,
        "escrow_jpy": 0,
        "earnings_jpy": 0,
        "payout_pending_jpy": 0,
    }


def test_a_string_amount_is_a_422_not_a_deposit(make_user, token_for):
    api = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(make_user())}"}

    response = api.post(
        "/api/v1/wallet/deposits",
        json.dumps({"amount_jpy": "1e3", "method": "card"}),
        content_type="application/json",
        **auth,
    )

    assert response.status_code == 422
    assert response.json()["field"] == "amount_jpy"
    assert Deposit.objects.count() == 0


def test_history_pages_through_the_api_with_running_balances(make_user, token_for):
    api = Client()
    user = make_user()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(user)}"}
    for n, amount in enumerate([1_000, 2_000, 3_000]):
        api.post(
            "/api/v1/wallet/deposits",
            json.dumps(
                {"amount_jpy": amount, "method": "card", "card_number": SANDBOX_CARD_SUCCEEDS}
            ),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"k{n}",
            **auth,
        )

    page1 = api.get("/api/v1/wallet/transactions?limit=2", **auth).json()
    page2 = api.get(
        f"/api/v1/wallet/transactions?limit=2&before={page1['next_before']}", **auth
    ).json()

    assert [(i["amount_jpy"], i["balance_after_jpy"]) for i in page1["items"]] == [
        (3_000, 6_000),
        (2_000, 3_000),
    ]
    assert [(i["amount_jpy"], i["balance_after_jpy"]) for i in page2["items"]] == [(1_000, 1_000)]
    assert page2["next_before"] is None


def test_another_persons_deposit_is_not_found(make_user, token_for):
    api = Client()
    owner = make_user()
    owner_auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(owner)}"}
    created = api.post(
        "/api/v1/wallet/deposits",
        json.dumps({"amount_jpy": 1_000, "method": "bank_transfer"}),
        content_type="application/json",
        **owner_auth,
    ).json()
    stranger_auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(make_user())}"}

    response = api.get(f"/api/v1/wallet/deposits/{created['id']}", **stranger_auth)
    arrive = api.post(f"/api/v1/sandbox/deposits/{created['id']}/arrive", **stranger_auth)

    assert response.status_code == arrive.status_code == 404


def test_wallet_needs_authentication(db):
    assert Client().get("/api/v1/wallet").status_code == 401
    assert Client().get("/wallet/")["Location"].startswith("/accounts/login/")


def test_the_deposit_page_guards_against_a_double_submit(make_user):
    web = Client()
    user = make_user()
    web.force_login(user)
    form = web.get("/wallet/deposit/").context["form"]
    key = form.initial["idempotency_key"]
    data = {
        "amount_jpy": 5_000,
        "method": "card",
        "card_number": SANDBOX_CARD_SUCCEEDS,
        "idempotency_key": key,
    }

    first = web.post("/wallet/deposit/", data)
    second = web.post("/wallet/deposit/", data)

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Transfer.objects.filter(reason="deposit").count() == 1
    assert "¥5,000" in web.get("/wallet/").content.decode()


def test_the_deposit_page_shows_the_refusal_in_japanese(make_user):
    web = Client()
    web.force_login(make_user())
    key = web.get("/wallet/deposit/").context["form"].initial["idempotency_key"]

    response = web.post(
        "/wallet/deposit/",
        {
            "amount_jpy": 50,
            "method": "card",
            "card_number": SANDBOX_CARD_SUCCEEDS,
            "idempotency_key": key,
        },
    )

    assert response.status_code == 200
    assert "金額" in response.context["form"].errors["amount_jpy"][0]
    assert Deposit.objects.count() == 0
