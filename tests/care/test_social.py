"""The social-media import: batches of posts become tickets of channel social, once each
(idempotent by platform and post id), for an API key with the care:import scope or a staff
member with care:lead; who posted where is kept in an internal note, encrypted."""

# ruff: noqa: RUF001

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from anxin.api.deps import Container
from anxin.apikeys.service import create_key
from anxin.kit.unit_of_work import UnitOfWork
from tests.care.conftest import Person
from tests.care.intake_helpers import all_tickets, assert_not_stored_in_plaintext, conversation

URL = "/v1/care/import/social"


def post(
    external_id: str, text: str = "安心钱包乱扣费，客服也不理人！", **extra: Any
) -> dict[str, Any]:
    return {"platform": "weibo", "external_id": external_id, "author": "@小王爱旅行",
            "text": text, "url": f"https://weibo.example/{external_id}",
            "posted_at": "2026-11-20T08:30:00+08:00", **extra}  # fmt: skip


def _key(container: Container, *scopes: str) -> dict[str, str]:
    with UnitOfWork(container.database) as uow:
        created = create_key(uow.session, name="social listener", scopes=list(scopes),
                             now=container.clock.now())  # fmt: skip
        uow.commit()
    return {"Authorization": f"Bearer {created.plaintext}"}


@pytest.fixture
def importer(container: Container) -> dict[str, str]:
    return _key(container, "care:import")


def test_posts_become_social_tickets_once(
    client: TestClient, container: Container, importer: dict[str, str]
) -> None:
    batch = {"posts": [post("4981"), post("4982", text="Points vanished from my Anxin wallet"),
                       post("4981")]}  # fmt: skip
    first = client.post(URL, json=batch, headers=importer)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["created"], body["duplicate"]) == (2, 1)
    assert [(t["external_ref"], t["created"]) for t in body["tickets"]] == [
        ("weibo:4981", True), ("weibo:4982", True), ("weibo:4981", False),
    ]  # fmt: skip
    assert body["tickets"][0]["reference"] == body["tickets"][2]["reference"]
    again = client.post(URL, json=batch, headers=importer).json()
    assert (again["created"], again["duplicate"]) == (0, 3)
    tickets = all_tickets(container)
    assert [(t.channel, t.external_ref) for t in tickets] == [
        ("social", "weibo:4981"), ("social", "weibo:4982"),
    ]  # fmt: skip
    assert [t.language for t in tickets] == ["zh", "en"]
    messages = conversation(container, tickets[0])
    assert messages[0] == ("customer", "public", "social", "安心钱包乱扣费，客服也不理人！")
    author, visibility, channel, note = messages[1]
    assert (author, visibility, channel) == ("system", "internal", "social")
    assert "@小王爱旅行" in note and "https://weibo.example/4981" in note
    assert_not_stored_in_plaintext(container, "@小王爱旅行", "安心钱包乱扣费",
                                   "https://weibo.example/4981")  # fmt: skip


def test_staff_with_care_lead_may_import(
    client: TestClient, container: Container, senior: Person, agent: Person,
    holder: Callable[..., Person],
) -> None:  # fmt: skip
    done = client.post(URL, json={"posts": [post("1")]}, headers=senior.headers)
    assert done.status_code == 200, done.text
    refused = client.post(URL, json={"posts": [post("2")]}, headers=agent.headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "missing_permission")
    as_holder = client.post(URL, json={"posts": [post("3")]}, headers=holder().headers)
    assert (as_holder.status_code, as_holder.json()["code"]) == (403, "wrong_account_kind")
    assert [t.external_ref for t in all_tickets(container)] == ["weibo:1"]


def test_keys_need_the_scope(client: TestClient, container: Container) -> None:
    ledger_key = _key(container, "ledger")
    refused = client.post(URL, json={"posts": [post("1")]}, headers=ledger_key)
    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope")
    anonymous = client.post(URL, json={"posts": [post("1")]})
    assert anonymous.status_code == 401
    forged = client.post(URL, json={"posts": [post("1")]},
                         headers={"Authorization": "Bearer anx_nope_nope"})  # fmt: skip
    assert (forged.status_code, forged.json()["code"]) == (401, "invalid_api_key")
    assert all_tickets(container) == []


@pytest.mark.parametrize(
    "batch",
    [
        {"posts": []},
        {"posts": [post("1", posted_at="2026-11-20T08:30:00")]},  # no time zone
        {"posts": [post("1", platform="we ibo")]},
        {"posts": [post("1", text="")]},
        {"posts": [post(str(n)) for n in range(501)]},
        {"posts": [{**post("1"), "extra": True}]},
    ],
)
def test_bad_batches_are_refused_whole(
    client: TestClient, container: Container, importer: dict[str, str], batch: dict[str, Any]
) -> None:
    response = client.post(URL, json=batch, headers=importer)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert all_tickets(container) == []
