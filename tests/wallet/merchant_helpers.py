"""Helpers for merchant, payment, mandate, webhook and transfer tests: merchants made through
the service, calls with a merchant key, a real HTTP receiver for webhooks on 127.0.0.1,
and a fee schedule. Import the fixtures a test module uses from here."""

from __future__ import annotations

import http.server
import itertools
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.service import balance_of
from anxin.models import Account, Notification, WalletAccount
from anxin.wallet import fees, merchants, points, webhooks
from anxin.wallet.webhooks import WebhookReport
from tests.wallet.conftest import Api, Person

FEE_BPS = 60  # 0.6 %: 100.00 CNY pays 0.60 CNY
_keys = itertools.count()


@dataclass
class Shop:
    id: str
    name: str
    key: str
    secret: str
    client: TestClient

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def call(self, method: str, path: str, *, key: str | None = "auto", **kwargs: Any) -> Any:
        headers = dict(self.headers)
        if key == "auto":
            key = f"k-{next(_keys)}"
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.request(method, f"/v1/merchant{path}", headers=headers, **kwargs)

    def post(self, path: str, json_body: Any = None, **kwargs: Any) -> Any:
        return self.call("POST", path, json=json_body, **kwargs)

    def get(self, path: str) -> Any:
        return self.call("GET", path, key=None)

    def intent(self, amount: int, **extra: Any) -> str:
        made = self.post("/payment-intents", {"amount": amount, "currency": "CNY", **extra})
        assert made.status_code == 201, made.text
        return str(made.json()["id"])


@pytest.fixture
def make_shop(client: TestClient, container: Container) -> Callable[..., Shop]:
    def make(name: str = "Happy Tea", webhook_url: str | None = None) -> Shop:
        with UnitOfWork(container.database) as unit:
            created = merchants.create_merchant(
                unit.session, container.keys.vault(), name=name, webhook_url=webhook_url,
                now=container.clock.now(),
            )  # fmt: skip
            unit.commit()
        return Shop(str(created.merchant.id), name, created.api_key, created.webhook_secret,
                    client)  # fmt: skip

    return make


@pytest.fixture
def payment_fee(container: Container) -> int:
    """A 0.6 % fee on payments, mandate debits and transfers in CNY."""
    with UnitOfWork(container.database) as unit:
        for operation in ("payment", "mandate_debit", "p2p"):
            fees.create_rule(
                unit.session, operation=operation, asset="CNY", basis_points=FEE_BPS, fixed=0,
                minimum=None, maximum=None, rounding="half_up",
                valid_from=container.clock.now() - timedelta(days=1), created_by=None,
                now=container.clock.now(),
            )  # fmt: skip
        unit.commit()
    return FEE_BPS


@pytest.fixture
def points_rule(container: Container) -> None:
    """One point per yuan paid, worth 1 fen each, lasting a year."""
    with UnitOfWork(container.database) as unit:
        points.create_rule(
            unit.session, asset="CNY", earn_points=1, earn_per=100, redeem_points=1,
            redeem_value=1, expiry_days=365, valid_from=container.clock.now() - timedelta(days=1),
            created_by=None, now=container.clock.now(),
        )  # fmt: skip
        unit.commit()


def fee_of(amount: int) -> int:
    return (amount * FEE_BPS + 5_000) // 10_000


def balance(container: Container, owner: str, asset: str = "CNY") -> dict[str, int]:
    """posted/pending/available of a wallet (``user:<id>``) or system (``system:<name>``)."""
    with UnitOfWork(container.database, write=False) as unit:
        link = unit.session.get(WalletAccount, (owner, asset))
        if link is None:
            return {"posted": 0, "pending": 0, "available": 0}
        account = unit.session.get(Account, link.account_id)
        assert account is not None
        found = balance_of(account)
        return {"posted": found.posted, "pending": found.pending, "available": found.available}


def wallet(container: Container, person: Person, asset: str = "CNY") -> dict[str, int]:
    return balance(container, f"user:{person.user_id}", asset)


def settlement(container: Container, shop: Shop) -> dict[str, int]:
    return balance(container, f"system:merchant_settlement:{shop.id}")


def notices(container: Container, person: Person) -> list[str]:
    """The kinds of the person's notifications, oldest first."""
    with UnitOfWork(container.database, write=False) as unit:
        query = select(Notification.kind).where(Notification.user_id == uuid.UUID(person.user_id))
        return list(unit.session.scalars(query.order_by(Notification.created_at, Notification.id)))


def confirm(api: Api, intent_id: str, *, key: str | None = None, **body: Any) -> Any:
    """Confirm as the holder, answering step-up if asked."""
    return api.call(
        "POST", f"/v1/me/payment-intents/{intent_id}/confirm", key=key or f"c-{next(_keys)}",
        stepped=True, json=body or None,
    )  # fmt: skip


def deliver(container: Container, **kwargs: Any) -> WebhookReport:
    return webhooks.deliver_due(
        container.database, container.keys, now=container.clock.now(), **kwargs
    )


# -- a real HTTP receiver -------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    got: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # status codes to answer, in turn

    def answer(self) -> int:
        return self.answers.pop(0) if self.answers else 204


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP server on 127.0.0.1 that records every POST (answering 204 unless told)."""
    state = Receiver(url="")
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            with lock:
                state.got.append(Received(self.path, dict(self.headers.items()), body))
                code = state.answer()
            self.send_response(code)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/anxin"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
