"""Domain errors and their rendering as RFC 9457 problem documents."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from anxin.api.problems import PROBLEM_JSON, install
from anxin.kit import errors
from anxin.kit.errors import AnxinError
from anxin.ledger.errors import (
    REJECTIONS,
    AccountNotFound,
    IdempotencyKeyInFlight,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    rejection_error,
)

CASES: list[tuple[AnxinError, int, str]] = [
    (AnxinError(), 400, "bad_request"),
    (errors.NotFound("no such thing"), 404, "not_found"),
    (errors.Conflict(), 409, "conflict"),
    (errors.Unprocessable(), 422, "unprocessable"),
    (errors.Forbidden(), 403, "forbidden"),
    (errors.PayloadTooLarge(), 413, "payload_too_large"),
    (errors.ServiceUnavailable(), 503, "service_unavailable"),
    (AccountNotFound("account x not found"), 404, "account_not_found"),
    (IdempotencyKeyInFlight(), 409, "idempotency_key_in_flight"),
    (IdempotencyKeyReused(), 422, "idempotency_key_reused"),
    (IdempotencyKeyRequired(), 400, "idempotency_key_required"),
    (rejection_error("insufficient_funds", "available 3, needed 5"), 422, "insufficient_funds"),
    (rejection_error("transfer_not_found"), 404, "transfer_not_found"),
    (
        errors.Conflict("taken", code="name_taken", status=409, title="Name taken"),
        409,
        "name_taken",
    ),
]


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    install(app)

    @app.get("/raise/{index}")
    def _raise(index: int) -> None:
        raise CASES[index][0]

    @app.get("/unauthorized")
    def _unauthorized() -> None:
        raise errors.Unauthorized()

    @app.get("/extra")
    def _extra() -> None:
        raise errors.Unprocessable("bad", code="limit", limit=5, errors=[{"field": "x"}])

    @app.get("/bug")
    def _bug() -> None:
        raise RuntimeError("secret internals")

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize("index", range(len(CASES)))
def test_each_error_renders_its_status_and_code(client: TestClient, index: int) -> None:
    error, status, code = CASES[index]
    response = client.get(f"/raise/{index}")
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"] == error.title
    assert body["detail"] == error.detail
    assert body["type"] == f"https://anxin.dev/problems/{code.replace('_', '-')}"


def test_unauthorized_asks_for_a_bearer_token(client: TestClient) -> None:
    response = client.get("/unauthorized")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "unauthorized"


def test_extra_members(client: TestClient) -> None:
    body = client.get("/extra").json()
    assert (body["code"], body["limit"], body["errors"]) == ("limit", 5, [{"field": "x"}])


def test_a_bug_leaks_nothing(client: TestClient) -> None:
    response = client.get("/bug")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "secret" not in response.text


def test_detail_defaults_to_the_title() -> None:
    error = errors.Conflict()
    assert error.detail == "Conflict"
    assert str(error) == "Conflict"
    assert errors.NotFound("x").title == "Not found"


def test_every_rejection_code_has_a_title_and_an_error() -> None:
    for code, title in REJECTIONS.items():
        error = rejection_error(code)
        assert (error.code, error.title, error.detail) == (code, title, title)
        assert error.status == (404 if code.endswith("_not_found") else 422)
    assert rejection_error("something_new").title == "Rejected"
