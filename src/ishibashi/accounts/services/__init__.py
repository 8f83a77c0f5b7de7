"""Every write to accounts, one module per use case; callers import from here."""

from ishibashi.accounts.services.login import user_authenticate
from ishibashi.accounts.services.passwords import (
    password_reset_confirm,
    password_reset_link_check,
    password_reset_request,
    user_password_change,
)
from ishibashi.accounts.services.profile import PROFILE_FIELDS, user_profile_update
from ishibashi.accounts.services.signup import signup_request, user_signup
from ishibashi.accounts.services.tokens import (
    API_TOKEN_PREFIX,
    IssuedApiToken,
    api_token_authenticate,
    api_token_create,
    api_token_find_active,
    api_token_revoke,
    api_tokens_revoke_all,
)
from ishibashi.accounts.services.two_factor import (
    SecondFactorUse,
    second_factor_check_for_token,
    second_factor_verify,
    totp_disable,
    totp_enrolment_confirm,
    totp_enrolment_start,
    totp_provisioning_uri,
)
from ishibashi.accounts.services.unlock import login_unlock, login_unlock_link_check
from ishibashi.accounts.services.validation import normalize_email
from ishibashi.accounts.services.verification import (
    email_verify,
    verification_link_check,
    verification_resend,
    verification_token,
)

__all__ = [
    "API_TOKEN_PREFIX",
    "PROFILE_FIELDS",
    "IssuedApiToken",
    "SecondFactorUse",
    "api_token_authenticate",
    "api_token_create",
    "api_token_find_active",
    "api_token_revoke",
    "api_tokens_revoke_all",
    "email_verify",
    "login_unlock",
    "login_unlock_link_check",
    "normalize_email",
    "password_reset_confirm",
    "password_reset_link_check",
    "password_reset_request",
    "second_factor_check_for_token",
    "second_factor_verify",
    "signup_request",
    "totp_disable",
    "totp_enrolment_confirm",
    "totp_enrolment_start",
    "totp_provisioning_uri",
    "user_authenticate",
    "user_password_change",
    "user_profile_update",
    "user_signup",
    "verification_link_check",
    "verification_resend",
    "verification_token",
]
