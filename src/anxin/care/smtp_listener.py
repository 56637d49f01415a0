"""The inbound SMTP listener for complaint email (aiosmtpd), on a loopback port.

It sits behind the operator's mail server, which relays mail for the care address to
127.0.0.1:ANXIN_CARE_SMTP_PORT. Each message is handed, on a worker thread (the database
work is blocking), to a ``MailSink``; its answer becomes the SMTP reply, so a refusal is
a 5xx the relaying server reports, and a temporary failure (database down) is a 451 it
retries. Mail above ``max_bytes`` is refused with 552 at the end of DATA by aiosmtpd itself
(``data_size_limit``); the sink is told, so it can queue a bounce.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, AnyStr, Protocol

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
BANNER_NAME = "anxin-care"
TEMPORARY_FAILURE = "451 4.3.0 Temporary failure; please try again later"


class MailSink(Protocol):
    def receive(self, raw: bytes, envelope_from: str | None) -> str:
        """Take one message; return the SMTP reply line ("250 ...", "550 ...")."""
        ...

    def too_large(self, envelope_from: str | None) -> None:
        """A message was refused for its size (552 already sent)."""
        ...


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        raw = envelope.original_content or b""
        try:
            return await asyncio.to_thread(self.sink.receive, bytes(raw), envelope.mail_from)
        except Exception:  # the sender's server keeps the mail and retries
            log.exception("taking a complaint email failed")
            return TEMPORARY_FAILURE


class _CareSMTP(SMTP):
    """aiosmtpd's server, noticing its own size refusal at DATA so a bounce can follow."""

    def __init__(self, handler: _Handler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._care_handler = handler
        self._last_reply = ""

    async def push(self, status: AnyStr) -> None:
        self._last_reply = status if isinstance(status, str) else status.decode(errors="replace")
        await super().push(status)

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's command name
        envelope_from = self.envelope.mail_from if self.envelope is not None else None
        self._last_reply = ""
        await super().smtp_DATA(arg)
        if self._last_reply.startswith("552"):
            try:
                await asyncio.to_thread(self._care_handler.sink.too_large, envelope_from)
            except Exception:  # the refusal stands; only the courtesy bounce is lost
                log.exception("queueing the bounce of an oversized email failed")


class CareSmtpController(Controller):
    def factory(self) -> SMTP:
        return _CareSMTP(self.handler, **self.SMTP_kwargs)


def start_listener(sink: MailSink, *, port: int, max_bytes: int) -> CareSmtpController:
    """Listen on 127.0.0.1:``port`` on a thread of its own; ``stop()`` it when done."""
    controller = CareSmtpController(
        _Handler(sink), hostname=LOOPBACK, port=port, server_hostname=BANNER_NAME,
        data_size_limit=max_bytes,
    )  # fmt: skip
    controller.start()
    return controller
