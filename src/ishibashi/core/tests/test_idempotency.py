"""Idempotency-Key on money actions: a retry gets the first answer; the money moves once."""

import json

from django.test import Client

from ishibashi.contracts.models import MilestoneState
from ishibashi.contracts.tests.factories import deposit, hire
from ishibashi.core.idempotency import idempotent_requests_purge
from ishibashi.core.models import IdempotentRequest
from ishibashi.ledger.models import Transfer
from ishibashi.ledger.selectors import wallet_summary_for_user


def _setup(make_user, token_for, *, funds=60_000):
    client, worker = make_user(), make_user()
    contract = hire(client, worker)
    if funds:
        deposit(client, funds)
    milestone = contract.milestones.order_by("position").first()
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(client)}")
    return client, api, milestone


def _escrow_transfers():
    return Transfer.objects.filter(idempotency_key__endswith=":fund").count()


def test_a_funding_retried_with_its_key_gets_the_first_answer_and_funds_once(make_user, token_for):
    client, api, milestone = _setup(make_user, token_for)
    path = f"/api/v1/milestones/{milestone.pk}/fund"

    first = api.post(path, HTTP_IDEMPOTENCY_KEY="fund-1")
    retry = api.post(path, HTTP_IDEMPOTENCY_KEY="fund-1")

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert first.json()["state"] == MilestoneState.FUNDED
    assert wallet_summary_for_user(user=client).wallet_jpy == 0
    assert _escrow_transfers() == 1


def test_without_a_key_a_second_funding_is_still_refused(make_user, token_for):
    _client, api, milestone = _setup(make_user, token_for)
    path = f"/api/v1/milestones/{milestone.pk}/fund"

    api.post(path)
    again = api.post(path)

    assert again.status_code == 409
    assert _escrow_transfers() == 1


def test_a_refusal_is_not_kept_so_the_retry_after_a_deposit_funds(make_user, token_for):
    client, api, milestone = _setup(make_user, token_for, funds=0)
    path = f"/api/v1/milestones/{milestone.pk}/fund"

    short = api.post(path, HTTP_IDEMPOTENCY_KEY="fund-2")
    deposit(client, 60_000)
    retry = api.post(path, HTTP_IDEMPOTENCY_KEY="fund-2")

    assert short.status_code == 409
    assert short.json()["code"] == "exceeds_balance"
    assert retry.status_code == 200
    assert "Idempotent-Replayed" not in retry
    assert _escrow_transfers() == 1


def test_a_key_used_for_another_action_is_refused_and_changes_nothing(make_user, token_for):
    _client, api, milestone = _setup(make_user, token_for)
    api.post(f"/api/v1/milestones/{milestone.pk}/fund", HTTP_IDEMPOTENCY_KEY="same")

    other = api.post(
        f"/api/v1/contracts/{milestone.contract_id}/cancel",
        json.dumps({"reason": "予定が変わりました"}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="same",
    )

    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    milestone.contract.refresh_from_db()
    assert milestone.contract.cancelled_at is None


def test_keys_belong_to_their_sender(make_user, token_for):
    _client, api, milestone = _setup(make_user, token_for)
    api.post(f"/api/v1/milestones/{milestone.pk}/fund", HTTP_IDEMPOTENCY_KEY="mine")
    stranger = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(make_user())}")

    theirs = stranger.post(f"/api/v1/milestones/{milestone.pk}/fund", HTTP_IDEMPOTENCY_KEY="mine")

    assert theirs.status_code == 404  # not the first answer: the stranger may not see it
    assert "Idempotent-Replayed" not in theirs


def test_a_key_too_long_is_a_422_naming_it(make_user, token_for):
    _client, api, milestone = _setup(make_user, token_for)

    response = api.post(f"/api/v1/milestones/{milestone.pk}/fund", HTTP_IDEMPOTENCY_KEY="k" * 201)

    assert response.status_code == 422
    assert response.json()["field"] == "idempotency_key"
    assert _escrow_transfers() == 0


def test_kept_answers_are_forgotten_after_a_day(make_user, token_for, time_machine):
    time_machine.move_to("2026-12-01 10:00:00+09:00", tick=False)
    _client, api, milestone = _setup(make_user, token_for)
    api.post(f"/api/v1/milestones/{milestone.pk}/fund", HTTP_IDEMPOTENCY_KEY="old")
    assert IdempotentRequest.objects.count() == 1

    time_machine.shift(23 * 3600)
    assert idempotent_requests_purge() == 0
    time_machine.shift(2 * 3600)
    assert idempotent_requests_purge() == 1
    assert IdempotentRequest.objects.count() == 0
