"""The jobs and proposals API: each endpoint's main path, and each refusal changing nothing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ishibashi.contracts.models import Contract
from ishibashi.jobs.models import (
    ClientJobStats,
    Job,
    Proposal,
    ProposalMessage,
    ProposedMilestone,
)

JAPAN = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=JAPAN)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _fixed_now(time_machine):
    time_machine.move_to(NOW, tick=False)


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def job_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "WordPressサーバー移行作業",
        "description": "既存のWordPressサイトを新しいサーバーへ移行してください。深夜の切り替えあり。",
        "category": "server_infrastructure",
        "contract_type": "fixed",
        "budget_min_jpy": 50_000,
        "budget_max_jpy": 100_000,
        "recruiting_deadline": (NOW + dt.timedelta(days=7)).isoformat(),
        "desired_delivery_on": day(30),
        "scope_deliverables": "移行済みのサイト、作業報告書",
        "scope_acceptance_criteria": "新サーバーで全ページが表示されること",
        "scope_out_of_scope": "デザインの変更",
        "revision_rounds": 2,
        "publish": True,
    }
    body.update(changes)
    return body


def split_pay(total: int = 80_000, due_in_days: int = 20) -> list[dict[str, Any]]:
    """The four-part template: 事前調査 / 待機・深夜対応 / 実作業 / 作業完了確認."""
    shares = [
        ("事前調査", "research", 20),
        ("待機・深夜対応", "standby", 20),
        ("実作業", "main_work", 50),
        ("作業完了確認", "completion_check", 10),
    ]
    return [
        {
            "title": title,
            "kind": kind,
            "amount_jpy": total * share // 100,
            "due_on": day(due_in_days),
        }
        for title, kind, share in shares
    ]


def proposal_body(total: int = 80_000, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "cover_letter": "サーバー移行の経験が10年あります。",
        "total_jpy": total,
        "milestones": split_pay(total),
    }
    body.update(changes)
    return body


class Caller:
    """One person talking to the API with their bearer token (or anonymously)."""

    def __init__(self, token: str | None = None, language: str | None = None) -> None:
        self.http = Client()
        self.headers: dict[str, str] = {}
        if token:
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        if language:
            self.headers["HTTP_ACCEPT_LANGUAGE"] = language

    def get(self, path: str, **params: Any) -> Any:
        return self.http.get(f"/api/v1{path}", params, **self.headers)

    def post(self, path: str, body: Any = None) -> Any:
        data = "" if body is None else json.dumps(body)
        return self.http.post(
            f"/api/v1{path}", data, content_type="application/json", **self.headers
        )

    def patch(self, path: str, body: Any) -> Any:
        return self.http.patch(
            f"/api/v1{path}", json.dumps(body), content_type="application/json", **self.headers
        )

    def in_english(self) -> Caller:
        other = Caller()
        other.headers = {**self.headers, "HTTP_ACCEPT_LANGUAGE": "en"}
        return other


@pytest.fixture
def as_user(token_for):
    def make(user: Any) -> Caller:
        return Caller(token_for(user))

    return make


@pytest.fixture
def hanako(make_user):
    """A client (発注者)."""
    return make_user(email="hanako@example.jp", display_name="発注 花子", is_worker=False)


@pytest.fixture
def taro(make_user):
    """A worker (受注者)."""
    return make_user(email="taro@example.jp", display_name="受注 太郎", is_client=False)


@pytest.fixture
def misaki(make_user):
    """Another worker."""
    return make_user(email="misaki@example.jp", display_name="田中 美咲", is_client=False)


@pytest.fixture
def stranger(make_user):
    """Both roles, but no part in anything below."""
    return make_user(email="stranger@example.jp", display_name="通りすがり")


@pytest.fixture
def client_api(as_user, hanako):
    return as_user(hanako)


@pytest.fixture
def worker_api(as_user, taro):
    return as_user(taro)


@pytest.fixture
def open_job(client_api):
    response = client_api.post("/jobs", job_body())
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def proposal(worker_api, open_job):
    response = worker_api.post(f"/jobs/{open_job['id']}/proposals", proposal_body())
    assert response.status_code == 201, response.json()
    return response.json()


def snapshot() -> tuple[Any, ...]:
    """Everything a refusal must leave as it was."""
    return (
        list(Job.objects.order_by("pk").values()),
        list(Proposal.objects.order_by("pk").values()),
        ProposedMilestone.objects.count(),
        ProposalMessage.objects.count(),
        Contract.objects.count(),
        list(ClientJobStats.objects.order_by("pk").values()),
    )


def refused(call: Any, *, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    """Make a call that must be refused: the status, the code, the field, and no change."""
    before = snapshot()
    response = call()
    assert response.status_code == status, response.json()
    body = response.json()
    assert body["code"] == code
    if field is not None:
        assert body.get("field") == field
    assert body["message"]
    assert snapshot() == before
    return dict(body)


# --- posting and browsing jobs ------------------------------------------------------------------


def test_a_client_posts_a_job_and_anyone_finds_it_by_a_japanese_substring(client_api, hanako):
    posted = client_api.post("/jobs", job_body())

    found = Caller().get("/jobs", q="サーバー移行")
    detail = Caller().get(f"/jobs/{posted.json()['id']}")

    assert posted.status_code == 201
    assert posted.json()["state"] == "open"
    assert [item["id"] for item in found.json()["items"]] == [posted.json()["id"]]
    assert found.json()["page"] == 1
    assert found.json()["has_next"] is False
    card = found.json()["items"][0]
    assert card["budget_min_jpy"] == 50_000
    assert card["client"] == {
        "id": hanako.pk,
        "display_name": "発注 花子",
        "identity_verified": False,
        "jobs_posted": 1,
        "hires": 0,
        "jobs_closed_without_hire": 0,
        "jobs_expired_without_hire": 0,
    }
    assert detail.status_code == 200
    assert detail.json()["scope_acceptance_criteria"] == "新サーバーで全ページが表示されること"
    assert detail.json()["revision_rounds"] == 2


def test_the_job_card_shows_a_verified_identity(client_api, hanako):
    hanako.identity_verified_at = NOW
    hanako.save(update_fields=["identity_verified_at"])
    client_api.post("/jobs", job_body())

    card = Caller().get("/jobs").json()["items"][0]

    assert card["client"]["identity_verified"] is True


def test_search_filters_by_category_contract_type_and_budget(client_api):
    server = client_api.post("/jobs", job_body()).json()
    logo = client_api.post(
        "/jobs",
        job_body(
            title="会社のロゴデザイン",
            description="新しい会社のロゴを作ってください。",
            category="design",
            contract_type="monthly",
            budget_min_jpy=10_000,
            budget_max_jpy=30_000,
        ),
    ).json()
    anyone = Caller()

    def ids(**params: Any) -> list[int]:
        response = anyone.get("/jobs", **params)
        assert response.status_code == 200, response.json()
        return [item["id"] for item in response.json()["items"]]

    assert ids() == [logo["id"], server["id"]]  # newest first
    assert ids(category="design") == [logo["id"]]
    assert ids(contract_type="fixed") == [server["id"]]
    assert ids(budget_min_jpy=40_000) == [server["id"]]
    assert ids(budget_max_jpy=20_000) == [logo["id"]]
    assert ids(q="ロゴ") == [logo["id"]]
    assert ids(q="サーバー　移行") == [server["id"]]  # a full-width space separates terms
    assert ids(page=2) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"category": "gardening"}, "category"),
        ({"contract_type": "hourly"}, "contract_type"),
        ({"budget_min_jpy": "lots"}, "budget_min_jpy"),
        ({"page": 0}, "page"),
        ({"page": "two"}, "page"),
        ({"q": "あ" * 101}, "q"),
    ],
)
def test_bad_search_parameters_are_a_422_with_the_field(db, params, field):
    response = Caller().get("/jobs", **params)

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
    assert response.json()["field"] == field


def test_a_deadline_without_an_offset_is_japan_time(client_api):
    response = client_api.post("/jobs", job_body(recruiting_deadline=f"{day(7)}T18:00:00"))

    assert response.status_code == 201, response.json()
    stored = Job.objects.get(pk=response.json()["id"])
    assert stored.recruiting_deadline == dt.datetime.fromisoformat(f"{day(7)}T18:00:00+09:00")
    assert dt.datetime.fromisoformat(response.json()["recruiting_deadline"]) == (
        stored.recruiting_deadline
    )


def test_a_deadline_with_an_offset_is_kept(client_api):
    response = client_api.post("/jobs", job_body(recruiting_deadline=f"{day(7)}T09:00:00Z"))

    stored = Job.objects.get(pk=response.json()["id"])
    assert stored.recruiting_deadline == dt.datetime.fromisoformat(f"{day(7)}T18:00:00+09:00")


def test_a_draft_is_seen_only_by_its_client_until_published(client_api, as_user, stranger):
    draft = client_api.post("/jobs", job_body(publish=False)).json()
    path = f"/jobs/{draft['id']}"

    assert draft["state"] == "draft"
    assert draft["published_at"] is None
    assert client_api.get(path).status_code == 200
    assert Caller().get(path).status_code == 404
    assert Caller().get(path).json()["code"] == "not_found"
    assert as_user(stranger).get(path).status_code == 404
    assert Caller().get("/jobs").json()["items"] == []
    refused(lambda: as_user(stranger).post(f"{path}/publish"), status=404, code="not_found")

    published = client_api.post(f"{path}/publish")

    assert published.status_code == 200
    assert published.json()["state"] == "open"
    assert published.json()["client"]["jobs_posted"] == 1
    assert Caller().get(path).status_code == 200
    refused(lambda: client_api.post(f"{path}/publish"), status=409, code="job_not_draft")


def test_a_logged_in_browser_sees_its_own_draft_through_the_api(client_api, hanako):
    draft = client_api.post("/jobs", job_body(publish=False)).json()
    browser = Client()
    browser.force_login(hanako)

    response = browser.get(f"/api/v1/jobs/{draft['id']}")

    assert response.status_code == 200


def test_a_wrong_token_on_a_public_job_is_still_a_401(open_job):
    response = Client().get(
        f"/api/v1/jobs/{open_job['id']}", HTTP_AUTHORIZATION="Bearer ish_nonsense"
    )

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_posting_needs_authentication(db):
    refused(lambda: Caller().post("/jobs", job_body()), status=401, code="not_authenticated")


def test_a_worker_only_account_cannot_post_a_job(worker_api):
    body = refused(lambda: worker_api.post("/jobs", job_body()), status=422, code="not_a_client")

    assert "client" in worker_api.in_english().post("/jobs", job_body()).json()["message"]
    assert body["code"] == "not_a_client"


@pytest.mark.parametrize(
    ("_case", "changes", "field"),
    [
        ("missing title", {"title": None}, "title"),
        ("empty title", {"title": "  "}, "title"),
        ("title as a number", {"title": 42}, "title"),
        ("budget as words", {"budget_min_jpy": "五万"}, "budget_min_jpy"),
        ("budget in fractions", {"budget_min_jpy": 50_000.5}, "budget_min_jpy"),
        ("budget too small", {"budget_min_jpy": 999, "budget_max_jpy": 5_000}, "budget_min_jpy"),
        (
            "budget upside down",
            {"budget_min_jpy": 90_000, "budget_max_jpy": 60_000},
            "budget_max_jpy",
        ),
        ("unknown category", {"category": "gardening"}, "category"),
        (
            "deadline in the past",
            {"recruiting_deadline": f"{day(-1)}T10:00:00"},
            "recruiting_deadline",
        ),
        ("deadline not a date", {"recruiting_deadline": "来週"}, "recruiting_deadline"),
        ("delivery before deadline", {"desired_delivery_on": day(3)}, "desired_delivery_on"),
        ("too many revision rounds", {"revision_rounds": 11}, "revision_rounds"),
        ("NUL in the title", {"title": "移行\x00作業"}, "title"),
    ],
)
def test_a_bad_job_gets_a_422_with_the_field_and_posts_nothing(client_api, _case, changes, field):
    body = job_body(**changes)
    if changes.get("title", "") is None:
        del body["title"]

    refused(lambda: client_api.post("/jobs", body), status=422, code="invalid_input", field=field)


def test_a_missing_field_names_it_in_english(client_api):
    body = job_body()
    del body["scope_deliverables"]

    response = client_api.in_english().post("/jobs", body)

    assert response.status_code == 422
    assert response.json()["field"] == "scope_deliverables"
    assert "required" in response.json()["message"]


def test_malformed_json_is_a_400(client_api):
    response = client_api.http.post(
        "/api/v1/jobs", "{not json", content_type="application/json", **client_api.headers
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert Job.objects.count() == 0


def test_a_browser_session_needs_csrf_to_post_a_job(hanako):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(hanako)

    refused(
        lambda: browser.post(
            "/api/v1/jobs", json.dumps(job_body()), content_type="application/json"
        ),
        status=403,
        code="csrf_failed",
    )


# --- editing and closing --------------------------------------------------------------------


def test_patch_changes_only_the_fields_sent(client_api, open_job):
    response = client_api.patch(
        f"/jobs/{open_job['id']}", {"title": "WordPress移行（急ぎ）", "budget_max_jpy": 120_000}
    )

    assert response.status_code == 200, response.json()
    job = Job.objects.get(pk=open_job["id"])
    assert (job.title, job.budget_min_jpy, job.budget_max_jpy) == (
        "WordPress移行（急ぎ）",
        50_000,
        120_000,
    )
    assert job.scope_deliverables == "移行済みのサイト、作業報告書"
    assert response.json()["title"] == "WordPress移行（急ぎ）"


def test_patch_reads_a_naive_deadline_as_japan_time(client_api, open_job):
    response = client_api.patch(
        f"/jobs/{open_job['id']}", {"recruiting_deadline": f"{day(10)}T09:30:00"}
    )

    assert response.status_code == 200, response.json()
    assert Job.objects.get(pk=open_job["id"]).recruiting_deadline == dt.datetime.fromisoformat(
        f"{day(10)}T09:30:00+09:00"
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": None}, "title"),
        ({"budget_max_jpy": 10_000}, "budget_max_jpy"),
        ({"category": 3}, "category"),
        ({"desired_delivery_on": "2026-02-30"}, "desired_delivery_on"),
    ],
)
def test_a_bad_patch_changes_nothing(client_api, open_job, changes, field):
    refused(
        lambda: client_api.patch(f"/jobs/{open_job['id']}", changes),
        status=422,
        code="invalid_input",
        field=field,
    )


def test_only_the_client_edits_or_closes_their_job(as_user, stranger, open_job):
    other = as_user(stranger)
    path = f"/jobs/{open_job['id']}"

    refused(lambda: other.patch(path, {"title": "乗っ取り"}), status=403, code="not_owner")
    refused(lambda: other.post(f"{path}/close"), status=403, code="not_owner")
    message = other.in_english().post(f"{path}/close").json()["message"]
    assert "Only the client" in message


def test_a_job_with_proposals_can_no_longer_be_edited(client_api, open_job, proposal):
    refused(
        lambda: client_api.patch(f"/jobs/{open_job['id']}", {"title": "条件変更"}),
        status=409,
        code="job_has_proposals",
    )


def test_closing_declines_open_proposals_and_counts_on_the_client(
    client_api, worker_api, open_job, proposal
):
    closed = client_api.post(f"/jobs/{open_job['id']}/close")
    seen_by_worker = worker_api.get(f"/proposals/{proposal['id']}")

    assert closed.status_code == 200
    assert closed.json()["state"] == "closed_without_hire"
    assert closed.json()["client"]["jobs_closed_without_hire"] == 1
    assert seen_by_worker.json()["state"] == "declined"
    assert Caller().get("/jobs").json()["items"] == []
    refused(
        lambda: client_api.post(f"/jobs/{open_job['id']}/close"), status=409, code="job_not_open"
    )
    refused(
        lambda: client_api.patch(f"/jobs/{open_job['id']}", {"title": "再開"}),
        status=409,
        code="job_ended",
    )


def test_closing_a_draft_is_refused(client_api):
    draft = client_api.post("/jobs", job_body(publish=False)).json()

    refused(lambda: client_api.post(f"/jobs/{draft['id']}/close"), status=409, code="job_not_open")


def test_an_unknown_or_huge_job_id_is_a_404(client_api):
    assert client_api.get("/jobs/999999").json()["code"] == "not_found"
    assert Caller().get("/jobs/99999999999999999999999999").status_code == 404
    assert client_api.post("/jobs/99999999999999999999999999/close").status_code == 404


# --- proposals ------------------------------------------------------------------------------


def test_a_worker_proposes_with_the_four_part_template(worker_api, open_job, taro):
    response = worker_api.post(f"/jobs/{open_job['id']}/proposals", proposal_body())

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "open"
    assert body["job_id"] == open_job["id"]
    assert body["job_title"] == "WordPressサーバー移行作業"
    assert body["worker"] == {"id": taro.pk, "display_name": "受注 太郎"}
    assert body["total_jpy"] == 80_000
    assert [(m["title"], m["kind"], m["amount_jpy"]) for m in body["milestones"]] == [
        ("事前調査", "research", 16_000),
        ("待機・深夜対応", "standby", 16_000),
        ("実作業", "main_work", 40_000),
        ("作業完了確認", "completion_check", 8_000),
    ]
    assert body["milestones"][0]["due_on"] == day(20)
    assert body["warnings"] == []
    assert Job.objects.get(pk=open_job["id"]).proposal_count == 1


def test_a_paid_consultation_is_one_milestone(worker_api, open_job):
    body = proposal_body(
        total=5_000,
        kind="consultation",
        milestones=[
            {"title": "30分の相談", "kind": "consultation", "amount_jpy": 5_000, "due_on": day(3)}
        ],
    )

    response = worker_api.post(f"/jobs/{open_job['id']}/proposals", body)

    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "consultation"


def test_warnings_show_late_milestones_and_a_price_over_budget(as_user, misaki, open_job):
    late = proposal_body(total=200_000)
    late["milestones"] = [
        {"title": "全部", "kind": "main_work", "amount_jpy": 200_000, "due_on": day(40)}
    ]

    response = as_user(misaki).in_english().post(f"/jobs/{open_job['id']}/proposals", late)

    assert response.status_code == 201, response.json()
    warnings = response.json()["warnings"]
    assert len(warnings) == 2
    assert "after the desired delivery date" in warnings[0]
    assert "above the job's budget" in warnings[1]


def test_a_second_open_proposal_on_the_same_job_is_a_409(worker_api, open_job, proposal):
    refused(
        lambda: worker_api.post(f"/jobs/{open_job['id']}/proposals", proposal_body(90_000)),
        status=409,
        code="proposal_exists",
    )


def test_a_withdrawn_proposal_may_be_followed_by_a_new_one(worker_api, open_job, proposal):
    withdrawn = worker_api.post(f"/proposals/{proposal['id']}/withdraw")
    again = worker_api.post(f"/jobs/{open_job['id']}/proposals", proposal_body(90_000))

    assert withdrawn.status_code == 200
    assert withdrawn.json()["state"] == "withdrawn"
    assert again.status_code == 201


def test_nobody_proposes_on_their_own_job(as_user, stranger):
    own = as_user(stranger)
    job = own.post("/jobs", job_body()).json()

    body = refused(
        lambda: own.post(f"/jobs/{job['id']}/proposals", proposal_body()),
        status=422,
        code="own_job",
    )

    assert body["code"] == "own_job"
    english = own.in_english().post(f"/jobs/{job['id']}/proposals", proposal_body())
    assert "your own job" in english.json()["message"]


def test_a_client_only_account_cannot_propose(as_user, make_user, open_job):
    other_client = as_user(make_user(email="c2@example.jp", is_worker=False))

    refused(
        lambda: other_client.post(f"/jobs/{open_job['id']}/proposals", proposal_body()),
        status=422,
        code="not_a_worker",
    )


def test_no_proposal_on_a_closed_job_or_a_draft(client_api, worker_api, open_job):
    draft = client_api.post("/jobs", job_body(publish=False)).json()
    client_api.post(f"/jobs/{open_job['id']}/close")

    refused(
        lambda: worker_api.post(f"/jobs/{open_job['id']}/proposals", proposal_body()),
        status=409,
        code="job_not_open",
    )
    refused(
        lambda: worker_api.post(f"/jobs/{draft['id']}/proposals", proposal_body()),
        status=404,
        code="not_found",
    )


@pytest.mark.parametrize(
    ("_case", "changes", "field"),
    [
        ("milestones not adding up", {"total_jpy": 90_000}, "total_jpy"),
        ("no milestones", {"milestones": []}, "milestones"),
        ("milestones missing", {"milestones": None}, "milestones"),
        ("total as text", {"total_jpy": "八万"}, "total_jpy"),
        ("empty cover letter", {"cover_letter": ""}, "cover_letter"),
        ("unknown kind", {"kind": "gift"}, "kind"),
    ],
)
def test_a_bad_proposal_gets_a_422_and_creates_nothing(worker_api, open_job, _case, changes, field):
    body = proposal_body(**changes)
    if changes.get("milestones", []) is None:
        del body["milestones"]

    refused(
        lambda: worker_api.post(f"/jobs/{open_job['id']}/proposals", body),
        status=422,
        code="invalid_input",
        field=field,
    )


@pytest.mark.parametrize(
    ("_case", "milestone", "field"),
    [
        ("due today", {"due_on": day(0)}, "milestones[0].due_on"),
        ("amount too small", {"amount_jpy": 100}, "milestones[0].amount_jpy"),
        ("unknown milestone kind", {"kind": "lunch"}, "milestones[0].kind"),
        ("due date not a date", {"due_on": "来月"}, "milestones[0].due_on"),
    ],
)
def test_a_bad_milestone_names_it(worker_api, open_job, _case, milestone, field):
    body = proposal_body(total=10_000)
    body["milestones"] = [
        {"title": "作業", "kind": "main_work", "amount_jpy": 10_000, "due_on": day(10), **milestone}
    ]

    refused(
        lambda: worker_api.post(f"/jobs/{open_job['id']}/proposals", body),
        status=422,
        code="invalid_input",
        field=field,
    )


def test_the_client_sees_every_proposal_and_a_worker_only_their_own(
    client_api, worker_api, as_user, misaki, stranger, open_job, proposal
):
    other = as_user(misaki).post(f"/jobs/{open_job['id']}/proposals", proposal_body(70_000)).json()
    path = f"/jobs/{open_job['id']}/proposals"

    seen_by_client = client_api.get(path).json()
    seen_by_worker = worker_api.get(path).json()
    seen_by_stranger = as_user(stranger).get(path).json()

    assert [p["id"] for p in seen_by_client["items"]] == [other["id"], proposal["id"]]
    assert seen_by_client["has_next"] is False
    assert [p["id"] for p in seen_by_worker["items"]] == [proposal["id"]]
    assert seen_by_stranger["items"] == []
    assert len(seen_by_client["items"][0]["milestones"]) == 4


def test_the_proposals_of_a_draft_are_not_found_for_others(client_api, as_user, stranger):
    draft = client_api.post("/jobs", job_body(publish=False)).json()

    response = as_user(stranger).get(f"/jobs/{draft['id']}/proposals")

    assert response.status_code == 404


def test_a_proposal_is_seen_by_its_two_parties_only(
    client_api, worker_api, as_user, stranger, proposal
):
    path = f"/proposals/{proposal['id']}"

    assert client_api.get(path).status_code == 200
    assert worker_api.get(path).json()["milestones"][2]["kind_label"]
    response = as_user(stranger).get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert Caller().get(path).status_code == 401


def test_withdraw_is_the_workers_and_only_once(client_api, worker_api, as_user, stranger, proposal):
    path = f"/proposals/{proposal['id']}/withdraw"

    refused(lambda: client_api.post(path), status=403, code="not_owner")
    refused(lambda: as_user(stranger).post(path), status=404, code="not_found")
    assert worker_api.post(path).status_code == 200
    refused(lambda: worker_api.post(path), status=409, code="proposal_not_open")


def test_the_client_declines_with_a_reason_the_worker_sees(client_api, worker_api, proposal):
    path = f"/proposals/{proposal['id']}/decline"

    refused(lambda: worker_api.post(path, {"reason": "自分で断る"}), status=403, code="not_owner")
    declined = client_api.post(path, {"reason": "予算が合いませんでした。"})
    seen_by_worker = worker_api.get(f"/proposals/{proposal['id']}").json()

    assert declined.status_code == 200
    assert seen_by_worker["state"] == "declined"
    assert seen_by_worker["decline_reason"] == "予算が合いませんでした。"
    refused(lambda: client_api.post(path), status=409, code="proposal_not_open")


def test_decline_without_a_body_has_no_reason(client_api, proposal):
    response = client_api.post(f"/proposals/{proposal['id']}/decline")

    assert response.status_code == 200
    assert response.json()["decline_reason"] == ""


def test_decline_with_a_wrong_reason_type_is_a_422(client_api, proposal):
    refused(
        lambda: client_api.post(f"/proposals/{proposal['id']}/decline", {"reason": ["no"]}),
        status=422,
        code="invalid_input",
        field="reason",
    )


# --- the pre-contract thread ----------------------------------------------------------------


def test_both_parties_talk_in_the_thread_with_the_reminder(
    client_api, worker_api, hanako, taro, proposal
):
    path = f"/proposals/{proposal['id']}/messages"

    asked = client_api.post(path, {"body": "深夜作業は何時からですか？"})
    answered = worker_api.post(path, {"body": "24時からを想定しています。"})
    thread = worker_api.in_english().get(path).json()

    assert asked.status_code == answered.status_code == 201
    assert asked.json()["author"] == {"id": hanako.pk, "display_name": "発注 花子"}
    assert [(m["author"]["id"], m["body"]) for m in thread["items"]] == [
        (hanako.pk, "深夜作業は何時からですか？"),
        (taro.pk, "24時からを想定しています。"),
    ]
    assert thread["next_after"] is None
    assert "after the contract" in thread["reminder"]
    newer = client_api.get(path, after=asked.json()["id"]).json()
    assert [m["id"] for m in newer["items"]] == [answered.json()["id"]]


def test_strangers_cannot_read_or_write_the_thread(as_user, stranger, proposal):
    path = f"/proposals/{proposal['id']}/messages"
    other = as_user(stranger)

    assert other.get(path).status_code == 404
    refused(lambda: other.post(path, {"body": "こんにちは"}), status=404, code="not_found")


def test_a_bad_or_late_message_is_refused(client_api, worker_api, proposal):
    path = f"/proposals/{proposal['id']}/messages"

    refused(
        lambda: worker_api.post(path, {"body": "   "}),
        status=422,
        code="invalid_input",
        field="body",
    )
    worker_api.post(f"/proposals/{proposal['id']}/withdraw")
    refused(
        lambda: client_api.post(path, {"body": "まだですか"}), status=409, code="proposal_not_open"
    )


def test_a_message_without_a_body_names_the_body_field(worker_api, proposal):
    refused(
        lambda: worker_api.post(f"/proposals/{proposal['id']}/messages", {}),
        status=422,
        code="invalid_input",
        field="body",
    )


# --- revising after negotiating -------------------------------------------------------------


def revised_body(total: int = 90_000, **changes: Any) -> dict[str, Any]:
    body = proposal_body(total, cover_letter="ご相談の通り、深夜対応を増やしました。")
    body.update(changes)
    return body


def test_the_worker_revises_and_both_see_the_new_version(
    client_api, worker_api, hanako, proposal, mailoutbox, django_capture_on_commit_callbacks
):
    assert proposal["revision"] == 1
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = worker_api.post(f"/proposals/{proposal['id']}/revise", revised_body())

    assert response.status_code == 200, response.json()
    revised = response.json()
    assert (revised["id"], revised["revision"], revised["total_jpy"]) == (proposal["id"], 2, 90_000)
    assert revised["cover_letter"] == "ご相談の通り、深夜対応を増やしました。"
    assert [m["amount_jpy"] for m in revised["milestones"]] == [18_000, 18_000, 45_000, 9_000]
    assert revised["kind"] == "proposal"
    assert client_api.get(f"/proposals/{proposal['id']}").json()["revision"] == 2
    thread = client_api.get(f"/proposals/{proposal['id']}/messages").json()["items"]
    assert [(m["author"]["display_name"], m["body"]) for m in thread] == [
        ("受注 太郎", "提案が第2版に修正されました。新しい合計金額：¥90,000")
    ]
    assert [mail.to for mail in mailoutbox] == [[hanako.email]]


def test_the_job_list_of_proposals_shows_the_revision(client_api, worker_api, open_job, proposal):
    worker_api.post(f"/proposals/{proposal['id']}/revise", revised_body())

    items = client_api.get(f"/jobs/{open_job['id']}/proposals").json()["items"]

    assert [(item["id"], item["revision"]) for item in items] == [(proposal["id"], 2)]


def test_a_consultation_keeps_its_kind_when_revised(worker_api, open_job):
    milestone = {"title": "相談", "kind": "consultation", "amount_jpy": 5_000, "due_on": day(5)}
    offer = worker_api.post(
        f"/jobs/{open_job['id']}/proposals",
        proposal_body(5_000, milestones=[milestone], kind="consultation"),
    ).json()

    response = worker_api.post(
        f"/proposals/{offer['id']}/revise",
        revised_body(8_000, milestones=[{**milestone, "amount_jpy": 8_000}]),
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["kind"], response.json()["total_jpy"]) == ("consultation", 8_000)


def test_only_the_proposing_worker_revises(client_api, as_user, stranger, proposal):
    path = f"/proposals/{proposal['id']}/revise"
    refused(lambda: client_api.post(path, revised_body()), status=403, code="not_owner")
    refused(lambda: as_user(stranger).post(path, revised_body()), status=404, code="not_found")
    refused(lambda: Caller().post(path, revised_body()), status=401, code="not_authenticated")


def test_a_proposal_no_longer_open_or_a_closed_job_cannot_be_revised(
    client_api, worker_api, as_user, misaki, open_job, proposal
):
    other = as_user(misaki).post(f"/jobs/{open_job['id']}/proposals", proposal_body()).json()
    as_user(misaki).post(f"/proposals/{other['id']}/withdraw")
    refused(
        lambda: as_user(misaki).post(f"/proposals/{other['id']}/revise", revised_body()),
        status=409,
        code="proposal_not_open",
    )
    client_api.post(f"/jobs/{open_job['id']}/close")
    refused(
        lambda: worker_api.post(f"/proposals/{proposal['id']}/revise", revised_body()),
        status=409,
        code="job_not_open",
    )


@pytest.mark.parametrize(
    ("_case", "changes", "field"),
    [
        ("not adding up", {"total_jpy": 85_000}, "total_jpy"),
        ("no milestones", {"milestones": []}, "milestones"),
        ("empty cover letter", {"cover_letter": " "}, "cover_letter"),
        (
            "due today",
            {"milestones": [{"title": "作業", "kind": "main_work", "amount_jpy": 90_000,
                             "due_on": day(0)}]},
            "milestones[0].due_on",
        ),
    ],
)  # fmt: skip
def test_a_bad_revision_gets_a_422_with_the_field_and_changes_nothing(
    worker_api, proposal, _case, changes, field
):
    refused(
        lambda: worker_api.post(f"/proposals/{proposal['id']}/revise", revised_body(**changes)),
        status=422,
        code="invalid_input",
        field=field,
    )


def test_a_hire_on_an_older_revision_is_a_409_and_the_current_one_hires(
    client_api, worker_api, proposal
):
    # The same total in a new plan: only the revision shows the client read the old one.
    same_total = revised_body(80_000, milestones=split_pay(80_000, due_in_days=25))
    assert worker_api.post(f"/proposals/{proposal['id']}/revise", same_total).status_code == 200

    refused(
        lambda: client_api.post(
            f"/proposals/{proposal['id']}/hire",
            {"expected_total_jpy": 80_000, "expected_revision": 1},
        ),
        status=409,
        code="proposal_changed",
        field="expected_revision",
    )
    hired = client_api.post(
        f"/proposals/{proposal['id']}/hire", {"expected_total_jpy": 80_000, "expected_revision": 2}
    )
    assert hired.status_code == 201, hired.json()
    assert {m["due_on"] for m in hired.json()["milestones"]} == {day(25)}


# --- hiring ---------------------------------------------------------------------------------


def test_the_client_hires_and_gets_the_contract(
    client_api, worker_api, as_user, misaki, open_job, proposal
):
    other = as_user(misaki).post(f"/jobs/{open_job['id']}/proposals", proposal_body(70_000)).json()

    hired = client_api.post(
        f"/proposals/{proposal['id']}/hire", {"inspection_days": 10, "expected_total_jpy": 80_000}
    )

    assert hired.status_code == 201, hired.json()
    contract = hired.json()
    assert contract["title"] == "WordPressサーバー移行作業"
    assert contract["proposal_id"] == proposal["id"]
    assert contract["terms_version"] == 1
    assert contract["terms"]["version"] == 1
    assert contract["inspection_days"] == 10
    assert contract["terms"]["snapshot"]["inspection_days"] == 10
    assert [(m["title"], m["state"]) for m in contract["milestones"]] == [
        ("事前調査", "awaiting_funding"),
        ("待機・深夜対応", "draft"),
        ("実作業", "draft"),
        ("作業完了確認", "draft"),
    ]
    assert worker_api.get(f"/contracts/{contract['id']}").status_code == 200
    assert worker_api.get(f"/proposals/{proposal['id']}").json()["state"] == "hired"
    assert as_user(misaki).get(f"/proposals/{other['id']}").json()["state"] == "declined"
    job = client_api.get(f"/jobs/{open_job['id']}").json()
    assert job["state"] == "hired"
    assert job["client"]["hires"] == 1


def test_hire_without_a_body_uses_the_default_inspection_period(client_api, proposal):
    response = client_api.post(f"/proposals/{proposal['id']}/hire")

    assert response.status_code == 201, response.json()
    assert response.json()["inspection_days"] == 7


def test_a_job_is_hired_once(client_api, as_user, misaki, open_job, proposal):
    other = as_user(misaki).post(f"/jobs/{open_job['id']}/proposals", proposal_body(70_000)).json()
    assert client_api.post(f"/proposals/{proposal['id']}/hire").status_code == 201

    refused(
        lambda: client_api.post(f"/proposals/{proposal['id']}/hire"),
        status=409,
        code="proposal_not_open",
    )
    refused(
        lambda: client_api.post(f"/proposals/{other['id']}/hire"),
        status=409,
        code="proposal_not_open",
    )
    assert Contract.objects.count() == 1


def test_only_the_client_hires(worker_api, as_user, stranger, proposal):
    refused(
        lambda: worker_api.post(f"/proposals/{proposal['id']}/hire"), status=403, code="not_owner"
    )
    refused(
        lambda: as_user(stranger).post(f"/proposals/{proposal['id']}/hire"),
        status=404,
        code="not_found",
    )


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"inspection_days": 99}, 422, "invalid_input", "inspection_days"),
        ({"inspection_days": "seven"}, 422, "invalid_input", "inspection_days"),
        ({"expected_total_jpy": 75_000}, 409, "proposal_changed", "expected_total_jpy"),
    ],
)
def test_a_refused_hire_creates_no_contract(client_api, proposal, body, status, code, field):
    refused(
        lambda: client_api.post(f"/proposals/{proposal['id']}/hire", body),
        status=status,
        code=code,
        field=field,
    )


def test_hire_refusals_are_english_on_request(client_api, proposal):
    english = client_api.in_english().post(
        f"/proposals/{proposal['id']}/hire", {"inspection_days": 99}
    )
    japanese = client_api.post(f"/proposals/{proposal['id']}/hire", {"inspection_days": 99})

    assert english.json()["message"] == "The inspection period must be 3 to 14 days."
    assert (japanese.json()["code"], japanese.json()["field"]) == (
        "invalid_input",
        "inspection_days",
    )


# --- cost -----------------------------------------------------------------------------------


def test_lists_cost_the_same_number_of_queries_for_one_item_or_many(client_api, as_user, make_user):
    first = client_api.post("/jobs", job_body()).json()
    workers = [as_user(make_user(email=f"w{n}@example.jp", is_client=False)) for n in range(5)]
    workers[0].post(f"/jobs/{first['id']}/proposals", proposal_body())

    def queries(call: Any) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert call().status_code == 200
        return len(captured)

    def job_list() -> Any:
        return Caller().get("/jobs")

    def proposal_list() -> Any:
        return client_api.get(f"/jobs/{first['id']}/proposals")

    few = (queries(job_list), queries(proposal_list))
    for n in range(4):
        client_api.post("/jobs", job_body(title=f"WordPress移行 {n}"))
    for worker in workers[1:]:
        worker.post(f"/jobs/{first['id']}/proposals", proposal_body())
    many = (queries(job_list), queries(proposal_list))

    assert many == few
