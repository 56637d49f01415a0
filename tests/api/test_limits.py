from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from anxin.api.app import create_app
from anxin.settings import Settings
from tests.api.conftest import Api, assert_problem

LIMIT = 2048


@pytest.fixture
def small(settings: Settings, auth: dict[str, str]) -> Iterator[Api]:
    tight = settings.model_copy(update={"max_body_bytes": LIMIT})
    with TestClient(create_app(tight), raise_server_exceptions=False) as client:
        yield Api(client, auth)


def _padded(body: dict[str, Any], size: int) -> bytes:
    """``body`` as JSON padded with whitespace to exactly ``size`` bytes."""
    raw = json.dumps(body).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


def _chunks(raw: bytes, size: int = 100) -> Iterator[bytes]:
    for start in range(0, len(raw), size):
        yield raw[start : start + size]


def test_declared_length_over_the_limit(small: Api) -> None:
    bank, wallet = small.funded(0)
    body = {"source": bank, "destination": wallet, "amount": 1, "asset": "CNY"}
    response = small.client.post(
        "/v1/transfers",
        content=_padded(body, LIMIT + 1),
        headers={**small.headers(), "content-type": "application/json"},
    )
    problem = assert_problem(response, 413, "payload_too_large")
    assert str(LIMIT) in problem["detail"]
    assert response.headers["connection"] == "close"
    assert small.balance(wallet)["posted"] == 0


def test_streamed_body_over_the_limit(small: Api) -> None:
    bank, wallet = small.funded(0)
    body = {"source": bank, "destination": wallet, "amount": 1, "asset": "CNY"}
    # A generator has no length: it is sent chunked, without Content-Length.
    response = small.client.post(
        "/v1/transfers",
        content=_chunks(_padded(body, LIMIT * 3)),
        headers={**small.headers(), "content-type": "application/json"},
    )
    assert_problem(response, 413, "payload_too_large")
    assert small.balance(wallet)["posted"] == 0


def test_bodies_up_to_the_limit_pass(small: Api) -> None:
    bank, wallet = small.funded(0)
    body = {"source": bank, "destination": wallet, "amount": 1, "asset": "CNY"}
    headers = {"content-type": "application/json"}
    exact = small.client.post(
        "/v1/transfers", content=_padded(body, LIMIT), headers={**small.headers(), **headers}
    )
    assert exact.status_code == 201, exact.text
    streamed = small.client.post(
        "/v1/transfers",
        content=_chunks(_padded(body, LIMIT)),
        headers={**small.headers(), **headers},
    )
    assert streamed.status_code == 201, streamed.text
    assert small.balance(wallet)["posted"] == 2


def test_limit_applies_to_every_route(small: Api) -> None:
    big = {"asset": "CNY", "label": "x" * (LIMIT * 2)}
    assert_problem(small.client.post("/v1/accounts", json=big, headers=small.auth), 413,
                   "payload_too_large")  # fmt: skip
    # Even before authentication: an anonymous client cannot make the server read a lot.
    assert_problem(small.client.post("/v1/accounts", json=big), 413, "payload_too_large")
    assert_problem(small.client.post("/nowhere", json=big), 413, "payload_too_large")
