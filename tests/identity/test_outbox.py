"""The delivery outbox: encrypted at rest, delivered at least once, retried with backoff."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from anxin.api.deps import Container
from anxin.identity.delivery import DeliveryFailed, FakeEmailSender, FakeSmsProvider, Senders
from anxin.identity.outbox import (
    LEASE,
    MAX_ATTEMPTS,
    SYSTEM_OWNER,
    OutboxWorker,
    backoff,
    deliver_due,
    enqueue,
)
from anxin.kit.clock import ManualClock
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import OutboxMessage


class FlakySms:
    """Fails the first ``failures`` sends."""

    def __init__(self, failures: int) -> None:
        self.failures, self.sent = failures, []  # type: ignore[var-annotated]

    def send_sms(self, recipient: str, body: str) -> None:
        if self.failures:
            self.failures -= 1
            raise DeliveryFailed("provider unavailable")
        self.sent.append((recipient, body))


def _enqueue(container: Container, **kwargs: Any) -> OutboxMessage:
    now = container.clock.now()
    with UnitOfWork(container.database) as uow:
        vault = container.keys.vault()
        owner = kwargs.pop("user_id", None)
        if owner is not None:
            vault.create_data_key(uow.session, owner, now)
        message = enqueue(uow.session, vault, user_id=owner, now=now, **kwargs)
        uow.commit()
        uow.session.expunge(message)
    return message


def _row(container: Container, message_id: Any) -> OutboxMessage:
    with UnitOfWork(container.database, write=False) as uow:
        row = uow.session.get(OutboxMessage, message_id)
        assert row is not None
        uow.session.expunge(row)  # stays readable after the unit of work rolls back
        return row


def test_content_is_encrypted_and_delivered_once(container: Container, tmp_path: Any) -> None:
    user_id = new_id()
    message = _enqueue(
        container, user_id=user_id, channel="sms", recipient="+8613812345678",
        body="【安心】您的验证码是 135790",
    )  # fmt: skip
    stored = _row(container, message.id)
    assert b"135790" not in stored.body_enc and b"13812345678" not in stored.recipient_enc
    assert stored.owner_id == user_id
    sms = FakeSmsProvider(None)
    senders = Senders(email=FakeEmailSender(None), sms=sms)
    now = container.clock.now()
    report = deliver_due(container.database, container.keys, senders, now=now)
    assert (report.sent, report.failed) == (1, 0)
    assert [(m.recipient, m.body) for m in sms.sent] == [
        ("+8613812345678", "【安心】您的验证码是 135790")
    ]
    assert _row(container, message.id).sent_at == now
    again = deliver_due(container.database, container.keys, senders, now=now + timedelta(hours=1))
    assert again.sent == 0 and len(sms.sent) == 1


def test_messages_without_a_user_use_the_system_key(container: Container) -> None:
    message = _enqueue(
        container, channel="email", recipient="ops@example.com", subject="s", body="hello"
    )
    assert _row(container, message.id).owner_id == SYSTEM_OWNER
    mail = FakeEmailSender(None)
    deliver_due(container.database, container.keys, Senders(mail, FakeSmsProvider(None)),
                now=container.clock.now())  # fmt: skip
    assert [(m.recipient, m.subject, m.body) for m in mail.sent] == [
        ("ops@example.com", "s", "hello")
    ]


def test_failures_retry_with_exponential_backoff(container: Container, clock: ManualClock) -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(30) == timedelta(hours=1)
    message = _enqueue(container, channel="sms", recipient="+8613812345678", body="hi")
    flaky = FlakySms(failures=2)
    senders = Senders(FakeEmailSender(None), flaky)  # type: ignore[arg-type]
    start = clock.now()
    first = deliver_due(container.database, container.keys, senders, now=start)
    assert first.failed == 1
    row = _row(container, message.id)
    assert row.attempts == 1 and row.last_error == "provider unavailable"
    assert row.next_attempt_at == start + timedelta(seconds=30)
    # Not due yet: nothing happens.
    early = deliver_due(
        container.database, container.keys, senders, now=start + timedelta(seconds=29)
    )
    assert (early.sent, early.failed) == (0, 0)
    second = deliver_due(
        container.database, container.keys, senders, now=start + timedelta(seconds=30)
    )
    assert second.failed == 1
    assert _row(container, message.id).next_attempt_at == start + timedelta(seconds=90)
    third = deliver_due(
        container.database, container.keys, senders, now=start + timedelta(seconds=90)
    )
    assert third.sent == 1 and flaky.sent == [("+8613812345678", "hi")]
    done = _row(container, message.id)
    assert done.sent_at is not None and done.last_error is None and done.attempts == 3


def test_a_crash_mid_send_means_it_is_sent_again(container: Container, clock: ManualClock) -> None:
    """At least once: a claimed message whose worker died is retried after the lease."""
    message = _enqueue(container, channel="sms", recipient="+8613812345678", body="again")

    class Dies:
        def send_sms(self, recipient: str, body: str) -> None:
            raise KeyboardInterrupt  # the process goes away mid-send

    start = clock.now()
    dying = Senders(FakeEmailSender(None), Dies())  # type: ignore[arg-type]
    with contextlib.suppress(KeyboardInterrupt):
        deliver_due(container.database, container.keys, dying, now=start)
    claimed = _row(container, message.id)
    assert claimed.sent_at is None and claimed.next_attempt_at == start + LEASE
    sms = FakeSmsProvider(None)
    senders = Senders(FakeEmailSender(None), sms)
    assert deliver_due(container.database, container.keys, senders, now=start + LEASE / 2).sent == 0
    assert deliver_due(container.database, container.keys, senders, now=start + LEASE).sent == 1
    assert [m.body for m in sms.sent] == ["again"]


def test_gives_up_after_max_attempts_and_on_erased_data(
    container: Container, clock: ManualClock
) -> None:
    hopeless = _enqueue(container, channel="sms", recipient="+8613812345678", body="x")
    user_id = new_id()
    erased = _enqueue(
        container, user_id=user_id, channel="sms", recipient="+8613812345678", body="y"
    )
    with UnitOfWork(container.database) as uow:
        container.keys.vault().shred(uow.session, user_id, clock.now())
        uow.commit()
    senders = Senders(FakeEmailSender(None), FlakySms(failures=10**6))  # type: ignore[arg-type]
    now = clock.now()
    gave_up = 0
    for _ in range(MAX_ATTEMPTS + 2):
        gave_up += deliver_due(container.database, container.keys, senders, now=now).gave_up
        now += timedelta(hours=2)
    assert gave_up == 2
    assert _row(container, hopeless.id).attempts == MAX_ATTEMPTS
    dead = _row(container, erased.id)
    assert dead.attempts == MAX_ATTEMPTS and dead.last_error == "not sendable: personal_data_erased"
    with UnitOfWork(container.database, write=False) as uow:
        assert uow.session.scalars(select(OutboxMessage.sent_at)).all() == [None, None]


def test_the_worker_thread_delivers(container: Container, clock: ManualClock) -> None:
    _enqueue(container, channel="sms", recipient="+8613812345678", body="from the worker")
    sms = FakeSmsProvider(None)
    worker = OutboxWorker(
        container.database, container.keys, Senders(FakeEmailSender(None), sms), clock,
        interval=0.01,
    ).start()  # fmt: skip
    try:
        for _ in range(6000):  # up to a minute on a busy machine
            if sms.sent:
                break
            worker._stop.wait(0.01)  # polls, never asserts on how long it took
    finally:
        worker.stop()
    assert [m.body for m in sms.sent] == ["from the worker"]
