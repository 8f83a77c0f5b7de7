"""Users (one account may be client and worker), log-in failures, hashed API tokens and the
staff second factor (an authenticator app's codes, one-time recovery codes)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils.translation import gettext_lazy as _

from ishibashi.core import clock, limits


class EntityType(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")  # ja: 個人
    CORPORATION = "corporation", _("Corporation")  # ja: 法人


class UserManager(BaseUserManager["User"]):
    """Used by Django's createsuperuser; every other account comes from user_signup."""

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("display_name", "operator")
        fields.update(is_staff=True, is_superuser=True)
        # An operator made on the command line owns the address given there.
        fields.setdefault("email_verified_at", clock.now())
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("e-mail address"), unique=True, max_length=limits.EMAIL_LENGTH_MAX)
    display_name = models.CharField(_("display name"), max_length=limits.DISPLAY_NAME_LENGTH_MAX)
    entity_type = models.CharField(
        _("individual or corporation"),
        max_length=16,
        choices=EntityType.choices,
        default=EntityType.INDIVIDUAL,
    )
    is_client = models.BooleanField(_("acts as a client"), default=False)
    is_worker = models.BooleanField(_("acts as a worker"), default=False)
    bio = models.TextField(_("about"), blank=True, max_length=limits.BIO_LENGTH_MAX)
    skills = models.JSONField(_("skills"), default=list, blank=True)
    # Qualified-invoice registration number: "T" + 13 digits, or empty when not registered.
    invoice_registration_number = models.CharField(
        _("qualified-invoice registration number"), max_length=14, blank=True
    )
    # Freelance Act art. 2: a client with employees or two or more officers is "specified".
    has_employees = models.BooleanField(_("has employees or two or more officers"), default=False)
    # Income Tax Act art. 204: only a payer of salaries withholds on a worker's fee.
    is_withholding_agent = models.BooleanField(
        _("pays salaries (withholding agent)"), default=False
    )
    preferred_language = models.CharField(
        _("language"), max_length=8, choices=[("ja", "日本語"), ("en", "English")], default="ja"
    )
    # 本人確認: set by an operator after checking documents; shown on every job card.
    identity_verified_at = models.DateTimeField(_("identity verified"), null=True, blank=True)
    # The owner opened the link mailed to the address. Until then: no money, no posting, no
    # proposals (accounts.selectors.check_email_verified).
    email_verified_at = models.DateTimeField(_("e-mail address verified"), null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=clock.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["display_name"]

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=models.Q(is_client=True)
                | models.Q(is_worker=True)
                | models.Q(is_staff=True),
                name="user_has_a_role",
            ),
            models.CheckConstraint(
                condition=models.Q(invoice_registration_number="")
                | models.Q(invoice_registration_number__regex=r"^T[0-9]{13}$"),
                name="user_invoice_number_form",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class LoginFailure(models.Model):
    """One failed log-in; counted over a sliding window to lock out password guessing."""

    email = models.CharField(max_length=limits.EMAIL_LENGTH_MAX)
    ip_address = models.GenericIPAddressField(null=True)
    created_at = models.DateTimeField(default=clock.now)
    # Set on the failure that made the account's owner be mailed an unlock link, so a slow,
    # steady attack mails them once per window, not once per guess.
    owner_alerted = models.BooleanField(default=False)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["email", "created_at"]),
            models.Index(fields=["ip_address", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.email} at {self.created_at:%Y-%m-%d %H:%M}"


class RequestKind(models.TextChoices):
    SIGNUP = "signup", "sign-up"
    VERIFICATION_RESEND = "verification_resend", "verification mail again"


class AccountRequest(models.Model):
    """One sign-up or verification-mail request; counted over a window to throttle them.

    Kept in the database so every web process (and both database engines) see the same count.
    """

    kind = models.CharField(max_length=24, choices=RequestKind.choices)
    email = models.CharField(max_length=limits.EMAIL_LENGTH_MAX)
    ip_address = models.GenericIPAddressField(null=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["kind", "ip_address", "created_at"]),
            models.Index(fields=["kind", "email", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.email} at {self.created_at:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the secret is shown once at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=limits.API_TOKEN_NAME_LENGTH_MAX)
    # The first characters of the secret, so a person can tell their tokens apart.
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=clock.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Minted after the second factor (a staff log-in with its code, or a staff session or token
    # that had passed it). Staff requests made with a token without it are refused.
    second_factor_verified = models.BooleanField(default=False)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class TotpDevice(models.Model):
    """An authenticator app (RFC 6238: 30-second steps, 6 digits), one per person.

    Unconfirmed while enrolling: the secret is shown (QR and text) until a first code proves the
    app has it; after that it is never shown again. A code is accepted once: `last_used_step`
    is the time step of the newest code used, and only later steps pass.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="totp_device")
    secret = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=clock.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_used_step = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        state = "confirmed" if self.confirmed_at else "enrolling"
        return f"{self.user} ({state})"


class RecoveryCode(models.Model):
    """A one-time code for when the phone is lost. Only its SHA-256 is stored (80 random bits,
    so a leaked hash cannot be searched back to the code)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=clock.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["user", "code_hash"])]

    def __str__(self) -> str:
        return f"{self.user} ({'used' if self.used_at else 'unused'})"


class SecondFactorFailure(models.Model):
    """One wrong second-factor code; counted per person over a sliding window.

    Separate from LoginFailure on purpose: a right password clears the password failures, and
    whoever has the password could otherwise clear the code failures too, and guess on.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    ip_address = models.GenericIPAddressField(null=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"{self.user} at {self.created_at:%Y-%m-%d %H:%M}"
