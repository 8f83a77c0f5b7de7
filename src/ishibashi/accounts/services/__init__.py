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
    api_token_revoke,
    api_tokens_revoke_all,
)
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
    "api_token_authenticate",
    "api_token_create",
    "api_token_revoke",
    "api_tokens_revoke_all",
    "email_verify",
    "normalize_email",
    "password_reset_confirm",
    "password_reset_link_check",
    "password_reset_request",
    "signup_request",
    "user_authenticate",
    "user_password_change",
    "user_profile_update",
    "user_signup",
    "verification_link_check",
    "verification_resend",
    "verification_token",
]
