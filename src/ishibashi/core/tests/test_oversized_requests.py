"""A body too large, or with too many fields, from anyone: a clear 413/400 and one WARNING line.

Django logs these at ERROR with a traceback (django.security.*), which pages an operator for a
stranger's oversized form, and answers with its bare English "Bad Request (400)" page.
"""

import logging

import pytest
from django.conf import settings
from django.test import Client

from ishibashi.core.request_ids import RequestIdFilter

TOO_BIG = b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
TOO_MANY_FIELDS = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))


@pytest.fixture
def log_lines():
    """What the console handler prints: the project's format, with the request id."""
    lines: list[logging.LogRecord] = []
    formatter = logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"])

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record)

    handler = Keep(level=logging.DEBUG)
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [(record, formatter.format(record)) for record in lines]
    root.removeHandler(handler)


def _anonymous_with_csrf_cookie() -> Client:
    # A visitor who opened a form: Django's CSRF check then reads the body (and meets its size).
    web = Client(enforce_csrf_checks=True)
    web.cookies["csrftoken"] = "a" * 32
    return web


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/accounts/signup/", b"a=" + TOO_BIG, 413, "大きすぎます"),
        ("/accounts/login/", TOO_MANY_FIELDS.encode(), 400, "読み取れません"),
    ],
)
def test_an_oversized_form_answers_a_page_and_logs_one_warning_without_a_traceback(
    log_lines, path, body, status, words
):
    response = _anonymous_with_csrf_cookie().post(
        path, body, content_type="application/x-www-form-urlencoded", HTTP_ACCEPT_LANGUAGE="ja"
    )

    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert words in page
    assert "Bad Request (400)" not in page
    request_id = response["X-Request-ID"]
    lines = [(r, text) for r, text in log_lines() if request_id in text]
    assert lines, "no log line carries the request id"
    assert all(record.levelno == logging.WARNING for record, _ in lines), lines
    assert all(record.exc_info is None and "Traceback" not in text for record, text in lines)
    assert any(path in text for _, text in lines)


@pytest.mark.django_db
def test_an_oversized_api_body_answers_413_in_the_api_shape_with_one_warning(log_lines):
    response = Client().post(
        "/api/v1/auth/signup",
        b'{"email": "' + TOO_BIG + b'"}',
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 413
    assert response.json() == {
        "code": "request_too_large",
        "message": "The request body is too large.",
    }
    lines = [(r, text) for r, text in log_lines() if response["X-Request-ID"] in text]
    assert [record.levelno for record, _ in lines] == [logging.WARNING]
    assert lines[0][0].exc_info is None


@pytest.mark.django_db
def test_a_host_header_that_is_not_ours_is_one_warning_without_a_traceback(log_lines):
    response = Client().get("/", HTTP_HOST="scanner.example")

    security = [(r, line) for r, line in log_lines() if r.name.startswith("django.security")]
    assert response.status_code == 400
    assert [r.levelname for r, _line in security] == ["WARNING"]
    assert all(r.exc_info is None and "Traceback" not in line for r, line in security)
    assert "scanner.example" in security[0][1]
