"""The email channel end to end: a real smtplib client against the running listener, on
SQLite and PostgreSQL. New mail opens a ticket (channel email) and is acknowledged with its
reference; replies thread by the reference or by In-Reply-To/References; a verified holder
email links the holder; oversized and malformed mail is refused with 552/550 and a bounce
through the outbox; duplicates and auto-replies add nothing."""

# ruff: noqa: RUF001

from __future__ import annotations

import base64
import smtplib
import socket
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from anxin.api.deps import Container
from anxin.care import states
from anxin.care.email_intake import mail_listener
from anxin.care.sealing import message_body, ticket_subject
from anxin.care.smtp_listener import CareSmtpController
from anxin.identity.delivery import FakeEmailSender
from anxin.identity.outbox import DeliveryReport
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.care import Ticket, TicketLink, TicketMessage
from anxin.settings import Settings
from tests.care.intake_helpers import assert_not_stored_in_plaintext
from tests.identity.conftest import Person

MAX_BYTES = 8192
CARE = "care@anxin.example"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def listener(settings: Settings, container: Container) -> Iterator[CareSmtpController]:
    configured = settings.model_copy(
        update={"care_smtp_port": free_port(), "care_smtp_max_bytes": MAX_BYTES}
    )
    with mail_listener(
        configured, database=container.database, keys=container.keys, clock=container.clock
    ) as controller:
        assert controller is not None
        yield controller


def mail(sender: str, subject: str, body: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = CARE
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def send(listener: CareSmtpController, message: EmailMessage | bytes, sender: str) -> None:
    with smtplib.SMTP(listener.hostname, listener.port, timeout=30) as client:
        if isinstance(message, EmailMessage):
            client.send_message(message, from_addr=sender, to_addrs=[CARE])
        else:
            client.sendmail(sender, [CARE], message)


def tickets(container: Container) -> list[Ticket]:
    with UnitOfWork(container.database, write=False) as uow:
        rows = list(uow.session.scalars(select(Ticket).order_by(Ticket.created_at, Ticket.id)))
        uow.session.expunge_all()
        return rows


def bodies(container: Container, ticket: Ticket) -> list[str]:
    with UnitOfWork(container.database, write=False) as uow:
        vault = container.keys.vault()
        messages = uow.session.scalars(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket.id)
            .order_by(TicketMessage.created_at, TicketMessage.id)
        )
        return [message_body(uow.session, vault, m) for m in messages]


def test_a_new_email_opens_a_ticket_and_is_acknowledged(
    listener: CareSmtpController, container: Container, mailbox: FakeEmailSender,
    deliver: Callable[[], DeliveryReport],
) -> None:  # fmt: skip
    first_mail = mail("Wang Wu <Wang.Wu@example.com>", "钱包被盗刷", "我没有付款，但被扣了 88 元。",
                      Message_ID="<first@client.example>")  # fmt: skip
    send(listener, first_mail, "wang.wu@example.com")
    [ticket] = tickets(container)
    assert ticket.channel == "email"
    assert ticket.holder_id is None
    assert ticket.contact_kind == "email"
    assert ticket.language == "zh"
    with UnitOfWork(container.database, write=False) as uow:
        assert ticket_subject(uow.session, container.keys.vault(), ticket) == "钱包被盗刷"
        first = uow.session.scalars(select(TicketMessage)).one()
        assert first.email_message_id == "first@client.example"
        assert first.channel == "email"
    assert bodies(container, ticket) == ["我没有付款，但被扣了 88 元。"]
    deliver()
    ack = mailbox.last_to("wang.wu@example.com")
    assert ack is not None
    assert f"[{ticket.reference}]" in (ack.subject or "")
    assert_not_stored_in_plaintext(container, "wang.wu@example.com", "我没有付款", "钱包被盗刷")


