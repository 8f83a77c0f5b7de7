"""Delivery (納品) and the locked download of delivered files."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ishibashi.contracts import forms, selectors, services
from ishibashi.contracts.models import (
    FileVisibility,
)
from ishibashi.contracts.views.base import refusal_page, request_user
from ishibashi.contracts.views.page import submit
from ishibashi.core.errors import ApplicationError


@login_required
@require_POST
def milestone_deliver_view(
    request: HttpRequest, contract_id: int, milestone_id: int
) -> HttpResponse:
    form = forms.DeliverForm(
        request.POST, request.FILES, auto_id=forms.scoped_id("deliver", milestone_id)
    )

    def deliver(form: Form) -> object:
        data = form.cleaned_data
        uploads = [
            services.DeliveryUpload(file=file, visibility=FileVisibility.PREVIEW)
            for file in data["preview_files"]
        ] + [
            services.DeliveryUpload(file=file, visibility=FileVisibility.FULL)
            for file in data["full_files"]
        ]
        return services.delivery_create(
            worker=request_user(request),
            milestone_id=milestone_id,
            message=data["message"],
            uploads=uploads,
        )

    return submit(
        request,
        contract_id,
        form=form,
        kind="deliver",
        key=milestone_id,
        call=deliver,
        success=_("Delivered. The client's inspection period has started."),
        anchor=f"milestone-{milestone_id}",
    )


@login_required
@require_GET
def delivery_file_view(request: HttpRequest, file_id: int) -> HttpResponseBase:
    """A delivered file, as an attachment: never shown inline, so no upload runs as a page."""
    try:
        record = selectors.delivery_file_for_download(viewer=request_user(request), file_id=file_id)
    except ApplicationError as error:
        refusal = refusal_page(request, error)
        assert refusal is not None  # the selector refuses only with 404 or 403
        return refusal
    return FileResponse(
        record.file.open("rb"),
        as_attachment=True,
        filename=record.name,
        content_type="application/octet-stream",
    )
