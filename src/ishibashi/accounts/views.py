"""Account pages: the same services as the API, with messages shown in the form."""

from __future__ import annotations

from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from ishibashi.accounts import forms, gate, selectors, services
from ishibashi.accounts.models import User
from ishibashi.core.client_address import client_ip
from ishibashi.core.errors import ApplicationError
from ishibashi.core.slots import slot_render


def _show_error(form: Form, error: ApplicationError) -> None:
    """Put a service's refusal next to its field, or at the top of the form."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, str(error.message))


def _current_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


@require_http_methods(["GET", "POST"])
def signup_view(request: HttpRequest) -> HttpResponse:
    """Sign up; the answer is "check your inbox" whether the address is new or taken."""
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    form = forms.SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        roles = form.cleaned_data["roles"]
        try:
            services.signup_request(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                display_name=form.cleaned_data["display_name"],
                entity_type=form.cleaned_data["entity_type"],
                is_client="client" in roles,
                is_worker="worker" in roles,
                preferred_language=request.LANGUAGE_CODE,
                ip_address=client_ip(request),
            )
        except ApplicationError as error:
            _show_error(form, error)
        else:
            return render(request, "accounts/signup_sent.html")
    return render(request, "accounts/signup.html", {"form": form})


@require_http_methods(["GET", "POST"])
def verify_email_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button, POST confirms: mail scanners that open links confirm nothing."""
    try:
        services.verification_link_check(token=token)
    except ApplicationError as error:
        resend = forms.VerificationResendForm()
        return render(
            request, "accounts/verify_email.html", {"link_error": error.message, "form": resend}
        )
    if request.method == "POST":
        try:
            user = services.email_verify(token=token)
        except ApplicationError as error:  # the link expired between the two requests
            resend = forms.VerificationResendForm()
            return render(
                request, "accounts/verify_email.html", {"link_error": error.message, "form": resend}
            )
        if request.user.is_authenticated and request.user.pk == user.pk:
            messages.success(request, _("Your e-mail address is confirmed."))
            return redirect("accounts:profile")
        messages.success(request, _("Your e-mail address is confirmed. Log in to continue."))
        return redirect("accounts:login")
    return render(request, "accounts/verify_email.html", {})


