"""The site's small finishing parts: a favicon, a footer without operator links, a licence file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[4]


def test_the_browsers_default_favicon_request_finds_the_svg_icon():
    response = Client().get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"] == "/static/ishibashi/favicon.svg"
    assert (ROOT / "src/ishibashi/static/ishibashi/favicon.svg").read_text().startswith("<svg")


def test_pages_link_the_icon_and_no_longer_show_the_health_check():
    page = Client().get("/").content.decode()

    assert '<link rel="icon" href="/static/ishibashi/favicon.svg" type="image/svg+xml">' in page
    assert "healthz" not in page
    assert Client().get("/healthz").status_code == 200  # still there for load balancers


def test_the_licence_file_is_the_one_pyproject_names():
    licence = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    text = (ROOT / "LICENSE").read_text()

    assert licence == "AGPL-3.0-or-later"
    heading = [
        "GNU",
        "AFFERO",
        "GENERAL",
        "PUBLIC",
        "LICENSE",
        "Version",
        "3,",
        "19",
        "November",
        "2007",
    ]
    assert text.split()[: len(heading)] == heading
    assert "END OF TERMS AND CONDITIONS" in text
