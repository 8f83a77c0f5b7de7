"""The reviews' parts of pages other apps draw: the contract page, マイページ and profiles.

The contract page and the profiles belong to apps below this one, which may not import it: they
ask `core.slots` by name, and `ReviewsConfig.ready()` fills the slots with these renderers.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.template.loader import render_to_string

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


def _viewer(request: HttpRequest) -> User | None:
    user = getattr(request, "user", None)
    return user if isinstance(user, User) and user.is_active else None


def render_contract_reviews(request: HttpRequest, ids: list[int]) -> dict[int, str]:
    """The contract page's review panel: write, waiting, or the published reviews."""
    viewer = _viewer(request)
    drawn: dict[int, str] = {}
    if viewer is None:
        return drawn
    for contract_id in ids:
        panel = _contract_panel(viewer, contract_id)
        if panel is not None:
            drawn[contract_id] = render_to_string(
                "reviews/_contract_panel.html", {"review_panel": panel}, request=request
            )
    return drawn


def render_profile_reviews(request: HttpRequest, ids: list[int]) -> dict[int, str]:
    """A profile's reviews: the averages of each role the person takes, and the newest ones."""
    people = {user.pk: user for user in User.objects.filter(pk__in=ids)}
    return {
        pk: render_to_string(
            "reviews/_profile_section.html",
            {"review_profile": profile_reviews(pk), "profile_user": person},
            request=request,
        )
        for pk, person in people.items()
    }


def render_review_prompts(request: HttpRequest, ids: list[int]) -> dict[int, str]:
    """On マイページ, the reviews the signed-in person still owes, with their deadlines."""
    viewer = _viewer(request)
    if viewer is None or viewer.pk not in ids:
        return {}
    prompts = selectors.review_prompts_for_user(user=viewer)
    if not prompts:
        return {}
    return {
        viewer.pk: render_to_string(
            "reviews/_prompts.html", {"review_prompts": prompts}, request=request
        )
    }
