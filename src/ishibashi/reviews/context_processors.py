"""The reviews' parts of pages other apps draw: the contract page, マイページ and profiles.

The contract page and the profiles belong to apps below this one, which may not import it; the
site's base template shows these parts when a page provides them, and each is computed only if
the page it belongs to is the one being drawn (and only when the template reads it).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from ishibashi.accounts.models import User
from ishibashi.core.errors import ApplicationError
from ishibashi.reviews import selectors
from ishibashi.reviews.models import Review, ReviewRole


@dataclass(frozen=True)
class ProfileReviews:
    user_id: int
    summaries: list[selectors.RatingSummary]
    newest: list[Review]


def profile_reviews(user_id: int) -> ProfileReviews:
    return ProfileReviews(
        user_id=user_id,
        summaries=[selectors.rating_summary(user_id, role) for role in ReviewRole],
        newest=selectors.reviews_newest_for_user(user_id=user_id),
    )


def _contract_panel(viewer: User, contract_id: int) -> selectors.ContractReviews | None:
    try:
        reviews = selectors.contract_reviews_for_viewer(viewer=viewer, contract_id=contract_id)
    except ApplicationError:  # the page itself says "not found"
        return None
    if reviews.closes_at is None:  # a running contract has nothing to show here
        return None
    return reviews


def review_panels(request: HttpRequest) -> dict[str, object]:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return {}
    user = getattr(request, "user", None)
    viewer = user if isinstance(user, User) and user.is_active else None
    name = match.view_name
    if name == "contracts:detail" and viewer is not None:
        contract_id = int(match.kwargs["contract_id"])
        return {"review_panel": SimpleLazyObject(lambda: _contract_panel(viewer, contract_id))}
    if name == "accounts:profile" and viewer is not None:
        return {
            "review_prompts": SimpleLazyObject(
                lambda: selectors.review_prompts_for_user(user=viewer)
            ),
            "review_profile": SimpleLazyObject(lambda: profile_reviews(viewer.pk)),
        }
    if name == "accounts:public_profile":
        user_id = int(match.kwargs["user_id"])
        return {"review_profile": SimpleLazyObject(lambda: profile_reviews(user_id))}
    return {}
