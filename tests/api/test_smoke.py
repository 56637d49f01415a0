from __future__ import annotations

from fastapi.testclient import TestClient


def test_account_transfer_replay(client: TestClient, auth: dict[str, str]) -> None:
    bank = client.post("/v1/accounts", json={"asset": "CNY", "allow_negative": True}, headers=auth)
    assert bank.status_code == 201, bank.text
    wallet = client.post("/v1/accounts", json={"asset": "CNY"}, headers=auth).json()
    body = {"source": bank.json()["id"], "destination": wallet["id"], "amount": 500, "asset": "CNY"}
    first = client.post("/v1/transfers", json=body, headers={**auth, "Idempotency-Key": "k1"})
    assert first.status_code == 201, first.text
    again = client.post("/v1/transfers", json=body, headers={**auth, "Idempotency-Key": "k1"})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = client.post(
        "/v1/transfers", json={**body, "amount": 501}, headers={**auth, "Idempotency-Key": "k1"}
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    got = client.get(f"/v1/accounts/{wallet['id']}", headers=auth).json()
    assert got["balance"] == {"posted": 500, "pending": 0, "available": 500}
    broke = client.post(
        "/v1/transfers",
        json={**body, "source": wallet["id"], "destination": bank.json()["id"], "amount": 10**6},
        headers={**auth, "Idempotency-Key": "k2"},
    )
    assert broke.status_code == 422
    assert broke.headers["content-type"] == "application/problem+json"
    assert broke.json()["code"] == "insufficient_funds"
    entries = client.get(f"/v1/accounts/{wallet['id']}/entries", headers=auth).json()
    assert [e["balance"]["posted"] for e in entries["data"]] == [500]
    assert client.get("/healthz").status_code == 200
