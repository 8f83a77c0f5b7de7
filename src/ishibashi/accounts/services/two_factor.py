"""The staff second factor: enrol an authenticator app, check its codes, recovery codes.

Every staff request needs a session or API token that passed it (accounts.gate). A code is
a 6-digit TOTP (one 30-second step either side accepted, each step usable once) or one of ten
one-time recovery codes. Wrong codes are counted per person (SecondFactorFailure) and lock the
second factor for a while, as wrong passwords lock the log-in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import pyotp
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ishibashi.accounts.models import RecoveryCode, SecondFactorFailure, TotpDevice, User
from ishibashi.accounts.selectors import second_factor_required
from ishibashi.core import clock, limits
from ishibashi.core.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, RateLimited
from ishibashi.core.throttle import minutes_until, sliding_window_reopens_at

ISSUER = "Ishibashi"
# Recovery codes: 16 characters of base32 (80 bits), shown in groups of four.
RECOVERY_CODE_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
RECOVERY_CODE_LENGTH = 16

WRONG_CODE = _("The code is incorrect. Enter the current code from your authenticator app.")


@dataclass(frozen=True)
class SecondFactorUse:
    """A passed check: which kind of code, and how many recovery codes are left."""

    method: str  # "totp" or "recovery_code"
    recovery_codes_left: int
    device: TotpDevice  # the confirmed device the session is now marked with


def _hash_recovery_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))


def _normalize(code: str, *, field: str) -> str:
    """Spaces and hyphens dropped, lower case; empty is a form error, not a guess."""
    code = "".join(code.split()).replace("-", "").lower()[: limits.SECOND_FACTOR_CODE_LENGTH_MAX]
    if not code:
        raise InvalidInput(_("Enter the code from your authenticator app."), field=field)
    return code


def _check_not_locked(*, user: User) -> None:
    unlock_at = sliding_window_reopens_at(
        SecondFactorFailure.objects.filter(user=user),
        most=limits.SECOND_FACTOR_FAILURES_MAX,
        window=limits.SECOND_FACTOR_FAILURE_WINDOW,
    )
    if unlock_at is None:
        return
    minutes = minutes_until(unlock_at)
    raise RateLimited(
        ngettext(
            "Too many wrong codes. For your safety, the second step is locked; "
            "try again in %(minutes)d minute.",
            "Too many wrong codes. For your safety, the second step is locked; "
            "try again in %(minutes)d minutes.",
            minutes,
        )
        % {"minutes": minutes},
        code="second_factor_locked",
        extra={"retry_after_seconds": minutes * 60},
    )


def _refuse_wrong_code(*, user: User, ip_address: str | None, field: str) -> InvalidInput:
    """Record the failure (committed: callers are not atomic around it) and the refusal to
    raise; the lock's refusal instead if this failure reached it."""
    SecondFactorFailure.objects.create(user=user, ip_address=ip_address)
    _check_not_locked(user=user)
    return InvalidInput(WRONG_CODE, code="invalid_second_factor", field=field)


def _totp_step(secret: str, code: str) -> int | None:
    """The time step the code belongs to, among the accepted ones; None if none."""
    if len(code) != limits.TOTP_DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=limits.TOTP_DIGITS)
    now_step = totp.timecode(clock.now())
    window = limits.TOTP_VALID_WINDOW_STEPS
    found = None
    for step in range(now_step - window, now_step + window + 1):
        # Every step is compared, in constant time, so timing tells nothing about which matched.
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def totp_provisioning_uri(*, device: TotpDevice) -> str:
    """The otpauth:// address an authenticator app reads from the enrolment QR code."""
    return pyotp.TOTP(device.secret, digits=limits.TOTP_DIGITS).provisioning_uri(
        name=device.user.email, issuer_name=ISSUER
    )


@transaction.atomic
def totp_enrolment_start(*, user: User) -> TotpDevice:
    """The device being enrolled: a new secret, or the pending one (a reload shows the same QR).

    Refused while a confirmed device exists: turning it off needs a code (totp_disable).
    """
    User.objects.select_for_update().get(pk=user.pk)
    device = TotpDevice.objects.filter(user=user).first()
    if device is not None and device.confirmed_at is not None:
        raise Conflict(
            _("Two-factor authentication is already on. Turn it off with a code to re-enrol."),
            code="second_factor_enrolled",
        )
    if device is None:
        device = TotpDevice.objects.create(user=user, secret=pyotp.random_base32())
    return device


