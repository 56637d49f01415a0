from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from anxin.apikeys.service import revoke_key
from anxin.kit.clock import SystemClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from tests.api.conftest import UNKNOWN_ID, Api, assert_problem
from tests.conftest import Keys

LEDGER_ROUTES = {
    ("GET", "/v1/accounts"), ("POST", "/v1/accounts"), ("GET", "/v1/accounts/{account_id}"),
    ("GET", "/v1/accounts/{account_id}/balance"), ("GET", "/v1/accounts/{account_id}/entries"),
    ("POST", "/v1/accounts/{account_id}/freeze"), ("POST", "/v1/accounts/{account_id}/unfreeze"),
    ("POST", "/v1/accounts/{account_id}/close"), ("GET", "/v1/assets"), ("POST", "/v1/assets"),
    ("GET", "/v1/transfers"), ("POST", "/v1/transfers"), ("POST", "/v1/transfers/batch"),
    ("GET", "/v1/transfers/{transfer_id}"), ("POST", "/v1/transfers/{transfer_id}/post"),
    ("POST", "/v1/transfers/{transfer_id}/void"), ("POST", "/v1/transfers/{transfer_id}/reverse"),
}  # fmt: skip


def _ledger_routes(client: TestClient) -> set[tuple[str, str]]:
    paths = client.get("/openapi.json").json()["paths"]
    return {
        (method.upper(), path)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if "ledger" in operation.get("tags", [])
    }


def test_every_ledger_route_needs_a_key(client: TestClient) -> None:
    routes = _ledger_routes(client)
    assert routes >= LEDGER_ROUTES
    for method, template in sorted(routes):
        path = re.sub(r"\{[a-z_]+\}", UNKNOWN_ID, template)
        response = client.request(method, path, json={})
        body = assert_problem(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"] == "Bearer", (method, path)
        assert "Bearer" in body["detail"]


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Basic dXNlcjpwYXNz", "unauthorized"),
        ("Bearer", "unauthorized"),
        ("anx_abc_def", "unauthorized"),
        ("Bearer not-a-key", "invalid_api_key"),
        ("Bearer anx_", "invalid_api_key"),
        ("Bearer anx__", "invalid_api_key"),
        ("Bearer xyz_abc_def", "invalid_api_key"),
        ("Bearer anx_000000000000_wrongsecret", "invalid_api_key"),
        ("Bearer anx_" + "a" * 5000 + "_b", "invalid_api_key"),
    ],
)
def test_bad_credentials(client: TestClient, header: str, code: str) -> None:
    response = client.get("/v1/accounts", headers={"Authorization": header})
    assert_problem(response, 401, code)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_right_prefix_wrong_secret(client: TestClient, api_keys: Keys) -> None:
    prefix = api_keys.writer.split("_")[1]
    response = client.get("/v1/accounts", headers={"Authorization": f"Bearer anx_{prefix}_x"})
    assert_problem(response, 401, "invalid_api_key")


def test_revoked_key_stops_working_at_once(
    client: TestClient, api_keys: Keys, database: Database, auth: dict[str, str]
) -> None:
    assert client.get("/v1/accounts", headers=auth).status_code == 200
    with UnitOfWork(database) as uow:
        revoke_key(uow.session, api_keys.writer.split("_")[1], now=SystemClock().now())
        uow.commit()
    response = client.get("/v1/accounts", headers=auth)
    assert_problem(response, 401, "api_key_revoked")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_read_only_key_reads_but_cannot_write(api: Api, reader: dict[str, str]) -> None:
    bank, wallet = api.funded(10)
    hold = api.transfer(wallet, bank, 1, pending=True).json()
    client = api.client
    for path in ("/v1/accounts", f"/v1/accounts/{wallet}", f"/v1/accounts/{wallet}/balance",
                 f"/v1/accounts/{wallet}/entries", "/v1/assets", "/v1/transfers",
                 f"/v1/transfers/{hold['id']}"):  # fmt: skip
        assert client.get(path, headers=reader).status_code == 200, path

    body = {"source": bank, "destination": wallet, "amount": 1, "asset": "CNY"}
    writes = [
        ("/v1/accounts", {"asset": "CNY"}),
        ("/v1/assets", {"code": "PTS", "name": "Points", "scale": 0}),
        ("/v1/transfers", body),
        ("/v1/transfers/batch", {"transfers": [body]}),
        (f"/v1/transfers/{hold['id']}/post", {}),
        (f"/v1/transfers/{hold['id']}/void", {}),
        (f"/v1/transfers/{hold['id']}/reverse", {}),
        (f"/v1/accounts/{wallet}/freeze", {"reason": "x"}),
        (f"/v1/accounts/{wallet}/unfreeze", {"reason": "x"}),
        (f"/v1/accounts/{wallet}/close", {"reason": "x"}),
    ]
    for path, payload in writes:
        response = client.post(path, json=payload, headers={**reader, "Idempotency-Key": "k"})
        problem = assert_problem(response, 403, "insufficient_scope")
        assert "'ledger'" in problem["detail"]
    assert api.balance(wallet) == {"posted": 10, "pending": -1, "available": 9}
    assert api.get(f"/v1/transfers/{hold['id']}").json()["status"] == "pending"
    assert len(api.get("/v1/accounts").json()["data"]) == 2


def test_health_needs_no_key(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
