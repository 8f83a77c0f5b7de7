"""Account forms check shape only; every rule lives in accounts.services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import EntityType
from ishibashi.core import limits

ROLE_CHOICES = [
    ("client", _("Client (発注者): I post jobs")),
    ("worker", _("Worker (受注者): I take jobs")),
]


class SignupForm(forms.Form):
    display_name = forms.CharField(
        label=_("Display name"), max_length=limits.DISPLAY_NAME_LENGTH_MAX * 2
    )
    email = forms.CharField(
        label=_("E-mail address"),
        max_length=limits.EMAIL_LENGTH_MAX * 2,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters; not only digits, not a common password."),
    )
    entity_type = forms.ChoiceField(
        label=_("Individual or corporation"),
        choices=EntityType.choices,
        initial=EntityType.INDIVIDUAL,
        widget=forms.RadioSelect,
    )
    roles = forms.MultipleChoiceField(
        label=_("How will you use Ishibashi?"),
        choices=ROLE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("You can choose both."),
    )


class VerificationResendForm(forms.Form):
    email = forms.CharField(
        label=_("E-mail address"),
        max_length=limits.EMAIL_LENGTH_MAX * 2,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class LoginForm(forms.Form):
    email = forms.CharField(
        label=_("E-mail address"),
        max_length=limits.EMAIL_LENGTH_MAX * 2,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label=_("Display name"), max_length=limits.DISPLAY_NAME_LENGTH_MAX * 2
    )
    entity_type = forms.ChoiceField(
        label=_("Individual or corporation"), choices=EntityType.choices, widget=forms.RadioSelect
    )
    roles = forms.MultipleChoiceField(
        label=_("Roles"), choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    bio = forms.CharField(
        label=_("About you"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=limits.BIO_LENGTH_MAX * 2,
    )
    skills = forms.CharField(
        label=_("Skills"),
        required=False,
        help_text=_("Separate with commas, e.g. WordPress, サーバー移行, Python"),
        max_length=(limits.SKILL_LENGTH_MAX + 2) * limits.SKILLS_COUNT_MAX * 2,
    )
    invoice_registration_number = forms.CharField(
        label=_("Qualified-invoice registration number (適格請求書発行事業者登録番号)"),
        required=False,
        max_length=40,
        help_text=_("“T” and 13 digits. Leave empty if you are not registered."),
    )
    has_employees = forms.BooleanField(
        label=_("My business has employees or two or more officers"), required=False
    )
    is_withholding_agent = forms.BooleanField(
        label=_("I pay salaries (so I withhold income tax on some fees)"), required=False
    )
    preferred_language = forms.ChoiceField(
        label=_("Language for e-mails"), choices=[("ja", "日本語"), ("en", "English")]
    )


class PasswordChangeForm(forms.Form):
    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    sign_out_everywhere = forms.BooleanField(
        label=_("Sign out everywhere: also revoke all my API tokens"),
        help_text=_("Other browsers are always logged out when the password changes."),
        required=False,
        initial=True,
    )


class PasswordResetRequestForm(forms.Form):
    email = forms.CharField(
        label=_("E-mail address"),
        max_length=limits.EMAIL_LENGTH_MAX * 2,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class PasswordSetForm(forms.Form):
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=limits.API_TOKEN_NAME_LENGTH_MAX * 2,
        help_text=_("What will use it, e.g. “会計ソフト連携”."),
    )


class SecondFactorForm(forms.Form):
    """A code from the authenticator app (or, where allowed, a recovery code)."""

    code = forms.CharField(
        label=_("Code"),
        max_length=limits.SECOND_FACTOR_CODE_LENGTH_MAX * 2,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
        help_text=_(
            "The 6 digits your authenticator app shows now, or one of your recovery codes."
        ),
    )


class TotpConfirmForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=limits.SECOND_FACTOR_CODE_LENGTH_MAX * 2,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
        help_text=_("The 6 digits the app shows after adding the account."),
    )