def totp_enrolment_confirm(
    *, user: User, code: str, ip_address: str | None, field: str = "code"
) -> list[str]:
    """Turn two-factor on with a first code from the app; the ten recovery codes, once.

    Deliberately not atomic around the check: a wrong code's failure row must survive.
    """
    _check_not_locked(user=user)
    code = _normalize(code, field=field)
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=True).first()
    if device is None:
        raise Conflict(
            _("There is no enrolment to confirm. Start again from the security page."),
            code="no_enrolment",
        )
    step = _totp_step(device.secret, code)
    if step is None:
        raise _refuse_wrong_code(user=user, ip_address=ip_address, field=field)
    return _enrolment_finish(user=user, device_id=device.pk, step=step)


@transaction.atomic
def _enrolment_finish(*, user: User, device_id: int, step: int) -> list[str]:
    device = TotpDevice.objects.select_for_update().get(pk=device_id)
    if device.confirmed_at is not None:
        raise Conflict(
            _("Two-factor authentication is already on. Turn it off with a code to re-enrol."),
            code="second_factor_enrolled",
        )
    device.confirmed_at = clock.now()
    device.last_used_step = step
    device.save(update_fields=["confirmed_at", "last_used_step"])
    SecondFactorFailure.objects.filter(user=user).delete()
    return _recovery_codes_replace(user=user)


def _recovery_codes_replace(*, user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [_new_recovery_code() for _ in range(limits.RECOVERY_CODES_COUNT)]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_hash=_hash_recovery_code(code.replace("-", "")))
        for code in codes
    )
    return codes


def second_factor_verify(
    *, user: User, code: str, ip_address: str | None, field: str = "code"
) -> SecondFactorUse:
    """Check a code from the app or a recovery code; each is accepted once.

    Deliberately not atomic around the check: a wrong code's failure row must survive. The lock
    is checked first, so a locked person learns nothing from a right code.
    """
    _check_not_locked(user=user)
    code = _normalize(code, field=field)
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        raise Conflict(
            _("Two-factor authentication is not set up for this account yet."),
            code="second_factor_not_enrolled",
        )
    step = _totp_step(device.secret, code)
    if step is not None:
        if not _totp_step_use(device_id=device.pk, step=step):
            raise InvalidInput(
                _("This code has already been used. Wait for the next code in your app."),
                code="second_factor_code_reused",
                field=field,
            )
        method = "totp"
    elif _recovery_code_use(user=user, code=code):
        method = "recovery_code"
    else:
        raise _refuse_wrong_code(user=user, ip_address=ip_address, field=field)
    SecondFactorFailure.objects.filter(user=user).delete()
    left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
    return SecondFactorUse(method=method, recovery_codes_left=left, device=device)


@transaction.atomic
def _totp_step_use(*, device_id: int, step: int) -> bool:
    """Record the step as used; False if it (or a later one) was used already.

    The row lock makes two requests racing with the same code end with one success."""
    device = TotpDevice.objects.select_for_update().get(pk=device_id)
    if step <= device.last_used_step:
        return False
    device.last_used_step = step
    device.save(update_fields=["last_used_step"])
    return True


@transaction.atomic
def _recovery_code_use(*, user: User, code: str) -> bool:
    if len(code) != RECOVERY_CODE_LENGTH:
        return False
    used = RecoveryCode.objects.filter(
        user=user, code_hash=_hash_recovery_code(code), used_at__isnull=True
    ).update(used_at=clock.now())
    return used == 1


def totp_disable(*, user: User, code: str, ip_address: str | None, field: str = "code") -> None:
    """Turn two-factor off (to re-enrol, say with a new phone); needs a current code or a
    recovery code. A staff account is then sent to enrolment again before anything else."""
    second_factor_verify(user=user, code=code, ip_address=ip_address, field=field)
    with transaction.atomic():
        TotpDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()


def second_factor_check_for_token(
    *, user: User, otp_code: str | None, ip_address: str | None
) -> bool:
    """At the API log-in (POST /auth/token): whether the token will carry the second factor.

    Staff must send a current code (or a recovery code) as `otp_code`; without one, or without
    an enrolled app, no token. Others need none and get an ordinary token.
    """
    if not second_factor_required(user):
        return False
    if TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first() is None:
        raise Forbidden(
            _(
                "This staff account has no two-factor authentication yet. Log in on the "
                "website and set it up on the security page first."
            ),
            code="second_factor_not_enrolled",
        )
    if not otp_code:
        raise NotAuthenticated(
            _("A staff account needs the current code from its authenticator app (otp_code)."),
            code="second_factor_required",
            field="otp_code",
        )
    second_factor_verify(user=user, code=otp_code, ip_address=ip_address, field="otp_code")
    return True
