"""Accounts: people, their profiles, log-in throttling and API tokens."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ishibashi.accounts"
    label = "accounts"
