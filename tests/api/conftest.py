"""Helpers for API tests: a thin client that fills in keys and a problem checker."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from anxin.api.app import create_app
from anxin.kit.clock import ManualClock
from anxin.settings import Settings
from tests.conftest import Keys
from tests.migrations.databases import empty_db_url

__all__ = ["empty_db_url"]

PROBLEM_JSON = "application/problem+json"
UNKNOWN_ID = "0190a000-0000-7000-8000-000000000000"
START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


def assert_problem(response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with this status and stable code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON, response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"] == f"https://anxin.dev/problems/{code.replace('_', '-')}"
    assert body["title"]
    return body


@dataclass
class Api:
    """The test client with the writer's key, and a fresh Idempotency-Key per call."""

    client: TestClient
    auth: dict[str, str]
    _keys: Iterator[int] = field(default_factory=itertools.count)

    def key(self) -> str:
        return f"key-{next(self._keys)}"

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {**self.auth, "Idempotency-Key": key or self.key()}

    def get(self, path: str, **params: Any) -> httpx2.Response:
        return self.client.get(path, params=params, headers=self.auth)

    def post(self, path: str, body: Any, *, key: str | None = None) -> httpx2.Response:
        return self.client.post(path, json=body, headers=self.headers(key))

    def account(self, asset: str = "CNY", **fields: Any) -> dict[str, Any]:
        response = self.client.post(
            "/v1/accounts", json={"asset": asset, **fields}, headers=self.auth
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def transfer(
        self, source: str, destination: str, amount: int, asset: str = "CNY", **fields: Any
    ) -> httpx2.Response:
        body = {
            "source": source, "destination": destination, "amount": amount, "asset": asset,
            **fields,
        }  # fmt: skip
        return self.post("/v1/transfers", body)

    def ok_transfer(self, source: str, destination: str, amount: int, **fields: Any) -> str:
        response = self.transfer(source, destination, amount, **fields)
        assert response.status_code == 201, response.text
        transfer_id: str = response.json()["id"]
        return transfer_id

    def balance(self, account_id: str) -> dict[str, int]:
        response = self.get(f"/v1/accounts/{account_id}/balance")
        assert response.status_code == 200, response.text
        balance: dict[str, int] = response.json()
        return balance

    def funded(self, amount: int, asset: str = "CNY") -> tuple[str, str]:
        """A bank (may go negative) and a wallet holding ``amount``."""
        bank = self.account(asset, allow_negative=True)["id"]
        wallet = self.account(asset)["id"]
        if amount:
            self.ok_transfer(bank, wallet, amount, asset=asset)
        return bank, wallet


@pytest.fixture
def api(client: TestClient, auth: dict[str, str]) -> Api:
    return Api(client, auth)


@pytest.fixture
def reader(api_keys: Keys) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_keys.reader}"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def _clocked(settings: Settings, clock: ManualClock, auth: dict[str, str],
             sweep_every: float) -> Iterator[Api]:  # fmt: skip
    tuned = settings.model_copy(update={"ledger_expiry_interval_seconds": sweep_every})
    with TestClient(create_app(tuned, clock=clock), raise_server_exceptions=False) as client:
        yield Api(client, auth)


@pytest.fixture
def clocked_api(settings: Settings, clock: ManualClock, auth: dict[str, str]) -> Iterator[Api]:
    """An API whose ledger runs on a manual clock; expired holds are never swept."""
    yield from _clocked(settings, clock, auth, sweep_every=3600)


@pytest.fixture
def sweeping_api(settings: Settings, clock: ManualClock, auth: dict[str, str]) -> Iterator[Api]:
    """An API on a manual clock whose ledger sweeps expired holds many times a second."""
    yield from _clocked(settings, clock, auth, sweep_every=0.02)
