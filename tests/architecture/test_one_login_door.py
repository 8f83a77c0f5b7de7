"""One door in: every password check goes through accounts.services.user_authenticate (counted
toward the lock-out), and a session starts only after it or a sign-up."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "ishibashi"
THE_SERVICE = SRC / "accounts" / "services" / "login.py"
THE_PAGES = SRC / "accounts" / "views.py"


def _imports_from_django_auth(tree, name):
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "django.contrib.auth"
        and any(alias.name == name for alias in node.names)
        for node in ast.walk(tree)
    )


def _files():
    for path in SRC.rglob("*.py"):
        if "migrations" not in path.parts and "tests" not in path.parts:
            yield path, ast.parse(path.read_text(), filename=str(path))


def test_only_the_log_in_service_checks_passwords_with_authenticate():
    offenders = [
        str(path.relative_to(SRC))
        for path, tree in _files()
        if path != THE_SERVICE and _imports_from_django_auth(tree, "authenticate")
    ]

    assert offenders == [], f"check passwords through user_authenticate: {offenders}"


def test_only_the_account_pages_start_a_session():
    offenders = [
        str(path.relative_to(SRC))
        for path, tree in _files()
        if path != THE_PAGES and _imports_from_django_auth(tree, "login")
    ]

    assert offenders == [], f"log people in on the account pages, after the service: {offenders}"


def test_the_admin_site_has_no_log_in_form_of_its_own():
    from django.contrib import admin

    from ishibashi.accounts.admin_site import OperatorAdminSite

    assert isinstance(admin.site, OperatorAdminSite)
    assert admin.site.login_form is None
