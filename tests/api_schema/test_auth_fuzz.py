"""Schemathesis fuzzes the auth and profile endpoints from the OpenAPI: never a server error."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from ishibashi.config.wsgi import application

# The marketplace endpoints need owned jobs and contracts: test_marketplace_fuzz.py covers them.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application).exclude(
    tag=["jobs", "proposals", "contracts"]
)
# Negative cases (wrong types, missing fields, NUL bytes) are where a 500 would hide.
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
    allow_x00=True,
)


@pytest.fixture
def bearer(db):
    from ishibashi.accounts.services import api_token_create, user_signup

    user = user_signup(
        email="fuzz@example.jp",
        password="hashi-wo-tataku-2026",
        display_name="fuzz",
        is_client=True,
        is_worker=True,
        email_verified=True,
    )
    return api_token_create(user=user, name="fuzz").secret


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_endpoint_answers_with_a_server_error(case, bearer):
    response = case.call(headers={"Authorization": f"Bearer {bearer}"})

    case.validate_response(response, checks=[schemathesis.checks.not_a_server_error])
