"""The operator's books page and API: staff only, and they show the same checks as check-books."""

import json

from django.db import connection, transaction
from django.test import Client

from conftest import log_in
from ishibashi.ledger import services as ledger
from ishibashi.ledger.models import AccountKind, LedgerAccount, Transfer


def _staff(make_staff):
    return make_staff(email="ops@example.jp")


def _deposit(user, amount=10_000, key="d1"):
    with transaction.atomic():
        ledger.deposit_credit(user=user, amount_jpy=amount, idempotency_key=key, reference="test")


def test_staff_see_balanced_books(make_user, make_staff, token_for):
    _deposit(make_user())
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(_staff(make_staff))}"}

    body = Client().get("/api/v1/operations/books", **auth).json()

    assert body["is_balanced"] is True
    assert body["totals_by_kind"] == {"provider_clearing": -10_000, "wallet": 10_000}
    assert body["problems"] == []


def test_the_page_names_the_account_whose_cache_drifted(make_user, make_staff):
    client = make_user()
    _deposit(client)
    wallet = LedgerAccount.objects.get(owner=client, kind=AccountKind.WALLET)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_ledgeraccount SET balance_jpy = balance_jpy + 1 WHERE id = %s",
            [wallet.pk],
        )
    web = log_in(Client(), _staff(make_staff))

    text = web.get("/operations/books/").content.decode()

    assert "cached_balance" in text
    assert wallet.key in text


def test_people_who_are_not_staff_get_nothing(make_user, token_for):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(make_user())}"}

    assert Client().get("/api/v1/operations/books", **auth).status_code == 404
    web = Client()
    web.force_login(make_user())
    # The same 404 as for a page that does not exist: nothing says an operator area is here.
    assert web.get("/operations/books/").status_code == 404
    assert web.post("/operations/books/", {"account_id": 1}).status_code == 404
    assert Client().get("/operations/books/").status_code == 404


def test_an_adjustment_needs_a_reason_and_is_booked_balanced(make_user, make_staff, token_for):
    client = make_user()
    _deposit(client)
    wallet = LedgerAccount.objects.get(owner=client, kind=AccountKind.WALLET)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(_staff(make_staff))}"}

    refused = Client().post(
        "/api/v1/operations/adjustments",
        json.dumps({"account_id": wallet.pk, "amount_jpy": 500, "reason": " "}),
        content_type="application/json",
        **auth,
    )
    booked = Client().post(
        "/api/v1/operations/adjustments",
        json.dumps({"account_id": wallet.pk, "amount_jpy": 500, "reason": "振込手数料の補填"}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="adj-1",
        **auth,
    )

    assert refused.status_code == 422
    assert refused.json()["field"] == "reason"
    assert booked.status_code == 201
    assert booked.json()["memo"] == "振込手数料の補填"
    wallet.refresh_from_db()
    assert wallet.balance_jpy == 10_500
    assert Transfer.objects.filter(reason="adjustment").count() == 1
    books = Client().get("/api/v1/operations/books", **auth).json()
    assert books["is_balanced"] is True