def test_replies_thread_by_reference_and_by_headers(
    listener: CareSmtpController, container: Container
) -> None:
    sender = "li@example.com"
    send(listener, mail(sender, "Withdrawal stuck", "My withdrawal is stuck for 3 days.",
                        Message_ID="<m1@client.example>"), sender)  # fmt: skip
    [ticket] = tickets(container)
    by_reference = mail(
        sender, f"Re: [{ticket.reference}] Withdrawal stuck",
        "Still nothing.\n\nOn Mon, Anxin Care wrote:\n> We are looking into it",
        Message_ID="<m2@client.example>",
    )  # fmt: skip
    send(listener, by_reference, sender)
    by_headers = mail(sender, "Re: Withdrawal stuck", "Any news?",
                      Message_ID="<m3@client.example>", In_Reply_To="<unknown@elsewhere>",
                      References="<m1@client.example> <unknown@elsewhere>")  # fmt: skip
    send(listener, by_headers, sender)
    assert [t.id for t in tickets(container)] == [ticket.id]
    assert bodies(container, ticket) == [
        "My withdrawal is stuck for 3 days.", "Still nothing.", "Any news?",
    ]  # fmt: skip


def test_a_stranger_quoting_a_reference_gets_a_ticket_of_their_own(
    listener: CareSmtpController, container: Container
) -> None:
    send(listener, mail("owner@example.com", "Fees", "Why this fee?"), "owner@example.com")
    [theirs] = tickets(container)
    send(listener, mail("other@example.com", f"[{theirs.reference}] hello", "let me in"),
         "other@example.com")  # fmt: skip
    first, second = tickets(container)
    assert first.id == theirs.id
    assert bodies(container, theirs) == ["Why this fee?"]
    with UnitOfWork(container.database, write=False) as uow:
        link = uow.session.get(TicketLink, (second.id, "ticket", str(theirs.id)))
        assert link is not None


def test_a_verified_holder_email_links_the_holder(
    listener: CareSmtpController, container: Container, holder: Callable[..., Person]
) -> None:
    person = holder(email="Zhao.Liu@Example.com")
    send(listener, mail("赵六 <zhao.liu@example.com>", "Points missing", "My points vanished."),
         "zhao.liu@example.com")  # fmt: skip
    [ticket] = tickets(container)
    assert str(ticket.holder_id) == person.user_id
    assert ticket.channel == "email"


def test_a_gb2312_email_with_an_encoded_subject(
    listener: CareSmtpController, container: Container
) -> None:
    raw = (
        b"From: =?GB2312?B?1cXI/Q==?= <zs@example.com>\r\n"
        b"Subject: =?GB2312?B?zcu/7sO709C1vdXL?=\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=GB2312\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes("退款三天还没到账，请尽快处理。".encode("gb2312")).replace(
            b"\n", b"\r\n"
        )
    )
    send(listener, raw, "zs@example.com")
    [ticket] = tickets(container)
    with UnitOfWork(container.database, write=False) as uow:
        assert ticket_subject(uow.session, container.keys.vault(), ticket) == "退款没有到账"
    assert bodies(container, ticket) == ["退款三天还没到账，请尽快处理。"]


def test_oversized_mail_is_refused_with_552_and_bounced(
    listener: CareSmtpController, container: Container, mailbox: FakeEmailSender,
    deliver: Callable[[], DeliveryReport],
) -> None:  # fmt: skip
    message = mail("big@example.com", "Screenshots", "see attached")
    message.add_attachment(b"\0" * MAX_BYTES, maintype="image", subtype="png", filename="a.png")
    with smtplib.SMTP(listener.hostname, listener.port, timeout=30) as client:
        client.ehlo()
        client.mail("big@example.com")  # no SIZE declared: refused at DATA
        client.rcpt(CARE)
        code, _reply = client.data(message.as_bytes(policy=SMTP))
    assert code == 552
    assert tickets(container) == []
    deliver()
    bounce = mailbox.last_to("big@example.com")
    assert bounce is not None
    assert "larger than we accept" in bounce.body


