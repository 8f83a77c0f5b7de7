"""Sign-up abuse (#11, finding 4): the answer never tells whether an address has an account, the
address is confirmed by a mailed link before money, posting or proposals, sign-ups are throttled
per client address and new accounts send a bounded number of proposals and messages an hour."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.test import Client

from conftest import STRONG_PASSWORD
from ishibashi.accounts.models import User
from ishibashi.accounts.services import (
    email_verify,
    password_reset_request,
    signup_request,
    verification_token,
)
from ishibashi.contracts import services as contracts
from ishibashi.contracts.tests.factories import deposit, hire
from ishibashi.core import clock, limits
from ishibashi.core.errors import ApplicationError, Forbidden, RateLimited
from ishibashi.jobs import services as jobs
from ishibashi.jobs.tests.conftest import job_input, proposal_input
from ishibashi.payments import services as payments
from ishibashi.payments.providers import SANDBOX_CARD_SUCCEEDS

SIGNUP = {
    "email": "misaki@example.jp",
    "password": STRONG_PASSWORD,
    "display_name": "田中 美咲",
    "roles": ["client", "worker"],
}
FORM = {
    "display_name": "田中 美咲",
    "email": "misaki@example.jp",
    "password": STRONG_PASSWORD,
    "entity_type": "individual",
    "roles": ["client", "worker"],
}
LINK = re.compile(r"/accounts/verify-email/([^/\s]+)/")


@pytest.fixture(autouse=True)
def _cheap_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def api_post(path, body, **headers):
    return Client().post(path, json.dumps(body), content_type="application/json", **headers)


def link_token(message) -> str:
    match = LINK.search(message.body)
    assert match, message.body
    return match.group(1)


# --- the answer is the same for a new and a taken address ------------------------------------


def test_the_api_answers_a_taken_address_as_it_answers_a_new_one_and_mails_the_owner(
    make_user, mailoutbox, django_capture_on_commit_callbacks
):
    owner = make_user(email="taken@example.jp", display_name="先に登録した人")

    with django_capture_on_commit_callbacks(execute=True):
        new = api_post("/api/v1/auth/signup", SIGNUP)
    with django_capture_on_commit_callbacks(execute=True):
        taken = api_post("/api/v1/auth/signup", {**SIGNUP, "email": "TAKEN@example.jp"})

    assert new.status_code == taken.status_code == 202
    assert new.json() == taken.json()
    assert User.objects.filter(email="taken@example.jp").get() == owner
    assert User.objects.get(email="taken@example.jp").display_name == "先に登録した人"
    to_new, to_owner = mailoutbox
    assert to_new.to == ["misaki@example.jp"]
    assert LINK.search(to_new.body)
    assert to_owner.to == ["taken@example.jp"]
    assert "新規登録" in to_owner.subject
    assert "/accounts/password/reset/" in to_owner.body
    assert not LINK.search(to_owner.body)


def test_the_page_answers_a_taken_address_as_it_answers_a_new_one(
    make_user, mailoutbox, django_capture_on_commit_callbacks
):
    make_user(email="taken@example.jp")

    with django_capture_on_commit_callbacks(execute=True):
        new = Client().post("/accounts/signup/", FORM)
    with django_capture_on_commit_callbacks(execute=True):
        taken = Client().post("/accounts/signup/", {**FORM, "email": "taken@example.jp"})

    csrf = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"|"X-CSRFToken": "[^"]+"')
    assert new.status_code == taken.status_code == 200
    assert csrf.sub(b"", new.content) == csrf.sub(b"", taken.content)
    assert "受信箱を確認してください" in new.content.decode()
    assert [m.to for m in mailoutbox] == [["misaki@example.jp"], ["taken@example.jp"]]


def test_an_owner_is_told_of_attempts_a_few_times_an_hour_not_without_end(
    make_user, mailoutbox, django_capture_on_commit_callbacks
):
    make_user(email="taken@example.jp")

    for n in range(limits.SIGNUP_OWNER_MAILS_PER_EMAIL_MAX + 2):
        with django_capture_on_commit_callbacks(execute=True):
            signup_request(
                email="taken@example.jp",
                password=STRONG_PASSWORD,
                display_name="誰か",
                is_client=True,
                is_worker=False,
                ip_address=f"192.0.2.{n}",
            )

    assert len(mailoutbox) == limits.SIGNUP_OWNER_MAILS_PER_EMAIL_MAX


def test_bad_input_is_still_refused_clearly_and_writes_nothing(make_user):
    make_user(email="taken@example.jp")

    response = api_post("/api/v1/auth/signup", {**SIGNUP, "email": "taken@", "password": "x"})

    assert response.status_code == 422
    assert response.json()["field"] == "email"
    assert User.objects.count() == 1


# --- the link ---------------------------------------------------------------------------------


def test_the_link_page_confirms_only_on_the_button_not_on_opening(
    db, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/accounts/signup/", FORM)
    token = link_token(mailoutbox[0])
    web = Client()

    opened = web.get(f"/accounts/verify-email/{token}/")
    assert opened.status_code == 200
    assert 'data-testid="verify-email-confirm"' in opened.content.decode()
    assert User.objects.get(email="misaki@example.jp").email_verified_at is None

    confirmed = web.post(f"/accounts/verify-email/{token}/", follow=True)
    assert confirmed.redirect_chain[-1][0] == "/accounts/login/"
    assert "メールアドレスを確認しました" in confirmed.content.decode()
    assert User.objects.get(email="misaki@example.jp").email_verified_at is not None


def test_a_logged_in_person_lands_on_the_profile_after_confirming(make_user):
    user = make_user(email_verified=False)
    web = Client()
    web.force_login(user)
    assert 'data-testid="email-unverified-banner"' in web.get("/accounts/profile/").content.decode()

    response = web.post(f"/accounts/verify-email/{verification_token(user)}/", follow=True)

    assert response.redirect_chain[-1][0] == "/accounts/profile/"
    assert 'data-testid="email-unverified-banner"' not in response.content.decode()


def test_the_api_confirms_with_the_token_and_refuses_a_bad_or_expired_one(make_user, time_machine):
    user = make_user(email_verified=False)
    token = verification_token(user)

    bad = api_post("/api/v1/auth/verify-email", {"token": token[:-2] + "xx"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_verification_link"
    assert "リンク" in bad.json()["message"]

    time_machine.move_to(clock.now() + limits.EMAIL_VERIFICATION_MAX_AGE + dt.timedelta(hours=1))
    expired = api_post("/api/v1/auth/verify-email", {"token": token})
    assert expired.status_code == 400
    assert expired.json()["code"] == "invalid_verification_link"
    user.refresh_from_db()
    assert user.email_verified_at is None

    fresh = verification_token(user)
    good = api_post("/api/v1/auth/verify-email", {"token": fresh})
    again = api_post("/api/v1/auth/verify-email", {"token": fresh})
    assert good.status_code == again.status_code == 200
    user.refresh_from_db()
    assert user.email_verified_at is not None


def test_an_expired_link_page_offers_a_new_mail(make_user):
    response = Client().get("/accounts/verify-email/not-a-token/")

    assert response.status_code == 200
    assert "無効" in response.content.decode()
    assert 'action="/accounts/verify-email/resend/"' in response.content.decode()


def test_me_says_whether_the_address_is_confirmed(make_user, token_for):
    user = make_user(email_verified=False)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(user)}"}

    before = Client().get("/api/v1/me", **auth).json()["email_verified"]
    email_verify(token=verification_token(user))
    after = Client().get("/api/v1/me", **auth).json()["email_verified"]

    assert (before, after) == (False, True)


def test_a_password_reset_link_also_confirms_the_address(
    make_user, mailoutbox, django_capture_on_commit_callbacks
):
    user = make_user(email="misaki@example.jp", email_verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        password_reset_request(email="misaki@example.jp")
    uid, token = re.search(r"/password/reset/([^/]+)/([^/]+)/", mailoutbox[0].body).groups()

    response = api_post(
        "/api/v1/auth/password-reset/confirm",
        {"uid": uid, "token": token, "new_password": "atarashii-hashi-2026"},
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.email_verified_at is not None


# --- resend -----------------------------------------------------------------------------------


def test_resend_answers_alike_for_every_address_and_mails_only_an_unverified_account(
    make_user, mailoutbox, django_capture_on_commit_callbacks
):
    make_user(email="waiting@example.jp", email_verified=False)
    make_user(email="done@example.jp")

    answers = []
    for address in ("waiting@example.jp", "done@example.jp", "nobody@example.jp"):
        with django_capture_on_commit_callbacks(execute=True):
            answers.append(api_post("/api/v1/auth/verify-email/resend", {"email": address}))

    assert {a.status_code for a in answers} == {202}
    assert len({json.dumps(a.json()) for a in answers}) == 1
    assert [m.to for m in mailoutbox] == [["waiting@example.jp"]]
    assert LINK.search(mailoutbox[0].body)


def test_resend_is_throttled_per_address_with_when_to_retry(make_user):
    make_user(email="waiting@example.jp", email_verified=False)
    body = {"email": "waiting@example.jp"}

    for _ in range(limits.VERIFICATION_RESENDS_PER_EMAIL_MAX):
        assert api_post("/api/v1/auth/verify-email/resend", body).status_code == 202
    refused = api_post("/api/v1/auth/verify-email/resend", body)
    unknown = [
        api_post("/api/v1/auth/verify-email/resend", {"email": "nobody@example.jp"})
        for _ in range(limits.VERIFICATION_RESENDS_PER_EMAIL_MAX + 1)
    ][-1]

    assert refused.status_code == unknown.status_code == 429
    assert refused.json()["code"] == "verification_throttled"
    assert int(refused["Retry-After"]) > 0


def test_the_banner_button_mails_the_logged_in_person_again(
    make_user, mailoutbox, django_capture_on_commit_callbacks
):
    user = make_user(email="waiting@example.jp", email_verified=False)
    web = Client()
    web.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = web.post("/accounts/verify-email/resend/")

    assert response.status_code == 200
    assert [m.to for m in mailoutbox] == [["waiting@example.jp"]]


# --- the gate: no money, no posting, no proposals before the address is confirmed ------------


@pytest.fixture
def unverified(make_user):
    return make_user(email="new@example.jp", email_verified=False)


def _refused_as_unverified(call) -> None:
    with pytest.raises(Forbidden) as refused:
        call()
    assert refused.value.code == "email_unverified"


def test_the_services_refuse_every_money_posting_and_proposal_step_to_an_unverified_account(
    make_user, unverified
):
    client = make_user(email="client@example.jp", is_worker=False)
    worker = make_user(email="worker@example.jp", is_client=False)
    job = jobs.job_create(client=client, data=job_input(), publish=True)

    _refused_as_unverified(
        lambda: payments.deposit_start(
            user=unverified,
            amount_jpy=10_000,
            method="card",
            idempotency_key="k",
            card_number=SANDBOX_CARD_SUCCEEDS,
        )
    )
    _refused_as_unverified(
        lambda: payments.payout_request(
            user=unverified,
            amount_jpy=1_000,
            idempotency_key="p",
            destination=payments.PayoutDestination(
                "みずほ銀行", "本店", "ordinary", "1234567", "タナカ"
            ),
        )
    )
    _refused_as_unverified(lambda: jobs.job_create(client=unverified, data=job_input()))
    _refused_as_unverified(
        lambda: jobs.proposal_create(worker=unverified, job_id=job.pk, data=proposal_input())
    )
    # A contract whose client's address is no longer confirmed: no funding, no hiring.
    contract = hire(client, worker)
    proposal = jobs.proposal_create(
        worker=worker,
        job_id=jobs.job_create(client=client, data=job_input(), publish=True).pk,
        data=proposal_input(),
    )
    deposit(client, 100_000)
    User.objects.filter(pk=client.pk).update(email_verified_at=None)
    client.refresh_from_db()
    milestone = contract.milestones.order_by("position").first()
    _refused_as_unverified(
        lambda: contracts.milestone_fund(client=client, milestone_id=milestone.pk)
    )
    _refused_as_unverified(lambda: contracts.proposal_hire(client=client, proposal_id=proposal.pk))
    _refused_as_unverified(lambda: jobs.job_publish(client=client, job_id=job.pk))


def test_the_api_answers_403_email_unverified_on_money_posting_and_proposals(
    make_user, unverified, token_for
):
    client = make_user(email="client@example.jp", is_worker=False)
    job = jobs.job_create(client=client, data=job_input(), publish=True)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(unverified)}"}
    job_body = {
        **{k: v for k, v in vars(job_input()).items() if k not in {"recruiting_deadline"}},
        "recruiting_deadline": (clock.now() + dt.timedelta(days=7)).isoformat(),
        "desired_delivery_on": job_input().desired_delivery_on.isoformat(),
        "publish": True,
    }
    plan = proposal_input()
    proposal_body = {
        "cover_letter": plan.cover_letter,
        "total_jpy": plan.total_jpy,
        "milestones": [{**vars(m), "due_on": m.due_on.isoformat()} for m in plan.milestones],
    }

    answers = [
        api_post(
            "/api/v1/wallet/deposits",
            {"amount_jpy": 10_000, "method": "card", "card_number": SANDBOX_CARD_SUCCEEDS},
            HTTP_IDEMPOTENCY_KEY="dep-1",
            **auth,
        ),
        api_post("/api/v1/jobs", job_body, **auth),
        api_post(f"/api/v1/jobs/{job.pk}/proposals", proposal_body, **auth),
        api_post(
            "/api/v1/wallet/payouts",
            {
                "amount_jpy": 1_000,
                "bank_name": "みずほ銀行",
                "branch_name": "本店",
                "account_type": "ordinary",
                "account_number": "1234567",
                "account_holder": "タナカ",
            },
            HTTP_IDEMPOTENCY_KEY="pay-1",
            **auth,
        ),
    ]

    assert [a.status_code for a in answers] == [403, 403, 403, 403], [a.json() for a in answers]
    assert {a.json()["code"] for a in answers} == {"email_unverified"}
    assert "メールアドレス" in answers[0].json()["message"]


def test_the_pages_show_the_refusal_and_the_banner_to_an_unverified_account(unverified):
    web = Client()
    web.force_login(unverified)

    response = web.post("/wallet/deposit/", {"amount_jpy": "10000", "method": "card",
                                             "card_number": SANDBOX_CARD_SUCCEEDS,
                                             "idempotency_key": "page-1"})  # fmt: skip

    text = response.content.decode()
    assert response.status_code == 200
    assert "メールアドレスの確認" in text
    assert 'data-testid="email-unverified-resend"' in text


def test_an_unverified_account_may_still_edit_its_profile(unverified):
    web = Client()
    web.force_login(unverified)

    response = web.post(
        "/accounts/profile/edit/",
        {
            "display_name": "新しい 名前",
            "entity_type": "individual",
            "roles": ["client"],
            "bio": "",
            "skills": "",
            "invoice_registration_number": "",
            "preferred_language": "ja",
        },
    )

    assert response.status_code == 302
    unverified.refresh_from_db()
    assert unverified.display_name == "新しい 名前"


# --- throttles --------------------------------------------------------------------------------


def test_sign_ups_from_one_address_are_throttled_with_when_to_retry(db):
    for n in range(limits.SIGNUPS_PER_ADDRESS_MAX):
        answer = api_post("/api/v1/auth/signup", {**SIGNUP, "email": f"bot{n}@example.jp"})
        assert answer.status_code == 202

    refused = api_post("/api/v1/auth/signup", {**SIGNUP, "email": "bot-late@example.jp"})
    page = Client().post("/accounts/signup/", {**FORM, "email": "bot-page@example.jp"})
    elsewhere = api_post(
        "/api/v1/auth/signup", {**SIGNUP, "email": "other@example.jp"}, REMOTE_ADDR="192.0.2.9"
    )

    assert refused.status_code == 429
    assert refused.json()["code"] == "signup_throttled"
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert "分後" in refused.json()["message"]
    assert "分後" in page.content.decode()
    assert elsewhere.status_code == 202
    assert not User.objects.filter(email__in=["bot-late@example.jp", "bot-page@example.jp"])
    assert User.objects.count() == limits.SIGNUPS_PER_ADDRESS_MAX + 1


def test_the_throttle_forgets_after_its_window(db, time_machine):
    for n in range(limits.SIGNUPS_PER_ADDRESS_MAX):
        api_post("/api/v1/auth/signup", {**SIGNUP, "email": f"bot{n}@example.jp"})

    time_machine.move_to(clock.now() + limits.SIGNUP_WINDOW + dt.timedelta(minutes=1))

    assert api_post("/api/v1/auth/signup", SIGNUP).status_code == 202


def test_a_new_account_sends_a_bounded_number_of_proposals_an_hour(make_user, time_machine):
    client = make_user(email="client@example.jp", is_worker=False)
    worker = make_user(email="worker@example.jp", is_client=False)
    open_jobs = [
        jobs.job_create(client=client, data=job_input(title=f"案件 {n}"), publish=True)
        for n in range(limits.NEW_ACCOUNT_PROPOSALS_PER_HOUR + 1)
    ]
    for job in open_jobs[:-1]:
        jobs.proposal_create(worker=worker, job_id=job.pk, data=proposal_input())

    with pytest.raises(RateLimited) as refused:
        jobs.proposal_create(worker=worker, job_id=open_jobs[-1].pk, data=proposal_input())
    assert refused.value.code == "new_account_limit"
    assert refused.value.extra["retry_after_seconds"] > 0
    assert "分後" in str(refused.value.message)

    time_machine.move_to(clock.now() + limits.NEW_ACCOUNT_WINDOW)
    jobs.proposal_create(worker=worker, job_id=open_jobs[-1].pk, data=proposal_input())


def test_an_older_account_is_not_limited(make_user, time_machine):
    client = make_user(email="client@example.jp", is_worker=False)
    time_machine.move_to(clock.now() - limits.NEW_ACCOUNT_AGE - dt.timedelta(days=1))
    worker = make_user(email="worker@example.jp", is_client=False)
    time_machine.move_to(clock.now() + limits.NEW_ACCOUNT_AGE + dt.timedelta(days=1))
    for n in range(limits.NEW_ACCOUNT_PROPOSALS_PER_HOUR + 1):
        job = jobs.job_create(client=client, data=job_input(title=f"案件 {n}"), publish=True)
        jobs.proposal_create(worker=worker, job_id=job.pk, data=proposal_input())


def test_a_new_account_sends_a_bounded_number_of_messages_an_hour(make_user, token_for):
    client = make_user(email="client@example.jp", is_worker=False)
    worker = make_user(email="worker@example.jp", is_client=False)
    job = jobs.job_create(client=client, data=job_input(), publish=True)
    proposal = jobs.proposal_create(worker=worker, job_id=job.pk, data=proposal_input())
    contract = hire(client, worker)
    for n in range(limits.NEW_ACCOUNT_MESSAGES_PER_HOUR):
        jobs.proposal_message_post(author=worker, proposal_id=proposal.pk, body=f"質問 {n}")
        contracts.contract_message_post(author=worker, contract_id=contract.pk, body=f"連絡 {n}")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(worker)}"}

    on_proposal = api_post(
        f"/api/v1/proposals/{proposal.pk}/messages", {"body": "もう一つ"}, **auth
    )
    on_contract = api_post(
        f"/api/v1/contracts/{contract.pk}/messages", {"body": "もう一つ"}, **auth
    )

    assert on_proposal.status_code == on_contract.status_code == 429
    assert on_proposal.json()["code"] == on_contract.json()["code"] == "new_account_limit"
    assert "resets_at" in on_contract.json()
    assert int(on_contract["Retry-After"]) > 0


def test_both_limits_can_be_switched_off_for_a_load_test(settings, db):
    settings.ACCOUNT_ABUSE_LIMITS = False

    for n in range(limits.SIGNUPS_PER_ADDRESS_MAX + 1):
        assert (
            api_post("/api/v1/auth/signup", {**SIGNUP, "email": f"load{n}@example.jp"}).status_code
            == 202
        )


def test_a_signup_through_the_service_never_raises_for_a_taken_address(make_user):
    make_user(email="taken@example.jp")

    try:
        signup_request(
            email="taken@example.jp",
            password=STRONG_PASSWORD,
            display_name="誰か",
            is_client=True,
            is_worker=False,
            ip_address="192.0.2.1",
        )
    except ApplicationError as error:  # pragma: no cover - the failure message
        pytest.fail(f"a taken address was revealed: {error.code}")
