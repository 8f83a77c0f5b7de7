"""Fixtures for notifications: a Japanese and an English reader, and a hire that tells them."""

from __future__ import annotations

import pytest

from ishibashi.contracts.services import hiring
from ishibashi.jobs import services as jobs_services
from ishibashi.jobs.tests.conftest import job_input, proposal_input


@pytest.fixture(autouse=True)
def _cheap_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def hanako(make_user):
    """A client (発注者) who reads Japanese."""
    return make_user(email="hanako@example.jp", display_name="発注 花子", is_worker=False)


@pytest.fixture
def taro(make_user):
    """A worker (受注者) who reads Japanese."""
    return make_user(email="taro@example.jp", display_name="受注 太郎", is_client=False)


@pytest.fixture
def emma(make_user):
    """A worker who chose English."""
    return make_user(
        email="emma@example.com",
        display_name="Emma Hill",
        is_client=False,
        preferred_language="en",
    )


@pytest.fixture
def hire():
    """hire(client, worker): a job, a proposal and the hire, through the real services."""

    def make(client, worker):
        job = jobs_services.job_create(client=client, data=job_input(), publish=True)
        proposal = jobs_services.proposal_create(
            worker=worker, job_id=job.pk, data=proposal_input()
        )
        return hiring.proposal_hire(client=client, proposal_id=proposal.pk)

    return make
