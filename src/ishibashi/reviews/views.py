"""Review pages: the form after a contract ends, a person's reviews, and the reply."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ishibashi.accounts.models import User
from ishibashi.accounts.selectors import user_get_public
from ishibashi.contracts.views.base import refusal_page
from ishibashi.core.errors import ApplicationError
from ishibashi.core.pagination import page_number
from ishibashi.reviews import forms, selectors, services
from ishibashi.reviews.models import ReviewRole


def _viewer(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
@require_http_methods(["GET", "POST"])
def review_submit_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    viewer = _viewer(request)
    try:
        status = selectors.contract_reviews_for_viewer(viewer=viewer, contract_id=contract_id)
    except ApplicationError as error:
        return refusal_page(request, error) or redirect("contracts:list")
    role = status.reviewee_role or ReviewRole.WORKER
    form = forms.ReviewForm(request.POST or None, role=role)
    if request.method == "POST" and form.is_valid():
        try:
            review = services.review_submit(
                author=viewer, contract_id=contract_id, data=form.review_input()
            )
        except ApplicationError as error:
            refusal = refusal_page(request, error)
            if refusal:
                return refusal
            form.add_error(error.field if error.field in form.fields else None, str(error.message))
        else:
            if review.published_at is not None:
                messages.success(request, _("Your review is in. Both reviews are now published."))
            else:
                messages.success(
                    request,
                    _(
                        "Your review is in. It is published together with the other party's "
                        "review, or when the 14 days are over."
                    ),
                )
            return redirect("contracts:detail", contract_id=contract_id)
    other = status.contract.worker if role is ReviewRole.WORKER else status.contract.client
    context = {
        "status": status,
        "form": form,
        "other": other,
        "reviewing_client": role is ReviewRole.CLIENT,
    }
    return render(request, "reviews/form.html", context)


def _user_reviews_page(
    request: HttpRequest,
    user_id: int,
    *,
    bound: tuple[int, forms.ReplyForm] | None = None,
) -> HttpResponse:
    try:
        person = user_get_public(user_id=user_id)
    except ApplicationError as error:
        return render(request, "404.html", {"message": error.message}, status=404)
    number = page_number(request.GET.get("page"))
    role = request.GET.get("role", "")
    if role not in ReviewRole.values:
        role = ""
    reviews, has_next = selectors.reviews_published_for_user(
        user_id=person.pk, page=number, role=role or None
    )
    is_own = request.user.is_authenticated and request.user.pk == person.pk
    rows = []
    for review in reviews:
        reply_form = None
        if is_own and review.replied_at is None:
            if bound is not None and bound[0] == review.pk:
                reply_form = bound[1]
            else:
                reply_form = forms.ReplyForm(auto_id=f"reply-{review.pk}-%s")
        rows.append({"review": review, "reply_form": reply_form})
    context = {
        "person": person,
        # A role the person does not take shows only if they were reviewed in it before.
        "summaries": [
            summary
            for role_ in ReviewRole
            if (summary := selectors.rating_summary(person.pk, role_)).count
            or (person.is_client if role_ is ReviewRole.CLIENT else person.is_worker)
        ],
        "rows": rows,
        "role": role,
        "roles": ReviewRole.choices,
        "page": number,
        "has_next": has_next,
        "is_own": is_own,
    }
    return render(request, "reviews/list.html", context)


@require_GET
def user_reviews_view(request: HttpRequest, user_id: int) -> HttpResponse:
    return _user_reviews_page(request, user_id)


@login_required
@require_POST
def review_reply_view(request: HttpRequest, review_id: int) -> HttpResponse:
    viewer = _viewer(request)
    form = forms.ReplyForm(request.POST, auto_id=f"reply-{review_id}-%s")
    if form.is_valid():
        try:
            services.review_reply(
                reviewee=viewer, review_id=review_id, text=form.cleaned_data["text"]
            )
        except ApplicationError as error:
            refusal = refusal_page(request, error)
            if refusal:
                return refusal
            form.add_error("text" if error.field == "text" else None, str(error.message))
        else:
            messages.success(request, _("Your reply is published under the review."))
            url = reverse("reviews:user_reviews", args=[viewer.pk])
            return redirect(f"{url}#review-{review_id}")
    return _user_reviews_page(request, viewer.pk, bound=(review_id, form))
