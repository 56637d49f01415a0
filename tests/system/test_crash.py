"""The crash test: kill -9 the server while clients are paying, restart it, and check that
every acknowledged transfer is there exactly once, every unanswered one can be resolved by
replaying it, nothing was created twice, and the ledger still verifies.

Runs the real ``anxin serve`` on SQLite and on PostgreSQL. The clients use only the
standard library, like any server-to-server caller would.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from anxin import migrations
from anxin.apikeys.service import create_key
from anxin.kit.clock import SystemClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger import service
from tests.migrations.databases import empty_db_url
from tests.system.server import Server, anxin_env, run_anxin

__all__ = ["empty_db_url"]

pytestmark = pytest.mark.slow

CLIENTS = 8
WALLETS = 4
ACKS_BEFORE_KILL = 150  # let real traffic flow before pulling the plug
REQUEST_TIMEOUT = 10.0


@dataclass(frozen=True)
class Request:
    key: str
    body: dict[str, Any]

    @property
    def reference(self) -> str:
        reference: str = self.body["reference"]
        return reference


@dataclass
class Outcomes:
    acknowledged: dict[str, tuple[Request, dict[str, Any]]] = field(default_factory=dict)
    unanswered: list[Request] = field(default_factory=list)
    unexpected: list[tuple[Request, int, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Ledger:
    api_key: str
    bank: str
    wallets: list[str]


def _prepare(url: str) -> Ledger:
    database = Database(url)
    migrations.upgrade(database.engine)
    now = SystemClock().now()
    with UnitOfWork(database) as uow:
        key = create_key(uow.session, name="crash test", scopes=["ledger"], now=now)
        bank = service.create_account(uow.session, asset="CNY", allow_negative=True, now=now)
        wallets = [service.create_account(uow.session, asset="CNY", now=now)
                   for _ in range(WALLETS)]  # fmt: skip
        uow.commit()
    database.dispose()
    return Ledger(key.plaintext, str(bank.id), [str(w.id) for w in wallets])


class Client:
    """One keep-alive connection, reopened after any failure."""

    def __init__(self, port: int, api_key: str) -> None:
        self.port = port
        self.auth = {"Authorization": f"Bearer {api_key}"}
        self.connection: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        if self.connection is None:
            self.connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT
            )
        all_headers = {**self.auth, **(headers or {})}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        try:
            self.connection.request(method, path, body=payload, headers=all_headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        parsed = json.loads(data) if data else None
        return response.status, {k.lower(): v for k, v in response.getheaders()}, parsed

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _pay(port: int, ledger: Ledger, worker: int, stop: threading.Event,
         outcomes: Outcomes) -> None:  # fmt: skip
    client = Client(port, ledger.api_key)
    n = 0
    try:
        while not stop.is_set():
            n += 1
            reference = f"crash-{worker}-{n}"
            body = {
                "source": ledger.bank, "destination": ledger.wallets[(worker + n) % WALLETS],
                "amount": (worker * 7919 + n * 104729) % 997 + 1, "asset": "CNY",
                "reference": reference, "kind": "topup",
            }  # fmt: skip
            request = Request(key=f"key-{reference}", body=body)
            try:
                status, _, answer = client.request(
                    "POST", "/v1/transfers", body, {"Idempotency-Key": request.key}
                )
            except (OSError, http.client.HTTPException):
                with outcomes.lock:
                    outcomes.unanswered.append(request)
                if stop.is_set():
                    return
                time.sleep(0.01)
                continue
            with outcomes.lock:
                if status == 201:
                    outcomes.acknowledged[reference] = (request, answer)
                elif status == 503:  # "retry it": the same as no answer
                    outcomes.unanswered.append(request)
                else:
                    outcomes.unexpected.append((request, status, json.dumps(answer)))
    finally:
        client.close()


@pytest.fixture
def server_env(empty_db_url: str, tmp_path: Path, key_file: Path) -> dict[str, str]:
    return anxin_env(
        database_url=empty_db_url, home=str(tmp_path / "home"), env="test",
        key_file=str(key_file), log_level="warning",
    )  # fmt: skip


def _traffic_until_killed(server: Server, ledger: Ledger) -> Outcomes:
    outcomes = Outcomes()
    stop = threading.Event()
    threads = [
        threading.Thread(target=_pay, args=(server.port, ledger, i, stop, outcomes), daemon=True)
        for i in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 120
        while len(outcomes.acknowledged) < ACKS_BEFORE_KILL:
            assert time.monotonic() < deadline, f"too few answers:\n{server.log()[-3000:]}"
            assert not outcomes.unexpected, outcomes.unexpected[:3]
            time.sleep(0.01)
        server.kill()  # SIGKILL while requests are in flight
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT * 3)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def _by_reference(client: Client, reference: str) -> list[dict[str, Any]]:
    status, _, page = client.request("GET", f"/v1/transfers?reference={reference}")
    assert status == 200, page
    found: list[dict[str, Any]] = page["data"]
    return found


def _all_transfers(client: Client, account: str) -> Iterator[dict[str, Any]]:
    cursor = ""
    while True:
        status, _, page = client.request(
            "GET", f"/v1/transfers?account={account}&limit=1000{cursor}"
        )
        assert status == 200, page
        yield from page["data"]
        if page["next_cursor"] is None:
            return
        cursor = f"&cursor={page['next_cursor']}"


def test_kill_minus_nine_loses_and_duplicates_nothing(
    empty_db_url: str, server_env: dict[str, str], tmp_path: Path
) -> None:
    ledger = _prepare(empty_db_url)
    log = tmp_path / "server.log"

    first = Server(server_env, log)
    try:
        first.start().wait_healthy()
        outcomes = _traffic_until_killed(first, ledger)
    finally:
        first.kill()
    assert first.process is not None
    assert first.process.returncode == -9
    assert not outcomes.unexpected, outcomes.unexpected[:3]
    assert len(outcomes.acknowledged) >= ACKS_BEFORE_KILL

    with Server(server_env, log) as second:
        second.wait_healthy()
        client = Client(second.port, ledger.api_key)

        # Every acknowledged transfer survived, exactly once, as it was acknowledged.
        for reference, (request, answer) in outcomes.acknowledged.items():
            found = _by_reference(client, reference)
            assert [t["id"] for t in found] == [answer["id"]], reference
            assert found[0]["amount"] == request.body["amount"]
            assert found[0]["destination"] == request.body["destination"]

        # Replaying an acknowledged request returns the same transfer and moves nothing.
        for request, answer in list(outcomes.acknowledged.values())[:50]:
            status, headers, replay = client.request(
                "POST", "/v1/transfers", request.body, {"Idempotency-Key": request.key}
            )
            assert status == 201
            assert headers["idempotent-replayed"] == "true"
            assert replay == answer

        # Every unanswered request resolves by replaying it, whether or not it had been
        # committed before the kill; either way it then exists exactly once.
        resolved: dict[str, dict[str, Any]] = {}
        committed_before_kill = 0
        for request in outcomes.unanswered:
            status, headers, answer = client.request(
                "POST", "/v1/transfers", request.body, {"Idempotency-Key": request.key}
            )
            assert status == 201, answer
            committed_before_kill += headers.get("idempotent-replayed") == "true"
            found = _by_reference(client, request.reference)
            assert [t["id"] for t in found] == [answer["id"]], request.reference
            resolved[request.reference] = answer
        assert not set(resolved) & set(outcomes.acknowledged)

        # Balances are exactly the sum of what was acknowledged or resolved.
        amounts = [r.body for r, _ in outcomes.acknowledged.values()] + [
            r.body for r in outcomes.unanswered
        ]
        for wallet in ledger.wallets:
            expected = sum(b["amount"] for b in amounts if b["destination"] == wallet)
            status, _, balance = client.request("GET", f"/v1/accounts/{wallet}/balance")
            assert balance == {"posted": expected, "pending": 0, "available": expected}
        status, _, bank = client.request("GET", f"/v1/accounts/{ledger.bank}/balance")
        assert bank["posted"] == -sum(b["amount"] for b in amounts)
        on_bank = list(_all_transfers(client, ledger.bank))
        assert len(on_bank) == len(amounts)
        assert len({t["reference"] for t in on_bank}) == len(amounts)
        client.close()

    verify = run_anxin("ledger", "verify", env=server_env)
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith("ok: ")
    assert "hash chain intact" in verify.stdout
    print(  # numbers for the curious, not assertions
        f"acknowledged {len(outcomes.acknowledged)}, unanswered {len(outcomes.unanswered)} "
        f"(of which {committed_before_kill} had been committed before the kill)"
    )
