"""While the database cannot be reached, every request is told to retry: 503, never 500."""

import json
from collections.abc import Iterator

import pytest
from django.db import InterfaceError, connection
from django.test import Client, RequestFactory
from django.urls import get_resolver


@pytest.fixture
def unreachable_database() -> Iterator[None]:
    """The connection points at a database that cannot be reached, as during a restart."""
    original = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-dir/ishibashi.sqlite3"
    else:
        connection.settings_dict.update(HOST="127.0.0.1", PORT="1")
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)


@pytest.mark.django_db(transaction=True)
def test_an_api_call_gets_a_json_503_with_retry_after(unreachable_database):
    response = Client().get("/api/v1/wallet", HTTP_AUTHORIZATION="Bearer ish_whatever")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["code"] == "service_unavailable"
    assert body["retry_after_seconds"] == 5
    assert "しばらくしてから" in body["message"]


@pytest.mark.django_db(transaction=True)
def test_the_api_message_follows_accept_language(unreachable_database):
    response = Client().post(
        "/api/v1/auth/token",
        {"email": "someone@example.jp", "password": "x" * 12, "name": "cli"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 503
    assert response.json()["message"] == (
        "The service is briefly unavailable. Please try again shortly."
    )


@pytest.mark.django_db(transaction=True)
def test_a_page_gets_a_short_bilingual_503_page(unreachable_database):
    response = Client().get("/jobs/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "数秒後にもう一度お試しください" in page
    assert "Please try again in a few seconds" in page


def test_a_database_error_outside_a_view_is_a_503_too():
    # Django turns an exception raised by a middleware (the session saved after the view, say)
    # into a response through handler500, while the exception is being handled.
    handler = get_resolver().resolve_error_handler(500)
    request = RequestFactory().get("/contracts/1/")
    try:
        raise InterfaceError("connection already closed")
    except InterfaceError:
        response = handler(request)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_any_other_error_outside_a_view_is_still_a_500():
    handler = get_resolver().resolve_error_handler(500)
    request = RequestFactory().get("/contracts/1/")
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = handler(request)

    assert response.status_code == 500


def test_any_other_error_in_the_api_is_a_json_500():
    handler = get_resolver().resolve_error_handler(500)
    request = RequestFactory().get("/api/v1/contracts/1")
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = handler(request)

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["code"] == "server_error"


def test_a_database_lost_while_the_api_builds_its_answer_is_a_503():
    # The use case committed; a resolver then queried and pydantic wrapped the lost connection.
    from django.db import OperationalError
    from pydantic import BaseModel, ConfigDict

    class Contract:
        @property
        def terms_versions(self) -> list[int]:
            raise OperationalError("server closed the connection unexpectedly")

    class ContractOut(BaseModel):
        model_config = ConfigDict(from_attributes=True)
        terms_versions: list[int]

    handler = get_resolver().resolve_error_handler(500)
    request = RequestFactory().post("/api/v1/proposals/1/hire")
    try:
        ContractOut.model_validate(Contract())
    except Exception:
        response = handler(request)

    assert response.status_code == 503
    assert json.loads(response.content)["code"] == "service_unavailable"


def test_a_validation_error_that_is_not_the_database_is_still_a_500():
    from pydantic import BaseModel

    class Out(BaseModel):
        amount_jpy: int

    handler = get_resolver().resolve_error_handler(500)
    request = RequestFactory().get("/api/v1/contracts/1")
    try:
        Out.model_validate({"amount_jpy": "a lot"})
    except Exception:
        response = handler(request)

    assert response.status_code == 500
