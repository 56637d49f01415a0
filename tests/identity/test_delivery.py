"""Delivery adapters: real SMTP to a loopback server, the fake SMS provider, `anxin dev`."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from anxin.api.app import create_app
from anxin.cli.main import app
from anxin.identity.delivery import (
    DeliveryFailed,
    FakeEmailSender,
    FakeSmsProvider,
    SmtpEmailSender,
    build_senders,
    read_log,
)
from anxin.identity.outbox import deliver_due
from anxin.kit.clock import ManualClock
from anxin.settings import Environment, Settings
from tests.identity.conftest import CODE, PASSWORD


class Inbox:
    """aiosmtpd handler keeping what arrives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content))
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_smtp_sender_delivers_to_a_real_server(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    sender = SmtpEmailSender("127.0.0.1", port, "Anxin <no-reply@anxin.example>")
    sender.send_email("zhang.wei@example.com", "安心验证码", "【安心】您的验证码是 123456")
    assert len(inbox.messages) == 1
    mail_from, recipients, message = inbox.messages[0]
    assert mail_from == "no-reply@anxin.example"
    assert recipients == ["zhang.wei@example.com"]
    assert message["To"] == "zhang.wei@example.com"
    assert str(message.get("Subject")) and message.get_content_charset() == "utf-8"
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert "123456" in payload.decode("utf-8")


def test_smtp_sender_adds_the_extra_headers_a_message_carries(
    smtp_server: tuple[Inbox, int],
) -> None:
    inbox, port = smtp_server
    sender = SmtpEmailSender("127.0.0.1", port, "Anxin <no-reply@anxin.example>")
    link = "https://anxin.example/status/subscriptions/unsubscribe?id=1&sig=2"
    headers = {"List-Unsubscribe": f"<{link}>",
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}  # fmt: skip
    sender.send_email("a@example.com", "s", "b", headers)
    message = inbox.messages[0][2]
    # A long value is folded onto the next line (RFC 5322); readers unfold it.
    assert "".join(str(message["List-Unsubscribe"]).split()) == f"<{link}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # A header cannot smuggle another one in, nor replace the sender's own.
    for bad in ({"X-Note": "a\r\nBcc: b@example.com"}, {"To": "b@example.com"}):
        with pytest.raises(ValueError):
            sender.send_email("a@example.com", "s", "b", bad)
    assert len(inbox.messages) == 1


def test_smtp_failure_is_a_retryable_delivery_failure() -> None:
    sender = SmtpEmailSender("127.0.0.1", _free_port(), "x@anxin.example", timeout=2)
    with pytest.raises(DeliveryFailed) as failed:
        sender.send_email("someone@example.com", "s", "b")
    # The error text is stored on the outbox row: it must not name the recipient.
    assert "someone" not in str(failed.value)


def test_settings_choose_smtp_or_the_fake(tmp_path: Path) -> None:
    with_smtp = build_senders(Settings(home=tmp_path, smtp_host="127.0.0.1", smtp_port=2525))
    assert isinstance(with_smtp.email, SmtpEmailSender)
    assert (with_smtp.email.host, with_smtp.email.port) == ("127.0.0.1", 2525)
    without = build_senders(Settings(home=tmp_path, env=Environment.TEST))
    assert isinstance(without.email, FakeEmailSender)
    assert isinstance(without.sms, FakeSmsProvider)


def test_fake_sms_keeps_messages_in_memory_and_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "dev-sms.jsonl"
    sms = FakeSmsProvider(path)
    sms.send_sms("+8613812345678", "【安心】您的验证码是 654321")
    sms.send_sms("+8613900000000", "other")
    assert sms.last_to("+8613812345678") is not None
    assert [m.recipient for m in sms.sent] == ["+8613812345678", "+8613900000000"]
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["body"] == "【安心】您的验证码是 654321"
    assert [m.body for m in read_log(path, limit=1)] == ["other"]


def test_anxin_dev_sms_prints_the_fake_outbox(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"ANXIN_HOME": str(tmp_path), "COLUMNS": "200"}
    empty = runner.invoke(app, ["dev", "sms"], env=env)
    assert empty.exit_code == 0 and "no SMS yet" in empty.output
    FakeSmsProvider(tmp_path / "dev-sms.jsonl").send_sms("+8613812345678", "code 246810")
    shown = runner.invoke(app, ["dev", "sms"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "+8613812345678" in shown.output and "246810" in shown.output
    FakeEmailSender(tmp_path / "dev-email.jsonl").send_email("a@example.com", "s", "hello mail")
    mail = runner.invoke(app, ["dev", "email"], env=env)
    assert mail.exit_code == 0 and "hello mail" in mail.output


def test_signup_code_arrives_by_smtp_through_the_outbox(
    settings: Settings, smtp_server: tuple[Inbox, int], clock: ManualClock
) -> None:
    inbox, port = smtp_server
    configured = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    with TestClient(create_app(configured, clock=clock)) as client:
        answer = client.post(
            "/v1/auth/signup", json={"email": "mail.me@example.com", "password": PASSWORD}
        )
        assert answer.status_code == 202, answer.text
        assert inbox.messages == []  # written to the outbox, not sent inside the request
        container = client.app.state.container  # type: ignore[attr-defined]
        report = deliver_due(
            container.database, container.keys, container.identity.senders, now=clock.now()
        )
    assert report.sent == 1
    ((_, recipients, message),) = inbox.messages
    assert recipients == ["mail.me@example.com"]
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes) and CODE.search(body.decode("utf-8"))


def test_anxin_dev_deliver_sends_the_outbox(
    settings: Settings, db_url: str, key_file: Path, client: TestClient
) -> None:
    assert (
        client.post(
            "/v1/auth/signup", json={"phone": "13812345678", "password": PASSWORD}
        ).status_code
        == 202
    )
    env = {
        "ANXIN_DATABASE_URL": db_url, "ANXIN_KEY_FILE": str(key_file), "ANXIN_ENV": "test",
        "ANXIN_HOME": str(settings.home), "COLUMNS": "200",
    }  # fmt: skip
    runner = CliRunner()
    sent = runner.invoke(app, ["dev", "deliver"], env=env)
    assert sent.exit_code == 0, sent.output
    assert "sent 1, failed 0" in sent.output
    shown = runner.invoke(app, ["dev", "sms"], env=env)
    assert "+8613812345678" in shown.output and CODE.search(shown.output)
