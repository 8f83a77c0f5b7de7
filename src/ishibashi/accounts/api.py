"""Accounts API: sign-up, tokens, the caller's profile and password, public profiles."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema, Status

from ishibashi.accounts import selectors, services
from ishibashi.accounts.auth import request_user, user_auth
from ishibashi.accounts.models import ApiToken, User
from ishibashi.core.client_address import client_ip
from ishibashi.core.errors import InvalidInput
from ishibashi.core.schemas import ERRORS, BodyIn

auth_router = Router(tags=["auth"])
me_router = Router(tags=["me"], auth=user_auth)
users_router = Router(tags=["users"])

ROLES = ("client", "worker")


class SignupIn(BodyIn):
    email: str
    password: str
    display_name: str
    entity_type: str = "individual"
    roles: list[str]
    preferred_language: str = "ja"


class MeOut(Schema):
    id: int
    email: str
    display_name: str
    entity_type: str
    roles: list[str]
    bio: str
    skills: list[str]
    invoice_registration_number: str
    has_employees: bool
    is_withholding_agent: bool
    preferred_language: str
    email_verified: bool = Field(
        description="The address is confirmed; until then money, job posting and proposals "
        "answer 403 `email_unverified`."
    )
    created_at: datetime

    @staticmethod
    def resolve_roles(user: User) -> list[str]:
        return roles_of(user)

    @staticmethod
    def resolve_email_verified(user: User) -> bool:
        return user.email_verified_at is not None


class PublicUserOut(Schema):
    id: int
    display_name: str
    entity_type: str
    roles: list[str]
    bio: str
    skills: list[str]
    invoice_registration_number: str
    created_at: datetime

    @staticmethod
    def resolve_roles(user: User) -> list[str]:
        return roles_of(user)


class MePatchIn(BodyIn):
    display_name: str | None = None
    entity_type: str | None = None
    roles: list[str] | None = None
    bio: str | None = None
    skills: list[str] | None = None
    invoice_registration_number: str | None = None
    has_employees: bool | None = None
    is_withholding_agent: bool | None = None
    preferred_language: str | None = None


class TokenRequestIn(BodyIn):
    email: str
    password: str
    name: str = "API"
    otp_code: str | None = Field(
        None,
        description="Staff accounts only, and required for them: the current 6-digit code from "
        "the authenticator app, or an unused recovery code.",
    )


class TokenCreateIn(BodyIn):
    name: str


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    second_factor_verified: bool


class TwoFactorOut(Schema):
    required: bool = Field(description="Whether this account must use a second factor (staff).")
    enabled: bool
    confirmed_at: datetime | None
    recovery_codes_left: int


class TokenIssuedOut(TokenOut):
    token: str


class PasswordChangeIn(BodyIn):
    current_password: str
    new_password: str
    sign_out_everywhere: bool = Field(
        True,
        description="Also revoke every API token, this one included (other browser sessions "
        "always end).",
    )


class PasswordResetIn(BodyIn):
    email: str


class VerifyEmailIn(BodyIn):
    token: str


class VerificationResendIn(BodyIn):
    email: str


class PasswordResetConfirmIn(BodyIn):
    uid: str
    token: str
    new_password: str


class LoginUnlockIn(BodyIn):
    token: str = Field(max_length=500)


class AcceptedOut(Schema):
    detail: str


def roles_of(user: User) -> list[str]:
    return [role for role, has in (("client", user.is_client), ("worker", user.is_worker)) if has]


def roles_to_flags(roles: list[str]) -> dict[str, bool]:
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise InvalidInput(_("Roles are “client” and/or “worker”."), field="roles")
    return {"is_client": "client" in roles, "is_worker": "worker" in roles}


def _token_out(issued: services.IssuedApiToken) -> dict[str, object]:
    token = issued.token
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
        "second_factor_verified": token.second_factor_verified,
        "token": issued.secret,
    }


SIGNUP_ACCEPTED = _(
    "Check your inbox: we sent a mail to this address. Open its link to confirm the address "
    "(if the address already has an account, the mail says how to log in instead)."
)


@auth_router.post(
    "/signup", response={202: AcceptedOut, **ERRORS}, summary="Sign up (confirm by mail)"
)
def signup_endpoint(request: HttpRequest, payload: SignupIn) -> Status[dict[str, str]]:
    """Ask for an account. The answer is the same 202 whether the address is new or taken:
    a new address gets an unverified account and a confirmation link by mail, a taken one a
    mail to its owner. Sign-ups per client address are limited (429 `signup_throttled`)."""
    services.signup_request(
        email=payload.email,
        password=payload.password,
        display_name=payload.display_name,
        entity_type=payload.entity_type,
        preferred_language=payload.preferred_language,
        ip_address=client_ip(request),
        **roles_to_flags(payload.roles),
    )
    return Status(202, {"detail": str(SIGNUP_ACCEPTED)})


@auth_router.post(
    "/verify-email", response={200: AcceptedOut, **ERRORS}, summary="Confirm your e-mail address"
)
def verify_email_endpoint(request: HttpRequest, payload: VerifyEmailIn) -> dict[str, str]:
    """Confirm the address with the token from the mailed link (its last path segment).

    A used link stays valid until it expires and changes nothing more."""
    services.email_verify(token=payload.token)
    return {"detail": str(_("Your e-mail address is confirmed."))}


@auth_router.post(
    "/verify-email/resend",
    response={202: AcceptedOut, **ERRORS},
    summary="Mail the confirmation link again",
)
def verification_resend_endpoint(
    request: HttpRequest, payload: VerificationResendIn
) -> Status[dict[str, str]]:
    """The same 202 for every address; throttled per address and per client (429
    `verification_throttled`)."""
    services.verification_resend(email=payload.email, ip_address=client_ip(request))
    detail = _(
        "If an account with this address waits for its confirmation, a new link is on its way."
    )
    return Status(202, {"detail": str(detail)})


@auth_router.post("/token", response={201: TokenIssuedOut, **ERRORS}, summary="Get an API token")
def token_endpoint(request: HttpRequest, payload: TokenRequestIn) -> Status[dict[str, object]]:
    """Exchange e-mail and password for a bearer token; failed tries count toward the lock-out.

    Staff also send `otp_code` (wrong codes count toward the second factor's own lock-out)."""
    ip_address = client_ip(request)
    user = services.user_authenticate(
        email=payload.email, password=payload.password, ip_address=ip_address
    )
    verified = services.second_factor_check_for_token(
        user=user, otp_code=payload.otp_code, ip_address=ip_address
    )
    issued = services.api_token_create(
        user=user, name=payload.name, second_factor_verified=verified
    )
    return Status(201, _token_out(issued))


@auth_router.post(
    "/login-unlock", response={200: AcceptedOut, **ERRORS}, summary="Lift a log-in pause"
)
def login_unlock_endpoint(request: HttpRequest, payload: LoginUnlockIn) -> dict[str, str]:
    """Clear every failed log-in on the account the mailed unlock link names."""
    services.login_unlock(token=payload.token)
    return {"detail": str(_("The pause is lifted. Log in again."))}


@auth_router.post("/password-reset", response={202: AcceptedOut, **ERRORS})
def password_reset_endpoint(
    request: HttpRequest, payload: PasswordResetIn
) -> Status[dict[str, str]]:
    """Mail a reset link. The answer is the same whether or not the address has an account."""
    services.password_reset_request(email=payload.email)
    detail = _("If an account uses this address, a reset link is on its way.")
    return Status(202, {"detail": str(detail)})


@auth_router.post("/password-reset/confirm", response={200: MeOut, **ERRORS})
def password_reset_confirm_endpoint(request: HttpRequest, payload: PasswordResetConfirmIn) -> User:
    return services.password_reset_confirm(
        uidb64=payload.uid, token=payload.token, new_password=payload.new_password
    )


@me_router.get("", response={200: MeOut, **ERRORS}, summary="Your profile")
def me_endpoint(request: HttpRequest) -> User:
    return request_user(request)


@me_router.patch("", response={200: MeOut, **ERRORS}, summary="Change your profile")
def me_update_endpoint(request: HttpRequest, payload: MePatchIn) -> User:
    changes = payload.dict(exclude_unset=True)
    if "roles" in changes:
        roles = changes.pop("roles")
        if roles is None:
            raise InvalidInput(_("This field cannot be empty."), field="roles")
        changes.update(roles_to_flags(roles))
    return services.user_profile_update(user=request_user(request), changes=changes)


@me_router.post("/password", response={200: MeOut, **ERRORS}, summary="Change your password")
def me_password_endpoint(request: HttpRequest, payload: PasswordChangeIn) -> User:
    """A wrong `current_password` counts toward the log-in lock-out (429 `login_locked`)."""
    return services.user_password_change(
        user=request_user(request),
        current_password=payload.current_password,
        new_password=payload.new_password,
        ip_address=client_ip(request),
        sign_out_everywhere=payload.sign_out_everywhere,
    )


@me_router.get("/tokens", response={200: list[TokenOut], **ERRORS})
def me_tokens_endpoint(request: HttpRequest) -> list[ApiToken]:
    return list(selectors.api_token_list_for_user(user=request_user(request)))


@me_router.post("/tokens", response={201: TokenIssuedOut, **ERRORS})
def me_token_create_endpoint(
    request: HttpRequest, payload: TokenCreateIn
) -> Status[dict[str, object]]:
    user = request_user(request)
    # Staff reach this only with a session or token that passed the second factor (user_auth).
    issued = services.api_token_create(
        user=user, name=payload.name, second_factor_verified=selectors.second_factor_required(user)
    )
    return Status(201, _token_out(issued))


@me_router.delete("/tokens/{token_id}", response={200: TokenOut, **ERRORS})
def me_token_revoke_endpoint(request: HttpRequest, token_id: int) -> ApiToken:
    return services.api_token_revoke(user=request_user(request), token_id=token_id)


@me_router.get("/two-factor", response={200: TwoFactorOut, **ERRORS}, summary="Two-factor status")
def me_two_factor_endpoint(request: HttpRequest) -> dict[str, object]:
    """Whether two-factor authentication is on. Enrolment and turning it off are on the security
    page (a QR code for a person's phone; see docs/api.md)."""
    user = request_user(request)
    device = selectors.totp_device_get_confirmed(user=user)
    return {
        "required": selectors.second_factor_required(user),
        "enabled": device is not None,
        "confirmed_at": device.confirmed_at if device else None,
        "recovery_codes_left": selectors.recovery_codes_left(user=user),
    }


@users_router.get("/{user_id}", response={200: PublicUserOut, **ERRORS})
def user_endpoint(request: HttpRequest, user_id: int) -> User:
    return selectors.user_get_public(user_id=user_id)
