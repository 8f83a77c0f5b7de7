"""The one source of the current time; tests move it with time-machine, nothing sleeps."""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return timezone.now()
