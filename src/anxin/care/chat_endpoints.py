"""Chat over HTTP: holders open chats and write in them (``/v1/me/care/chats``), agents
answer (``/v1/staff/care/chats``, ``care:work``), and both follow the conversation live on
a Server-Sent Events stream (``GET .../events``, ``text/event-stream``).

Each message is an event whose ``id`` is the message id; a browser's ``EventSource``
reconnects with ``Last-Event-ID`` and the stream resumes after it. The stream polls the
database in short read transactions (no transaction stays open while it waits), sends a
comment line as a keep-alive when quiet, and ends when the caller's session does (the
client reconnects with a fresh session, or not at all).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse

from anxin.api.deps import Container, ContainerDep, ReadUoW, WriteUoW
from anxin.care import chat, views
from anxin.care.errors import TicketNotFound
from anxin.care.intake_schemas import ChatHistory, ChatIn, ChatMessageOut, ChatOut
from anxin.care.tickets import survivor
from anxin.identity import sessions
from anxin.identity.deps import AuthContext, HolderAuth, require_permission
from anxin.kit.ids import parse_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Session as AuthSession
from anxin.models import User
from anxin.privacy import access_log

holder_router = APIRouter(prefix="/v1/me/care/chats", tags=["care chat"])
staff_router = APIRouter(prefix="/v1/staff/care/chats", tags=["care chat"])
CareWork = Annotated[AuthContext, Depends(require_permission("care:work"))]
# How often a stream looks for new messages; tests shorten it.
POLL_SECONDS = 0.5
LastEventId = Annotated[
    str | None,
    Header(alias="Last-Event-ID", description="Resume after this event (sent by EventSource)."),
]
_STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "`message` and `status` events."}
}


def _out(event: chat.ChatEvent) -> ChatMessageOut:
    return ChatMessageOut(id=event.id, author=event.author, visibility=event.visibility,
                          body=event.body, created_at=event.created_at)  # fmt: skip


# -- the stream ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reader:
    session_id: uuid.UUID
    user_id: uuid.UUID
    ticket_id: uuid.UUID
    staff: bool


def _poll(
    container: Container, reader: _Reader, cursor: uuid.UUID | None
) -> tuple[list[chat.ChatEvent], str] | None:
    """New events and the chat's state, or None once the reader's session has ended."""
    with UnitOfWork(container.database, write=False) as uow:
        row = uow.session.get(AuthSession, reader.session_id)
        user = uow.session.get(User, reader.user_id)
        if row is None or user is None or user.status != "active":
            return None
        if not sessions.is_live(row, container.clock.now()):
            return None
        try:
            if reader.staff:
                ticket = chat.staff_chat(uow.session, reader.ticket_id)
            else:
                ticket = chat.holder_chat(uow.session, user, reader.ticket_id)
        except TicketNotFound:  # erased with a closed account
            return None
        vault = container.keys.vault()
        events = chat.events_after(uow.session, vault, ticket, cursor, staff=reader.staff)
        return events, survivor(uow.session, ticket).status


def _frame(event: str, data: str, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {data}\n\n"


async def _events(
    container: Container, reader: _Reader, cursor: uuid.UUID | None
) -> AsyncIterator[str]:
    heartbeat = container.settings.care_chat_heartbeat_seconds
    yield "retry: 3000\n\n"
    status: str | None = None
    quiet_since = time.monotonic()
    while True:
        polled = await anyio.to_thread.run_sync(_poll, container, reader, cursor)
        if polled is None:
            yield _frame("end", json.dumps({"reason": "session_ended"}))
            return
        events, state = polled
        for event in events:
            cursor = event.id
            yield _frame("message", _out(event).model_dump_json(), str(event.id))
        if state != status:
            status = state
            yield _frame("status", json.dumps({"status": state}))
        if events:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= heartbeat:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
        await anyio.sleep(POLL_SECONDS)


def _stream(container: Container, reader: _Reader, last_event_id: str | None,
            after: uuid.UUID | None) -> StreamingResponse:  # fmt: skip
    cursor = parse_id(last_event_id.strip()) if last_event_id else None
    return StreamingResponse(
        _events(container, reader, cursor or after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# -- holders ------------------------------------------------------------------------------


@holder_router.post("", status_code=201, response_model=ChatOut)
def open_chat(body: ChatIn, auth: HolderAuth, uow: WriteUoW) -> ChatOut:
    """Start a chat with customer care; your first message opens it (a ticket of channel
    `chat`). Follow it on `GET /v1/me/care/chats/{id}/events`."""
    ticket = chat.open_chat(uow.session, auth.vault, auth.user, body=body.body, now=auth.now)
    [first] = chat.events_after(uow.session, auth.vault, ticket, None, staff=False)
    out = ChatOut(ticket=views.holder_summary(uow.session, auth.vault, ticket),
                  message=_out(first), new_chat=True)  # fmt: skip
    uow.commit()
    return out


@holder_router.post("/{ticket_id}/messages", status_code=201, response_model=ChatOut)
def say(ticket_id: uuid.UUID, body: ChatIn, auth: HolderAuth, uow: WriteUoW) -> ChatOut:
    """Write in your chat. On a closed chat, your message starts a new one (`new_chat`)."""
    ticket = chat.holder_chat(uow.session, auth.user, ticket_id, for_update=True)
    landed, message, new_chat = chat.say(uow.session, auth.vault, auth.user, ticket,
                                         body=body.body, now=auth.now)  # fmt: skip
    out = ChatOut(
        ticket=views.holder_summary(uow.session, auth.vault, landed),
        message=ChatMessageOut(id=message.id, author="you", visibility="public", body=body.body,
                               created_at=message.created_at),
        new_chat=new_chat,
    )  # fmt: skip
    uow.commit()
    return out


@holder_router.get("/{ticket_id}/messages", response_model=ChatHistory)
def history(
    ticket_id: uuid.UUID, auth: HolderAuth, uow: ReadUoW,
    after: Annotated[uuid.UUID | None, Query(description="Only messages after this one.")] = None,
) -> ChatHistory:  # fmt: skip
    """The chat so far (or after a message): for catching up without the stream."""
    ticket = chat.holder_chat(uow.session, auth.user, ticket_id)
    events = chat.events_after(uow.session, auth.vault, ticket, after, staff=False)
    return ChatHistory(data=[_out(e) for e in events],
                       last_event_id=events[-1].id if events else after)  # fmt: skip


@holder_router.get("/{ticket_id}/events", response_class=StreamingResponse,
                   responses=_STREAM_RESPONSES)  # fmt: skip
def holder_events(
    ticket_id: uuid.UUID, auth: HolderAuth, uow: WriteUoW, container: ContainerDep,
    last_event_id: LastEventId = None,
    after: Annotated[uuid.UUID | None, Query(description="Start after this message.")] = None,
) -> StreamingResponse:  # fmt: skip
    """Your chat live (Server-Sent Events): every message (`message`, with its id as the
    event id) and each change of state (`status`); resumes after `Last-Event-ID`."""
    chat.holder_chat(uow.session, auth.user, ticket_id)
    uow.commit()  # nothing stays open while the stream runs
    reader = _Reader(auth.session.id, auth.user.id, ticket_id, staff=False)
    return _stream(container, reader, last_event_id, after)


# -- agents -------------------------------------------------------------------------------


@staff_router.post("/{ticket_id}/messages", status_code=201, response_model=ChatMessageOut)
def answer(ticket_id: uuid.UUID, body: ChatIn, auth: CareWork, uow: WriteUoW) -> ChatMessageOut:
    """Answer in a chat (a public reply; the holder sees it on their stream at once)."""
    ticket = chat.staff_chat(uow.session, ticket_id, for_update=True)
    message = chat.answer(uow.session, auth.vault, auth.user, ticket, body=body.body,
                          now=auth.now)  # fmt: skip
    out = ChatMessageOut(id=message.id, author="agent", visibility="public", body=body.body,
                         created_at=message.created_at)  # fmt: skip
    uow.commit()
    return out


@staff_router.get("/{ticket_id}/events", response_class=StreamingResponse,
                  responses=_STREAM_RESPONSES)  # fmt: skip
def staff_events(
    ticket_id: uuid.UUID, auth: CareWork, uow: WriteUoW, container: ContainerDep,
    last_event_id: LastEventId = None,
    after: Annotated[uuid.UUID | None, Query(description="Start after this message.")] = None,
) -> StreamingResponse:  # fmt: skip
    """A chat live for agents: the customer's and agents' messages and internal notes.
    Opening it is recorded in the holder's access log."""
    ticket = chat.staff_chat(uow.session, ticket_id)
    if ticket.holder_id is not None:
        access_log.record(uow.session, staff=auth.user, holder_id=ticket.holder_id,
                          action="care_chat_read", fields=["complaint"],
                          purpose={"ticket": ticket.reference}, now=auth.now)  # fmt: skip
    uow.commit()
    reader = _Reader(auth.session.id, auth.user.id, ticket_id, staff=True)
    return _stream(container, reader, last_event_id, after)
