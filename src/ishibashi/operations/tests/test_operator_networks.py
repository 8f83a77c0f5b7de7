"""ISHIBASHI_OPERATOR_ALLOWED_NETWORKS: the operator area is a 404 from anywhere else."""

import pytest
from django.test import Client, override_settings

from conftest import log_in

INSIDE = "10.20.30.40"
OUTSIDE = "203.0.113.5"


@pytest.fixture
def staff(make_staff):
    user = make_staff(email="ops@example.jp")
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    return user


@override_settings(OPERATOR_ALLOWED_NETWORKS=["10.0.0.0/8", "2001:db8::/32"])
@pytest.mark.parametrize("path", ["/operations/books/", "/operator/admin/"])
def test_staff_outside_the_networks_get_the_404_of_a_page_that_is_not_there(staff, path):
    web = log_in(Client(), staff)

    outside = web.get(path, REMOTE_ADDR=OUTSIDE)
    inside = web.get(path, REMOTE_ADDR=INSIDE)
    inside_v6 = web.get(path, REMOTE_ADDR="2001:db8::7")

    assert outside.status_code == 404
    assert (inside.status_code, inside_v6.status_code) == (200, 200)


@override_settings(OPERATOR_ALLOWED_NETWORKS=["10.0.0.0/8"])
def test_the_operator_api_and_the_admin_log_in_are_hidden_too(staff, token_for):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(staff)}"}

    outside = Client().get("/api/v1/operations/books", REMOTE_ADDR=OUTSIDE, **auth)
    inside = Client().get("/api/v1/operations/books", REMOTE_ADDR=INSIDE, **auth)
    admin_login = Client().get("/operator/admin/login/", REMOTE_ADDR=OUTSIDE)

    assert (outside.status_code, outside.json()["code"]) == (404, "not_found")
    assert inside.status_code == 200
    assert admin_login.status_code == 404


@override_settings(OPERATOR_ALLOWED_NETWORKS=[])
def test_no_networks_named_means_anywhere(staff):
    assert log_in(Client(), staff).get("/operations/books/", REMOTE_ADDR=OUTSIDE).status_code == 200
