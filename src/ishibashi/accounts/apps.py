"""Accounts: people, their profiles, log-in throttling and API tokens."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "ishibashi.accounts"
    label = "accounts"
    default = True


class OperatorAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the site whose log-in is the throttled one (admin_site)."""

    default = False
    default_site = "ishibashi.accounts.admin_site.OperatorAdminSite"
