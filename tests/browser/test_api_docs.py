"""In real Chromium: the API docs viewer loads from this site alone, under the page CSP.

django-ninja serves Swagger UI from a CDN unless `ninja` is an installed app; then its own
static copy is used. The page's Content-Security-Policy (`default-src 'self'`) would block the
CDN, so a page that still lists the operations proves nothing left the site.
"""

from urllib.parse import urlparse

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_list_the_operations_from_this_site_alone(page, app_server):
    requested: list[str] = []
    refused: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    # when
    response = page.goto("/api/v1/docs")

    # then: the page carries the site's policy, and Swagger UI draws the operations under it
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.locator(".opblock-summary-path", has_text="/api/v1/auth/signup").first.wait_for()
    assert page.locator(".opblock").count() > 20
    assert page.get_by_text("Ishibashi API").first.is_visible()
    site = urlparse(app_server).netloc
    assert {urlparse(url).netloc for url in requested if url.startswith("http")} == {site}
    assert refused == []
