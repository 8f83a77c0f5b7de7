"""The operator admin without a log-in of its own.

Django's admin log-in form checks passwords with plain `authenticate()`: no lock-out, no second
factor. Here the admin's log-in sends people to the site's log-in page (one throttled door,
`user_authenticate`, then the staff second factor), and its password change to the site's
(which counts a wrong current password toward the same lock-out).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


class OperatorAdminSite(admin.AdminSite):
    site_header = "石橋 operator admin"
    site_title = "石橋 operator admin"

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """Never checks a password: anonymous people go to the log-in page, staff to the index.

        A logged-in person who is not staff gets a 404, as at the operator console: sending
        them to the log-in page would bounce them back here (they are logged in) forever.
        """
        index = reverse("admin:index", current_app=self.name)
        target = request.GET.get(REDIRECT_FIELD_NAME) or index
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = index
        if request.user.is_authenticated:
            if self.has_permission(request):
                return HttpResponseRedirect(target)
            raise Http404
        query = urlencode({REDIRECT_FIELD_NAME: target}, safe="/")
        return HttpResponseRedirect(f"{reverse('accounts:login')}?{query}")

    def password_change(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> Any:  # Django's stubs say TemplateResponse; a redirect serves any caller of a view
        return redirect("accounts:password_change")
