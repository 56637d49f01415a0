"""Back to the page after signing in: a holder sent to the sign-in from a page (a merchant's
/pay link, say) lands on it again, and ``?next=`` can never lead off the site."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from anxin.web.guard import return_path
from tests.identity.conftest import Person

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
NEXT = re.compile(r'name="next" value="([^"]*)"')


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        ("/pay/7d9c0c1e-0000-4000-8000-000000000001", "/pay/7d9c0c1e-0000-4000-8000-000000000001"),
        ("/statement?type=p2p", "/statement?type=p2p"),
        (None, "/wallet"),
        ("", "/wallet"),
        ("https://evil.example/", "/wallet"),
        ("//evil.example/pay", "/wallet"),
        ("/\\evil.example", "/wallet"),
        ("/pay\r\nSet-Cookie: x=1", "/wallet"),
        ("javascript:alert(1)", "/wallet"),
        ("/sign-in?next=/sign-in", "/wallet"),
        ("/sign-out", "/wallet"),
    ],
)
def test_return_path_stays_on_the_site(asked: str | None, kept: str) -> None:
    assert return_path(asked) == kept


def test_a_holder_signs_in_and_lands_on_the_page_that_sent_them(
    client: TestClient, holder: Callable[..., Person]
) -> None:
    person = holder()
    web = TestClient(client.app, base_url="https://testserver", raise_server_exceptions=False)
    wanted = f"/pay/{uuid.uuid4()}"
    sent = web.get(wanted, follow_redirects=False)
    assert sent.status_code == 303
    door = urlsplit(sent.headers["location"])
    assert door.path == "/sign-in" and parse_qs(door.query) == {"next": [wanted]}

    page = web.get(sent.headers["location"]).text
    found_next, found_token = NEXT.search(page), TOKEN.search(page)
    assert found_next is not None and found_token is not None
    assert found_next.group(1) == wanted
    signed_in = web.post(
        "/sign-in",
        data={"identifier": person.identifier, "password": person.password,
              "csrf_token": found_token.group(1), "next": found_next.group(1)},
        follow_redirects=False,
    )  # fmt: skip
    assert signed_in.status_code == 303, signed_in.text
    assert signed_in.headers["location"] == wanted


def test_a_forged_next_lands_on_the_wallet(
    client: TestClient, holder: Callable[..., Person]
) -> None:
    person = holder()
    web = TestClient(client.app, base_url="https://testserver", raise_server_exceptions=False)
    found = TOKEN.search(web.get("/sign-in?next=//evil.example/").text)
    assert found is not None
    signed_in = web.post(
        "/sign-in",
        data={"identifier": person.identifier, "password": person.password,
              "csrf_token": found.group(1), "next": "https://evil.example/"},
        follow_redirects=False,
    )  # fmt: skip
    assert signed_in.headers["location"] == "/wallet"
