"""Cross-cutting pieces every app uses: the clock, errors, limits and invariants."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ishibashi.core"
    label = "core"

    def ready(self) -> None:
        from ishibashi.core import checks  # noqa: F401  (registers the system checks)
