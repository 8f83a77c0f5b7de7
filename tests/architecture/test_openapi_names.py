"""The OpenAPI document's operation ids are public names: clients generate code from them."""

import re

import pytest


@pytest.mark.django_db
def test_operation_ids_name_the_app_and_the_endpoint_not_the_module_inside_the_api(client):
    document = client.get("/api/v1/openapi.json").json()
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]

    assert len(ids) == len(set(ids))
    assert [i for i in ids if not re.fullmatch(r"ishibashi_[a-z]+_api_[a-z_]+_endpoint", i)] == []
    # Ids from before the contracts API became a package, and the hire's from before it moved.
    assert "ishibashi_contracts_api_milestone_fund_endpoint" in ids
    assert "ishibashi_contracts_api_delivery_approve_endpoint" in ids
    assert "ishibashi_jobs_api_proposal_hire_endpoint" in ids
