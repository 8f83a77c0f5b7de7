"""Ledger: double-entry accounts and immutable, idempotent, balanced transfers in integer yen."""

from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ishibashi.ledger"
    label = "ledger"
