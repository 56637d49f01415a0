"""Delivery adapters: how an email or SMS leaves the building.

Email goes over SMTP (``smtplib``) to ``ANXIN_SMTP_HOST``. SMS sits behind the
``SmsSender`` protocol: a real provider plugs in there; the fake one bundled here keeps
messages in memory and appends them to ``dev-sms.jsonl`` in ANXIN_HOME, which
``anxin dev sms`` prints for the demo. Without an SMTP host (development), emails go to a
fake the same way (``dev-email.jsonl``, ``anxin dev email``).

Senders raise ``DeliveryFailed`` for anything worth retrying; the outbox retries.
"""

from __future__ import annotations

import json
import logging
import smtplib
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol

from anxin.settings import Environment, Settings

log = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """The message did not go out; the outbox will try again later."""


@dataclass(frozen=True)
class Sent:
    channel: str
    recipient: str
    subject: str | None
    body: str
    at: str
    headers: dict[str, str] | None = None


class EmailSender(Protocol):
    # ``headers``: extra ones a message needs (List-Unsubscribe of the status emails).
    def send_email(
        self, recipient: str, subject: str, body: str, headers: Mapping[str, str] | None = None
    ) -> None: ...


class SmsSender(Protocol):
    def send_sms(self, recipient: str, body: str) -> None: ...


_OWN_HEADERS = {"from", "to", "subject", "message-id", "cc", "bcc"}


class SmtpEmailSender:
    def __init__(
        self, host: str, port: int, sender: str, *, starttls: bool = False,
        username: str | None = None, password: str | None = None, timeout: float = 15.0,
    ) -> None:  # fmt: skip
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self.password = starttls, username, password
        self.timeout = timeout

    def send_email(
        self, recipient: str, subject: str, body: str, headers: Mapping[str, str] | None = None
    ) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = recipient
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain="anxin")
        for name, value in (headers or {}).items():
            if name.lower() in _OWN_HEADERS:
                raise ValueError(f"the sender sets {name} itself")
            message[name] = value  # the email policy refuses line breaks in a value
        message.set_content(body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as error:
            # The recipient is personal data: never in the error text that gets stored.
            raise DeliveryFailed(f"SMTP {self.host}:{self.port}: {type(error).__name__}") from error


class _Recorder:
    """Keeps what was 'sent' in memory and, if given a file, appends it as JSON lines."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.sent: list[Sent] = []
        self._lock = threading.Lock()

    def _record(self, item: Sent) -> None:
        with self._lock:
            self.sent.append(item)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(asdict(item), ensure_ascii=False) + "\n")

    def last_to(self, recipient: str) -> Sent | None:
        with self._lock:
            for item in reversed(self.sent):
                if item.recipient == recipient:
                    return item
        return None


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


class FakeEmailSender(_Recorder):
    def send_email(
        self, recipient: str, subject: str, body: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self._record(Sent("email", recipient, subject, body, _now(),
                          dict(headers) if headers else None))  # fmt: skip


class FakeSmsProvider(_Recorder):
    def send_sms(self, recipient: str, body: str) -> None:
        self._record(Sent("sms", recipient, None, body, _now()))


def read_log(path: Path, limit: int = 20) -> list[Sent]:
    """The last ``limit`` messages a fake sender wrote (for ``anxin dev sms|email``)."""
    if not path.exists():
        return []
    items = []
    for line in path.read_text(encoding="utf-8").splitlines()[-limit:]:
        if line.strip():
            items.append(Sent(**json.loads(line)))
    return items


def sms_log_path(settings: Settings) -> Path:
    return settings.home / "dev-sms.jsonl"


def email_log_path(settings: Settings) -> Path:
    return settings.home / "dev-email.jsonl"


@dataclass
class Senders:
    email: EmailSender
    sms: SmsSender


def build_senders(settings: Settings) -> Senders:
    if settings.smtp_host:
        email: EmailSender = SmtpEmailSender(
            settings.smtp_host, settings.smtp_port, settings.smtp_sender,
            starttls=settings.smtp_starttls, username=settings.smtp_username,
            password=settings.smtp_password,
        )  # fmt: skip
    else:
        if settings.env is Environment.PRODUCTION:
            log.warning("ANXIN_SMTP_HOST is not set: emails are only written to %s",
                        email_log_path(settings))  # fmt: skip
        email = FakeEmailSender(email_log_path(settings))
    # No real SMS provider ships with Anxin: one plugs in behind SmsSender.
    return Senders(email=email, sms=FakeSmsProvider(sms_log_path(settings)))
