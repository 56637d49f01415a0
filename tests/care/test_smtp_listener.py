"""The SMTP listener itself, with a real smtplib client: what the sink answers is what the
client hears, oversized mail is refused with 552 at DATA and reported to the sink, and a
crashing sink is a temporary failure the sender's server retries."""

from __future__ import annotations

import smtplib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from anxin.care.smtp_listener import CareSmtpController, start_listener

MAX_BYTES = 4096


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RecordingSink:
    reply: str = "250 2.0.0 OK"
    crash: bool = False
    received: list[tuple[bytes, str | None]] = field(default_factory=list)
    oversized: list[str | None] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def receive(self, raw: bytes, envelope_from: str | None) -> str:
        if self.crash:
            raise RuntimeError("database went away")
        self.received.append((raw, envelope_from))
        return self.reply

    def too_large(self, envelope_from: str | None) -> None:
        self.oversized.append(envelope_from)
        self.done.set()


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def listener(sink: RecordingSink) -> Iterator[CareSmtpController]:
    controller = start_listener(sink, port=free_port(), max_bytes=MAX_BYTES)
    yield controller
    controller.stop()


def _send(controller: CareSmtpController, body: bytes, sender: str = "a@example.com") -> None:
    with smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client:
        client.sendmail(sender, ["care@anxin.example"], body)


MESSAGE = b"From: a@example.com\r\nSubject: hi\r\n\r\nmy money is gone\r\n"


def test_the_listener_is_on_loopback_and_hands_over_the_raw_message(
    listener: CareSmtpController, sink: RecordingSink
) -> None:
    assert listener.hostname == "127.0.0.1"
    _send(listener, MESSAGE)
    [(raw, envelope_from)] = sink.received
    assert b"my money is gone" in raw
    assert envelope_from == "a@example.com"


def test_the_sinks_refusal_is_the_smtp_reply(
    listener: CareSmtpController, sink: RecordingSink
) -> None:
    sink.reply = "550 5.6.0 Malformed message: the message has no From address"
    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send(listener, b"Subject: hi\r\n\r\ntext\r\n")
    assert refused.value.smtp_code == 550
    assert b"no From address" in refused.value.smtp_error


def test_oversized_mail_is_refused_at_data_and_reported(
    listener: CareSmtpController, sink: RecordingSink
) -> None:
    big = MESSAGE + (b"x" * 70 + b"\r\n") * (MAX_BYTES // 70 + 10)
    with smtplib.SMTP(listener.hostname, listener.port, timeout=10) as client:
        # Step by step: sendmail() would declare SIZE and be refused before DATA.
        client.ehlo()
        client.mail("big@example.com")
        client.rcpt("care@anxin.example")
        code, reply = client.data(big)
    assert code == 552, reply
    assert sink.done.wait(10)
    assert sink.oversized == ["big@example.com"]
    assert sink.received == []


def test_a_declared_size_above_the_limit_is_refused_before_data(
    listener: CareSmtpController, sink: RecordingSink
) -> None:
    big = MESSAGE + b"x" * MAX_BYTES
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        _send(listener, big)
    assert refused.value.smtp_code == 552
    assert sink.received == []
    assert sink.oversized == []  # refused before DATA: the sending server tells its user


def test_the_size_limit_is_announced(listener: CareSmtpController) -> None:
    with smtplib.SMTP(listener.hostname, listener.port, timeout=10) as client:
        client.ehlo()
        assert client.esmtp_features["size"] == str(MAX_BYTES)


def test_a_crashing_sink_is_a_temporary_failure(
    listener: CareSmtpController, sink: RecordingSink
) -> None:
    sink.crash = True
    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send(listener, MESSAGE)
    assert refused.value.smtp_code == 451
    # The connection survives: the next message goes through.
    sink.crash = False
    _send(listener, MESSAGE)
    assert len(sink.received) == 1
