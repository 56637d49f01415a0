"""Webhooks: Standard Webhooks signatures, delivery to a real HTTP receiver on 127.0.0.1,
retries with exponential backoff, giving up, and the background worker."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from anxin.api.deps import Container
from anxin.kit.clock import ManualClock
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import WebhookDelivery
from anxin.wallet import webhooks
from anxin.wallet.webhooks import InvalidSignature, WebhookWorker, backoff, sign, verify
from tests.wallet.conftest import Api, Person
from tests.wallet.merchant_helpers import (
    Receiver,
    Shop,
    confirm,
    deliver,
    make_shop,
    receiver,
)

__all__ = ["make_shop", "receiver"]  # fixtures used below

# The example in the Standard Webhooks specification.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID, SPEC_TIME, SPEC_BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_specification() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIME, SPEC_BODY) == SPEC_SIGNATURE
    at = datetime.fromtimestamp(SPEC_TIME, UTC)
    headers = {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TIME),
               "webhook-signature": f"v1,bm90LXRoaXM= {SPEC_SIGNATURE}"}  # fmt: skip
    verify(SPEC_SECRET, headers, SPEC_BODY, now=at)  # any one listed signature may match
    with pytest.raises(InvalidSignature):
        verify(SPEC_SECRET, headers, SPEC_BODY + b" ", now=at)
    with pytest.raises(InvalidSignature):
        verify(SPEC_SECRET, headers, SPEC_BODY, now=at + timedelta(minutes=6))
    with pytest.raises(InvalidSignature):
        verify("whsec_" + "A" * 44, headers, SPEC_BODY, now=at)


def test_backoff_doubles_up_to_a_cap() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff(30) == timedelta(hours=6)


def _confirmed(shop: Shop, holder: Callable[..., Person], api_for: Callable[[Person], Api],
               give: Callable[..., None]) -> str:  # fmt: skip
    person = holder()
    give(person, 100_00)
    intent_id = shop.intent(12_00, reference="order-9")
    assert confirm(api_for(person), intent_id).status_code == 200
    return intent_id


def test_events_reach_the_merchant_signed(
    make_shop: Callable[..., Shop], receiver: Receiver, holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None], container: Container,
) -> None:  # fmt: skip
    shop = make_shop(webhook_url=receiver.url)
    intent_id = _confirmed(shop, holder, api_for, give)
    assert shop.post(f"/payment-intents/{intent_id}/capture").status_code == 200
    report = deliver(container)
    assert (report.delivered, report.failed) == (2, 0)
    assert [r.json["type"] for r in receiver.got] == [
        "payment_intent.confirmed", "payment_intent.captured",
    ]  # fmt: skip
    for request in receiver.got:
        assert request.path == "/hooks/anxin"
        assert request.headers["webhook-id"].startswith("msg_")
        verify(shop.secret, request.headers, request.body, now=container.clock.now())
    captured = receiver.got[1].json["data"]
    assert (captured["id"], captured["status"], captured["reference"]) == (
        intent_id, "captured", "order-9",
    )  # fmt: skip
    assert "holder_id" not in captured  # nothing about the payer
    assert deliver(container).delivered == 0  # each event once
    listed = shop.get("/webhook-deliveries").json()["items"]
    assert {d["status"] for d in listed} == {"delivered"}
    assert {d["id"] for d in listed} == {r.headers["webhook-id"] for r in receiver.got}


def test_failures_are_retried_with_backoff_under_the_same_id(
    make_shop: Callable[..., Shop], receiver: Receiver, holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None], container: Container,
    clock: ManualClock,
) -> None:  # fmt: skip
    shop = make_shop(webhook_url=receiver.url)
    receiver.answers = [500, 503]
    _confirmed(shop, holder, api_for, give)
    assert deliver(container).failed == 1
    assert deliver(container).failed == 0  # not due yet: 10 s later
    clock.advance(timedelta(seconds=10))
    assert deliver(container).failed == 1  # second failure: next in 20 s
    clock.advance(timedelta(seconds=19))
    assert deliver(container).delivered == 0
    clock.advance(timedelta(seconds=1))
    assert deliver(container).delivered == 1
    assert len(receiver.got) == 3
    assert len({r.headers["webhook-id"] for r in receiver.got}) == 1
    # Each attempt is signed afresh with its own timestamp.
    assert len({r.headers["webhook-timestamp"] for r in receiver.got}) == 3
    with UnitOfWork(container.database, write=False) as unit:
        row = unit.session.query(WebhookDelivery).one()
        assert (row.status, row.attempts, row.last_status) == ("delivered", 3, 204)


def _closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/gone"


def test_unreachable_receiver_is_given_up_after_max_attempts(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None], container: Container,
    clock: ManualClock,
) -> None:  # fmt: skip
    shop = make_shop(webhook_url=_closed_port())
    _confirmed(shop, holder, api_for, give)
    gave_up = 0
    for _ in range(webhooks.MAX_ATTEMPTS):
        gave_up += deliver(container).gave_up
        clock.advance(timedelta(hours=7))
    assert gave_up == 1
    failed = shop.get("/webhook-deliveries?status=failed").json()["items"]
    assert len(failed) == 1
    assert failed[0]["attempts"] == webhooks.MAX_ATTEMPTS
    assert "Connection" in failed[0]["last_error"] or "refused" in failed[0]["last_error"]
    assert deliver(container).gave_up == 0


def test_no_url_no_event_and_bad_urls_refused(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None], container: Container,
) -> None:  # fmt: skip
    shop = make_shop()
    _confirmed(shop, holder, api_for, give)
    with UnitOfWork(container.database, write=False) as unit:
        assert unit.session.query(WebhookDelivery).count() == 0
    for url in ("ftp://example.com/x", "http:///nohost", "https://user:pw@example.com/x"):
        with pytest.raises(AnxinError):
            make_shop(webhook_url=url)


def test_the_worker_delivers_in_the_background(
    make_shop: Callable[..., Shop], receiver: Receiver, holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None], container: Container,
) -> None:  # fmt: skip
    shop = make_shop(webhook_url=receiver.url)
    _confirmed(shop, holder, api_for, give)
    worker = WebhookWorker(container.database, container.keys, container.clock,
                           interval=0.05).start()  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not receiver.got and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert [r.json["type"] for r in receiver.got] == ["payment_intent.confirmed"]
