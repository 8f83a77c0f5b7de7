"""Reviews over the API: submit and read a contract's reviews, a person's reviews, the reply.

The contract endpoints hang on the contracts router and the person's on the users router, so
the paths sit beside the objects they belong to; the rules are reviews.services'.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from ishibashi.accounts.api import users_router
from ishibashi.accounts.auth import request_user, user_auth
from ishibashi.accounts.selectors import user_get_public
from ishibashi.contracts.api.base import contracts_router
from ishibashi.core.schemas import (
    ERRORS_WITH_FORBIDDEN,
    BodyIn,
    PageQuery,
    PersonOut,
    WholeNumber,
)
from ishibashi.reviews import selectors, services
from ishibashi.reviews.models import Review, ReviewRole
from ishibashi.reviews.selectors import RatingSummary

reviews_router = Router(tags=["reviews"], auth=user_auth)

ERRORS = ERRORS_WITH_FORBIDDEN


class FactOut(Schema):
    kind: str = Field(description="auto_approved, funding_expired, client_silent, "
                      "cancelled_after_funding")  # fmt: skip
    label: str
    count: int


class LabelOut(Schema):
    kind: str = Field(description="after_worker_dispute")
    label: str


class ReplyOut(Schema):
    text: str
    created_at: dt.datetime


class ReviewOut(Schema):
    id: int
    contract_id: int
    author: PersonOut
    reviewee: PersonOut
    reviewee_role: str = Field(description="client or worker: the role of the person reviewed")
    overall: int
    communication: int
    clarity: int | None = Field(description="of a client")
    payment_speed: int | None = Field(description="of a client: speed of inspection and payment")
    quality: int | None = Field(description="of a worker")
    timeliness: int | None = Field(description="of a worker")
    text: str
    facts: list[FactOut] = Field(description="computed from the contract's events (of a client)")
    labels: list[LabelOut]
    created_at: dt.datetime
    published_at: dt.datetime | None = Field(description="null while only you can see it")
    reply: ReplyOut | None

    @staticmethod
    def resolve_facts(review: Review) -> list[dict[str, Any]]:
        return [
            {"kind": kind, "label": label, "count": count}
            for kind, label, count in review.fact_rows
        ]

    @staticmethod
    def resolve_labels(review: Review) -> list[dict[str, Any]]:
        return [{"kind": kind, "label": label} for kind, label in review.label_rows]

    @staticmethod
    def resolve_reply(review: Review) -> dict[str, Any] | None:
        if review.replied_at is None:
            return None
        return {"text": review.reply_text, "created_at": review.replied_at}


class ContractReviewsOut(Schema):
    contract_id: int
    status: str = Field(
        description="not_ended, open (you may review now), waiting (yours is in, unpublished), "
        "published, closed (the 14 days ended without your review), not_a_party (operators)"
    )
    can_review: bool
    review_deadline: dt.datetime | None = Field(description="the end of the 14 days")
    mine: ReviewOut | None
    published: list[ReviewOut]


class RatingSummaryOut(Schema):
    role: str
    count: int
    average: float | None
    communication: float | None
    clarity: float | None
    payment_speed: float | None
    quality: float | None
    timeliness: float | None


class UserReviewsOut(Schema):
    as_client: RatingSummaryOut
    as_worker: RatingSummaryOut
    items: list[ReviewOut]
    page: int
    has_next: bool


class ReviewSubmitIn(BodyIn):
    overall: WholeNumber = Field(description="1–5")
    text: str = Field(description="10–2,000 characters")
    communication: WholeNumber | None = Field(None, description="1–5, both roles")
    clarity: WholeNumber | None = Field(None, description="1–5, only when reviewing a client")
    payment_speed: WholeNumber | None = Field(None, description="1–5, only when reviewing a client")
    quality: WholeNumber | None = Field(None, description="1–5, only when reviewing a worker")
    timeliness: WholeNumber | None = Field(None, description="1–5, only when reviewing a worker")


class ReplyIn(BodyIn):
    text: str = Field(description="up to 1,000 characters; once, never edited")


class UserReviewsQuery(PageQuery):
    role: ReviewRole | None = Field(None, description="client or worker: only reviews in that role")


def _contract_reviews(user: Any, contract_id: int) -> dict[str, Any]:
    found = selectors.contract_reviews_for_viewer(viewer=user, contract_id=contract_id)
    return {
        "contract_id": contract_id,
        "status": found.status,
        "can_review": found.can_review,
        "review_deadline": found.closes_at,
        "mine": found.mine,
        "published": found.published,
    }


@contracts_router.post(
    "/{contract_id}/reviews",
    response={201: ReviewOut, **ERRORS},
    summary="Review the other party of an ended contract (once, within 14 days)",
)
def review_submit_endpoint(
    request: HttpRequest, contract_id: int, payload: ReviewSubmitIn
) -> Status[Review]:
    user = request_user(request)
    review = services.review_submit(
        author=user,
        contract_id=contract_id,
        data=services.ReviewInput(**payload.model_dump()),
    )
    return Status(201, Review.objects.select_related("author", "reviewee").get(pk=review.pk))


@contracts_router.get(
    "/{contract_id}/reviews",
    response={200: ContractReviewsOut, **ERRORS},
    summary="Your own review and the published ones, with the state of the 14 days",
)
def contract_reviews_endpoint(request: HttpRequest, contract_id: int) -> dict[str, Any]:
    return _contract_reviews(request_user(request), contract_id)


def _summary(summary: RatingSummary) -> dict[str, Any]:
    return {
        "role": summary.role,
        "count": summary.count,
        "average": summary.average,
        "communication": summary.communication,
        "clarity": summary.clarity,
        "payment_speed": summary.payment_speed,
        "quality": summary.quality,
        "timeliness": summary.timeliness,
    }


@users_router.get(
    "/{user_id}/reviews",
    response={200: UserReviewsOut, **ERRORS},
    summary="A person's published reviews, newest first, with their averages (no token needed)",
)
def user_reviews_endpoint(
    request: HttpRequest, user_id: int, query: Query[UserReviewsQuery]
) -> dict[str, Any]:
    person = user_get_public(user_id=user_id)
    items, has_next = selectors.reviews_published_for_user(
        user_id=person.pk, page=query.page, role=query.role
    )
    return {
        "as_client": _summary(selectors.rating_summary(person.pk, ReviewRole.CLIENT)),
        "as_worker": _summary(selectors.rating_summary(person.pk, ReviewRole.WORKER)),
        "items": items,
        "page": query.page,
        "has_next": has_next,
    }


@reviews_router.post(
    "/{review_id}/reply",
    response={200: ReviewOut, **ERRORS},
    summary="Reply once to a published review of you",
)
def review_reply_endpoint(request: HttpRequest, review_id: int, payload: ReplyIn) -> Review:
    user = request_user(request)
    services.review_reply(reviewee=user, review_id=review_id, text=payload.text)
    return Review.objects.select_related("author", "reviewee").get(pk=review_id)
