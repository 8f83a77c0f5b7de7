"""A delivery upload from anyone but the milestone's worker is refused before a byte of its body
is read, through the whole middleware stack as gunicorn calls it."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from ishibashi.contracts.models import Milestone
from ishibashi.contracts.services import milestone_fund, milestone_start
from ishibashi.contracts.tests.factories import deposit, hire


class Socket:
    """The request body as the server would stream it, counting what the application reads."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.body) if size is None or size < 0 else self.read_bytes + size
        chunk = self.body[self.read_bytes : end]
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def _send(path: str, body: bytes, **headers: str) -> tuple[int, bytes, Socket]:
    socket = Socket(body)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": MULTIPART_CONTENT,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": socket,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **headers,
    }
    status: list[str] = []
    chunks = WSGIHandler()(environ, lambda line, _headers: status.append(line))
    return int(status[0].split()[0]), b"".join(chunks), socket


@pytest.fixture
def started(make_user, settings, tmp_path) -> dict[str, Any]:
    settings.MEDIA_ROOT = tmp_path / "media"
    hanako = make_user(email="hanako@example.jp", is_worker=False)
    taro = make_user(email="taro@example.jp", is_client=False)
    third = make_user(email="third@example.jp")
    contract = hire(hanako, taro)
    milestone = contract.milestones.get(position=1)
    deposit(hanako, 100_000)
    milestone_fund(client=hanako, milestone_id=milestone.pk)
    milestone_start(worker=taro, milestone_id=milestone.pk)
    return {"hanako": hanako, "taro": taro, "third": third, "milestone": milestone}


BODY = encode_multipart(BOUNDARY, {"message": "納品です", "full_files": []}) + b"x" * 200_000


def _bearer(token_for: Any, user: Any) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token_for(user)}"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("who", "status", "code"),
    [("hanako", 403, "not_your_action"), ("third", 404, "not_found"), (None, 401, None)],
)
def test_an_api_upload_from_anyone_but_the_worker_is_refused_unread(
    started, token_for, who, status, code
):
    milestone: Milestone = started["milestone"]
    headers = _bearer(token_for, started[who]) if who else {}

    answered, content, socket = _send(
        f"/api/v1/milestones/{milestone.pk}/deliveries", BODY, **headers
    )

    assert answered == status
    assert socket.read_bytes == 0
    assert json.loads(content)["code"] == (code or "not_authenticated")
    assert milestone.deliveries.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_worker_upload_is_read_and_delivered(started, token_for):
    milestone: Milestone = started["milestone"]
    body = encode_multipart(
        BOUNDARY,
        {"message": "納品です", "full_files": [SimpleUploadedFile("手順書.pdf", b"%PDF-1.4 done")]},
    )

    answered, content, socket = _send(
        f"/api/v1/milestones/{milestone.pk}/deliveries", body, **_bearer(token_for, started["taro"])
    )

    assert answered == 201, content
    assert socket.read_bytes == len(body)
    assert milestone.deliveries.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_page_upload_from_the_client_is_refused_unread(started):
    milestone: Milestone = started["milestone"]
    browser = Client()
    browser.force_login(started["hanako"])
    csrf = "a" * 32  # a valid CSRF pair, so the refusal is not CSRF's (which reads the body)
    cookie = f"sessionid={browser.cookies['sessionid'].value}; csrftoken={csrf}"

    answered, _content, socket = _send(
        f"/contracts/{milestone.contract_id}/milestones/{milestone.pk}/deliver/",
        BODY,
        HTTP_COOKIE=cookie,
        HTTP_X_CSRFTOKEN=csrf,
    )

    assert answered == 403
    assert socket.read_bytes == 0