def test_malformed_mail_is_refused_with_550_and_bounced(
    listener: CareSmtpController, container: Container, mailbox: FakeEmailSender,
    deliver: Callable[[], DeliveryReport],
) -> None:  # fmt: skip
    empty = b"From: empty@example.com\r\nSubject: =?utf-8?b?6YCA5qy+?=\r\n\r\n   \r\n"
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(listener, empty, "empty@example.com")
    assert refused.value.smtp_code == 550
    assert b"no text" in refused.value.smtp_error
    no_from = b"Subject: hello\r\n\r\nmy money\r\n"
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(listener, no_from, "envelope@example.com")
    assert refused.value.smtp_code == 550
    assert b"no From" in refused.value.smtp_error
    assert tickets(container) == []
    deliver()
    first = mailbox.last_to("empty@example.com")
    assert first is not None
    assert "no text" in first.body
    assert "退款" in (first.subject or "")
    second = mailbox.last_to("envelope@example.com")
    assert second is not None
    assert "no From address" in second.body


def test_duplicates_and_auto_replies_add_nothing(
    listener: CareSmtpController, container: Container
) -> None:
    original = mail("dup@example.com", "Fees", "Why this fee?", Message_ID="<same@client>")
    send(listener, original, "dup@example.com")
    send(listener, original, "dup@example.com")  # the relay retried after a lost reply
    [ticket] = tickets(container)
    away = mail("dup@example.com", f"Automatic reply: [{ticket.reference}] Fees",
                "I am on holiday", Auto_Submitted="auto-replied")  # fmt: skip
    send(listener, away, "dup@example.com")
    assert [t.id for t in tickets(container)] == [ticket.id]
    assert bodies(container, ticket) == ["Why this fee?"]


def test_a_reply_to_a_closed_ticket_opens_a_linked_one(
    listener: CareSmtpController, container: Container
) -> None:
    send(listener, mail("old@example.com", "Fees", "Why this fee?"), "old@example.com")
    [old] = tickets(container)
    with UnitOfWork(container.database) as uow:
        row = uow.session.get(Ticket, old.id)
        assert row is not None
        states.change_status(uow.session, container.keys.vault(), row, "closed",
                             now=container.clock.now(), tell=False)  # fmt: skip
        uow.commit()
    send(listener, mail("old@example.com", f"Re: [{old.reference}] Fees", "Again charged!"),
         "old@example.com")  # fmt: skip
    first, new = tickets(container)
    assert first.id == old.id
    assert new.channel == "email"
    assert bodies(container, new) == ["Again charged!"]
    with UnitOfWork(container.database, write=False) as uow:
        assert uow.session.get(TicketLink, (new.id, "ticket", str(old.id))) is not None
        count = uow.session.scalar(
            select(func.count()).select_from(TicketMessage).where(TicketMessage.ticket_id == old.id)
        )
        assert count == 1


def test_an_agents_reply_by_email_and_the_customers_answer_thread_back(
    listener: CareSmtpController, container: Container, client: TestClient, agent: Person,
    mailbox: FakeEmailSender, deliver: Callable[[], DeliveryReport],
) -> None:  # fmt: skip
    send(listener, mail("sun@example.com", "Refund", "Where is my refund?"), "sun@example.com")
    [ticket] = tickets(container)
    wait = {"body": "It was sent today.", "status": "pending_customer"}
    reply = client.post(f"/v1/staff/care/tickets/{ticket.id}/replies", headers=agent.headers,
                        json=wait)  # fmt: skip
    assert reply.status_code == 201, reply.text
    deliver()
    [answer] = [m for m in mailbox.sent if "It was sent today." in m.body]
    assert answer.recipient == "sun@example.com"
    # The customer's client answers the subject it got, quoting our mail line by line.
    quoted = "\n".join(f"> {line}" for line in answer.body.splitlines())
    send(listener, mail("sun@example.com", f"Re: {answer.subject}",
                        f"Got it, thanks.\n\n{quoted}"), "sun@example.com")  # fmt: skip
    [same] = tickets(container)
    assert same.id == ticket.id and same.status == "open"  # back from pending_customer
    assert bodies(container, ticket) == ["Where is my refund?", "It was sent today.",
                                         "Got it, thanks."]  # fmt: skip
