"""The health check tells a load balancer whether the database answers."""

import pytest
from django.db import connection
from django.test import Client


def test_healthz_is_200_when_the_database_answers(db):
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db(transaction=True)
def test_healthz_is_503_when_the_database_is_unreachable():
    # given: the connection points at a database that cannot be reached
    original = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-dir/ishibashi.sqlite3"
    else:
        connection.settings_dict.update(HOST="127.0.0.1", PORT="1")
    try:
        # when
        response = Client().get("/healthz")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)

    # then
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
