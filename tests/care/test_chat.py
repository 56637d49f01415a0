"""Chat end to end: a holder opens a chat, an agent answers, and each side's Server-Sent
Events stream receives what the other posted; a stream resumes after Last-Event-ID,
shows internal notes to staff only, and ends with the session; others' chats are 404."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from anxin.api.deps import Container
from anxin.care import chat_endpoints
from tests.care.conftest import Person
from tests.care.intake_helpers import all_tickets, conversation


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chat_endpoints, "POLL_SECONDS", 0.02)


def frames(response: Any) -> Iterator[dict[str, Any]]:
    """Server-Sent Events as {"event", "id", "data"}, skipping comments and bare retries."""
    frame: dict[str, Any] = {}
    for line in response.iter_lines():
        if not line:
            if "event" in frame:
                yield frame
            frame = {}
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(": ")
            frame[field] = json.loads(value) if field == "data" else value


def next_message(stream: Iterator[dict[str, Any]]) -> dict[str, Any]:
    for frame in stream:
        if frame["event"] == "message":
            return {"id": frame["id"], **frame["data"]}
        assert frame["event"] == "status", frame
    raise AssertionError("the stream ended")


def _open(client: TestClient, person: Person, body: str) -> dict[str, Any]:
    response = client.post("/v1/me/care/chats", json={"body": body}, headers=person.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_each_side_receives_what_the_other_posts(
    client: TestClient, container: Container, holder: Callable[..., Person], agent: Person
) -> None:
    person = holder()
    opened = _open(client, person, "My top-up failed but the bank took the money")
    chat_id = opened["ticket"]["id"]
    assert opened["new_chat"] is True
    assert opened["ticket"]["channel"] == "chat"
    agent_url = f"/v1/staff/care/chats/{chat_id}/events"
    holder_url = f"/v1/me/care/chats/{chat_id}/events"
    with client.stream("GET", agent_url, headers=agent.headers) as agent_side:
        assert agent_side.status_code == 200
        assert agent_side.headers["content-type"].startswith("text/event-stream")
        agent_events = frames(agent_side)
        first = next_message(agent_events)
        assert (first["author"], first["body"]) == (
            "customer", "My top-up failed but the bank took the money",
        )  # fmt: skip
        with client.stream("GET", holder_url, headers=person.headers) as holder_side:
            holder_events = frames(holder_side)
            assert next_message(holder_events)["author"] == "you"
            answer = {"body": "We see it; the bank returns it within a day."}
            reply = client.post(f"/v1/staff/care/chats/{chat_id}/messages", headers=agent.headers,
                                json=answer)  # fmt: skip
            assert reply.status_code == 201, reply.text
            seen = next_message(holder_events)
            assert (seen["author"], seen["body"]) == (
                "agent", "We see it; the bank returns it within a day.",
            )  # fmt: skip
            assert seen["id"] == reply.json()["id"]
            said = client.post(f"/v1/me/care/chats/{chat_id}/messages", headers=person.headers,
                               json={"body": "Thank you!"})  # fmt: skip
            assert said.status_code == 201 and said.json()["new_chat"] is False
        # The agent's stream got both, in order.
        assert next_message(agent_events)["body"] == "We see it; the bank returns it within a day."
        assert next_message(agent_events)["body"] == "Thank you!"
    [ticket] = all_tickets(container)
    assert ticket.channel == "chat" and ticket.status == "open"
    assert ticket.first_response_at is not None
    assert [(a, c) for a, _v, c, _b in conversation(container, ticket)] == [
        ("customer", "chat"), ("agent", "chat"), ("customer", "chat"),
    ]  # fmt: skip


def test_a_stream_resumes_after_last_event_id(
    client: TestClient, holder: Callable[..., Person], agent: Person
) -> None:
    person = holder()
    chat_id = _open(client, person, "Points missing")["ticket"]["id"]
    first = client.get(f"/v1/me/care/chats/{chat_id}/messages", headers=person.headers).json()
    client.post(f"/v1/staff/care/chats/{chat_id}/messages", headers=agent.headers,
                json={"body": "Which order?"})  # fmt: skip
    client.post(f"/v1/me/care/chats/{chat_id}/messages", headers=person.headers,
                json={"body": "Order 42"})  # fmt: skip
    headers = {**person.headers, "Last-Event-ID": first["last_event_id"]}
    with client.stream("GET", f"/v1/me/care/chats/{chat_id}/events", headers=headers) as stream:
        events = frames(stream)
        assert [next_message(events)["body"] for _ in range(2)] == ["Which order?", "Order 42"]
    after = {"after": first["last_event_id"]}
    later = client.get(f"/v1/me/care/chats/{chat_id}/messages", params=after,
                       headers=person.headers)  # fmt: skip
    assert [m["body"] for m in later.json()["data"]] == ["Which order?", "Order 42"]


def test_internal_notes_reach_staff_streams_only(
    client: TestClient, holder: Callable[..., Person], agent: Person
) -> None:
    person = holder()
    chat_id = _open(client, person, "Fee question")["ticket"]["id"]
    note = client.post(f"/v1/staff/care/tickets/{chat_id}/notes", headers=agent.headers,
                       json={"body": "Check the fee schedule v2"})  # fmt: skip
    assert note.status_code == 201, note.text
    client.post(f"/v1/staff/care/chats/{chat_id}/messages", headers=agent.headers,
                json={"body": "The fee is 0.1%"})  # fmt: skip
    with client.stream("GET", f"/v1/staff/care/chats/{chat_id}/events",
                       headers=agent.headers) as stream:  # fmt: skip
        events = frames(stream)
        seen = [next_message(events) for _ in range(3)]
    assert [(m["visibility"], m["body"]) for m in seen[1:]] == [
        ("internal", "Check the fee schedule v2"), ("public", "The fee is 0.1%"),
    ]  # fmt: skip
    mine = client.get(f"/v1/me/care/chats/{chat_id}/messages", headers=person.headers).json()
    assert [m["body"] for m in mine["data"]] == ["Fee question", "The fee is 0.1%"]


def test_the_stream_ends_with_the_session(
    client: TestClient, holder: Callable[..., Person]
) -> None:
    person = holder()
    chat_id = _open(client, person, "Hello")["ticket"]["id"]
    with client.stream("GET", f"/v1/me/care/chats/{chat_id}/events",
                       headers=person.headers) as stream:  # fmt: skip
        events = frames(stream)
        next_message(events)
        assert client.post("/v1/auth/signout", headers=person.headers).status_code == 204
        rest = [frame["event"] for frame in events]
    assert rest[-1] == "end"


def test_a_closed_chat_continues_in_a_new_linked_one(
    client: TestClient, container: Container, holder: Callable[..., Person], agent: Person
) -> None:
    person = holder()
    chat_id = _open(client, person, "Frozen funds")["ticket"]["id"]
    closed = client.post(f"/v1/staff/care/tickets/{chat_id}/status", headers=agent.headers,
                         json={"status": "closed"})  # fmt: skip
    assert closed.status_code == 200, closed.text
    again = client.post(f"/v1/me/care/chats/{chat_id}/messages", headers=person.headers,
                        json={"body": "Still frozen"})  # fmt: skip
    assert again.status_code == 201, again.text
    assert again.json()["new_chat"] is True
    new_id = again.json()["ticket"]["id"]
    assert new_id != chat_id
    staff_view = client.get(f"/v1/staff/care/tickets/{new_id}", headers=agent.headers).json()
    assert {"kind": "ticket", "ref": chat_id} in staff_view["links"]
    assert staff_view["channel"] == "chat"


def test_other_holders_and_other_channels_get_404(
    client: TestClient, holder: Callable[..., Person]
) -> None:
    alice, bob = holder(), holder()
    chat_id = _open(client, alice, "Mine")["ticket"]["id"]
    complaint = {"subject": "x", "body": "an app complaint"}
    app_ticket = client.post("/v1/me/care/tickets", headers=alice.headers,
                             json=complaint).json()["id"]  # fmt: skip
    for path in (f"{chat_id}/events", f"{chat_id}/messages", f"{uuid.uuid4()}/events",
                 f"{app_ticket}/messages"):  # fmt: skip
        who = alice if path.startswith(app_ticket) else bob
        response = client.get(f"/v1/me/care/chats/{path}", headers=who.headers)
        assert (response.status_code, response.json()["code"]) == (404, "chat_not_found"), path
    posted = client.post(f"/v1/me/care/chats/{chat_id}/messages", headers=bob.headers,
                         json={"body": "let me in"})  # fmt: skip
    assert posted.status_code == 404