@require_http_methods(["GET", "POST"])
def verification_resend_view(request: HttpRequest) -> HttpResponse:
    """Mail the confirmation link again: to the logged-in account, or to an address typed in."""
    user = request.user if isinstance(request.user, User) else None
    form = forms.VerificationResendForm(
        request.POST or None, initial={"email": user.email if user else ""}
    )
    if user is not None and request.method == "POST":
        form = forms.VerificationResendForm({"email": user.email})
    if request.method == "POST" and form.is_valid():
        try:
            services.verification_resend(
                email=form.cleaned_data["email"], ip_address=client_ip(request)
            )
        except ApplicationError as error:
            if user is not None:
                messages.error(request, str(error.message))
                return redirect("accounts:profile")
            _show_error(form, error)
        else:
            return render(request, "accounts/signup_sent.html", {"resent": True})
    return render(request, "accounts/verification_resend.html", {"form": form})


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_safe_next(request, reverse("accounts:profile")))
    form = forms.LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_authenticate(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                ip_address=client_ip(request),
            )
        except ApplicationError as error:
            _show_error(form, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            next_url = _safe_next(request, reverse("accounts:profile"))
            if selectors.second_factor_required(user):
                # Staff: the password was step one; nothing else opens before the code.
                return redirect(gate.second_factor_url(next_url))
            return redirect(next_url)
    next_url = request.GET.get("next", "")
    return render(request, "accounts/login.html", {"form": form, "next": next_url})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You have logged out."))
    return redirect("home")


@login_required
def profile_view(request: HttpRequest) -> HttpResponse:
    user = _current_user(request)
    # What the apps above add (reviews owed, reliability, reviews) comes through core.slots.
    context = {
        "profile_user": user,
        "is_own": True,
        "to_do": slot_render("my_page_to_do", request, user.pk),
        "sections": slot_render("profile_sections", request, user.pk),
    }
    return render(request, "accounts/profile.html", context)


def public_profile_view(request: HttpRequest, user_id: int) -> HttpResponse:
    try:
        profile_user = selectors.user_get_public(user_id=user_id)
    except ApplicationError as error:
        return render(request, "404.html", {"message": error.message}, status=404)
    is_own = request.user.is_authenticated and request.user.pk == profile_user.pk
    # The reliability profile, track record and reviews come from the apps above (core.slots).
    sections = slot_render("profile_sections", request, profile_user.pk)
    return render(
        request,
        "accounts/profile.html",
        {"profile_user": profile_user, "is_own": is_own, "sections": sections},
    )


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit_view(request: HttpRequest) -> HttpResponse:
    user = _current_user(request)
    initial = {
        "display_name": user.display_name,
        "entity_type": user.entity_type,
        "roles": [r for r, has in (("client", user.is_client), ("worker", user.is_worker)) if has],
        "bio": user.bio,
        "skills": ", ".join(user.skills),
        "invoice_registration_number": user.invoice_registration_number,
        "has_employees": user.has_employees,
        "is_withholding_agent": user.is_withholding_agent,
        "preferred_language": user.preferred_language,
    }
    form = forms.ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        roles = data.pop("roles")
        data["is_client"] = "client" in roles
        data["is_worker"] = "worker" in roles
        data["skills"] = [s for s in data["skills"].replace("、", ",").split(",") if s.strip()]
        try:
            services.user_profile_update(user=user, changes=data)
        except ApplicationError as error:
            _show_error(form, error)
        else:
            messages.success(request, _("Your profile has been saved."))
            return redirect("accounts:profile")
    return render(request, "accounts/profile_edit.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def password_change_view(request: HttpRequest) -> HttpResponse:
    form = forms.PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_password_change(
                user=_current_user(request),
                current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password"],
                ip_address=client_ip(request),
                sign_out_everywhere=form.cleaned_data["sign_out_everywhere"],
            )
        except ApplicationError as error:
            _show_error(form, error)
        else:
            # Keeps this session; every other session of the account is logged out.
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password has been changed."))
            return redirect("accounts:profile")
    return render(request, "accounts/password_change.html", {"form": form})


@require_http_methods(["GET", "POST"])
def password_reset_view(request: HttpRequest) -> HttpResponse:
    form = forms.PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.password_reset_request(email=form.cleaned_data["email"])
        return render(request, "accounts/password_reset_sent.html")
    return render(request, "accounts/password_reset.html", {"form": form})


@require_http_methods(["GET", "POST"])
def login_unlock_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET only shows the button: mail scanners open links, and must not lift the pause."""
    try:
        account = services.login_unlock_link_check(token=token)
        if request.method == "POST":
            services.login_unlock(token=token)
            messages.success(request, _("The pause is lifted. Log in again."))
            return redirect("accounts:login")
    except ApplicationError as error:
        return render(request, "accounts/login_unlock.html", {"link_error": error.message})
    return render(request, "accounts/login_unlock.html", {"account": account})


@require_http_methods(["GET", "POST"])
def password_reset_confirm_view(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    try:
        services.password_reset_link_check(uidb64=uidb64, token=token)
    except ApplicationError as error:
        return render(
            request, "accounts/password_reset_confirm.html", {"link_error": error.message}
        )
    form = forms.PasswordSetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_reset_confirm(
                uidb64=uidb64, token=token, new_password=form.cleaned_data["new_password"]
            )
        except ApplicationError as error:
            _show_error(form, error)
        else:
            messages.success(request, _("Your password has been reset. Log in with the new one."))
            return redirect("accounts:login")
    return render(request, "accounts/password_reset_confirm.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens_view(request: HttpRequest) -> HttpResponse:
    user = _current_user(request)
    form = forms.ApiTokenCreateForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        try:
            # Staff reach this page only after the second factor (accounts.gate).
            issued = services.api_token_create(
                user=user,
                name=form.cleaned_data["name"],
                second_factor_verified=selectors.second_factor_required(user),
            )
        except ApplicationError as error:
            _show_error(form, error)
        else:
            form = forms.ApiTokenCreateForm()
    tokens = selectors.api_token_list_for_user(user=user)
    return render(
        request, "accounts/api_tokens.html", {"form": form, "tokens": tokens, "issued": issued}
    )


@login_required
@require_POST
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = services.api_token_revoke(user=_current_user(request), token_id=token_id)
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return redirect("accounts:api_tokens")
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "accounts/_api_token_row.html", {"token": token})
    messages.success(request, _("The token “%(name)s” has been revoked.") % {"name": token.name})
    return redirect("accounts:api_tokens")


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "404.html", {"message": _("Not found.")}, status=404)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_view(request: HttpRequest) -> HttpResponse:
    """Step two of a staff log-in: a code from the app, or a recovery code."""
    user = _current_user(request)
    if not selectors.second_factor_required(user):
        return _not_found(request)
    next_url = _safe_next(request, reverse("accounts:profile"))
    if selectors.totp_device_get_confirmed(user=user) is None:
        return redirect(f"{reverse('accounts:security')}?{urlencode({'next': next_url})}")
    if gate.session_passed_second_factor(request, user):
        return redirect(next_url)
    form = forms.SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            use = services.second_factor_verify(
                user=user, code=form.cleaned_data["code"], ip_address=client_ip(request)
            )
        except ApplicationError as error:
            _show_error(form, error)
        else:
            gate.session_mark_second_factor(request, use.device)
            if use.method == "recovery_code":
                messages.warning(
                    request,
                    _(
                        "You used a recovery code; %(left)d are left. If your phone is lost, "
                        "turn two-factor off and set it up again on a new one."
                    )
                    % {"left": use.recovery_codes_left},
                )
            return redirect(next_url)
    return render(request, "accounts/two_factor.html", {"form": form, "next": next_url})


def _qr_svg(uri: str) -> str:
    """The enrolment QR code as inline SVG: drawn here, so no script, no outside service, and
    nothing the page's Content-Security-Policy refuses."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=4, border=4, dark="#000", light="#fff", title=_("QR code for your authenticator app")
    )
    return mark_safe(svg)  # noqa: S308 (segno's own markup around path data from our URI)


@login_required
@require_http_methods(["GET", "POST"])
def security_view(request: HttpRequest) -> HttpResponse:
    """Two-factor set-up for staff: enrol (QR, secret, first code, recovery codes) or turn off."""
    user = _current_user(request)
    if not selectors.second_factor_required(user):
        return _not_found(request)
    next_url = _safe_next(request, reverse("accounts:profile"))
    device = selectors.totp_device_get_confirmed(user=user)
    if device is not None:
        if not gate.session_passed_second_factor(request, user):
            return redirect(gate.second_factor_url(request.get_full_path()))
        return _security_enabled(request, user)
    pending = services.totp_enrolment_start(user=user)
    form = forms.TotpConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.totp_enrolment_confirm(
                user=user, code=form.cleaned_data["code"], ip_address=client_ip(request)
            )
        except ApplicationError as error:
            _show_error(form, error)
        else:
            device = selectors.totp_device_get_confirmed(user=user)
            assert device is not None
            gate.session_mark_second_factor(request, device)
            # Shown in this answer only: the codes are stored as hashes.
            return render(
                request, "accounts/security_codes.html", {"codes": codes, "next": next_url}
            )
    secret = pending.secret
    context = {
        "form": form,
        "next": next_url,
        "qr": _qr_svg(services.totp_provisioning_uri(device=pending)),
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    }
    return render(request, "accounts/security_enrol.html", context)


def _security_enabled(request: HttpRequest, user: User) -> HttpResponse:
    device = selectors.totp_device_get_confirmed(user=user)
    form = forms.SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.totp_disable(
                user=user, code=form.cleaned_data["code"], ip_address=client_ip(request)
            )
        except ApplicationError as error:
            _show_error(form, error)
        else:
            messages.success(
                request,
                _("Two-factor authentication is off. Set it up again now to keep working."),
            )
            return redirect("accounts:security")
    context = {
        "form": form,
        "device": device,
        "codes_left": selectors.recovery_codes_left(user=user),
    }
    return render(request, "accounts/security.html", context)


def language_switch_view(request: HttpRequest) -> HttpResponse:
    """The header's language switch (Django's set_language), also remembered on the account.

    A signed-in user's choice becomes their preferred language, the one their notices and mails
    are written in from then on; what was already sent keeps its words.
    """
    response = set_language(request)
    language = request.POST.get("language", "")
    user = request.user
    if (
        request.method == "POST"
        and isinstance(user, User)
        and language in {"ja", "en"}
        and user.preferred_language != language
    ):
        services.user_profile_update(user=user, changes={"preferred_language": language})
    return response
