"""Bad input of every kind gets a problem document with a stable code, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import UNKNOWN_ID, Api, assert_problem


@pytest.fixture
def pair(api: Api) -> dict[str, Any]:
    bank, wallet = api.funded(100)
    return {"source": wallet, "destination": bank, "amount": 10, "asset": "CNY"}


BAD_TRANSFERS: list[tuple[str, dict[str, Any]]] = [
    ("amount as string", {"amount": "10"}),
    ("amount as float", {"amount": 10.5}),
    ("amount as whole float", {"amount": 10.0}),
    ("amount as bool", {"amount": True}),
    ("amount null", {"amount": None}),
    ("amount negative", {"amount": -1}),
    ("amount zero", {"amount": 0}),
    ("amount above 2^63-1", {"amount": 2**63}),
    ("amount huge", {"amount": 10**40}),
    ("amount as list", {"amount": [10]}),
    ("lowercase asset", {"asset": "cny"}),
    ("short asset", {"asset": "CN"}),
    ("asset as number", {"asset": 156}),
    ("unknown field", {"memo": "hi"}),
    ("malformed source", {"source": "not-a-uuid"}),
    ("malformed destination", {"destination": 42}),
    ("pending as string", {"pending": "true"}),
    ("kind with spaces", {"kind": "top up"}),
    ("empty reference", {"reference": ""}),
    ("long reference", {"reference": "r" * 201}),
    ("NUL in reference", {"reference": "a\x00b"}),
    ("metadata as list", {"metadata": [1, 2]}),
    ("metadata too large", {"metadata": {"blob": "x" * 5000}}),
    ("NUL in metadata value", {"metadata": {"a": "\x00"}}),
    ("NUL in metadata key", {"metadata": {"\x00": 1}}),
    ("NUL deep in metadata", {"metadata": {"a": [{"b": "c\x00"}]}}),
]


def test_bad_transfer_fields(api: Api, pair: dict[str, Any], subtests: pytest.Subtests) -> None:
    for case, change in BAD_TRANSFERS:
        with subtests.test(case):
            response = api.post("/v1/transfers", {**pair, **change})
            body = assert_problem(response, 422, "validation_failed")
            assert body["errors"]
            assert body["detail"].startswith(body["errors"][0]["field"])
    assert api.balance(pair["source"])["posted"] == 100


def test_missing_transfer_fields(api: Api, pair: dict[str, Any]) -> None:
    for field in ("source", "destination", "amount", "asset"):
        body = {k: v for k, v in pair.items() if k != field}
        problem = assert_problem(api.post("/v1/transfers", body), 422, "validation_failed")
        assert problem["errors"][0]["field"] == field


def test_non_finite_numbers(api: Api, pair: dict[str, Any]) -> None:
    # Python's json module reads these non-standard literals, so FastAPI accepts them.
    transfer = json.dumps(pair)[:-1]
    for extra in ('"amount": NaN', '"metadata": {"x": Infinity}',
                  '"metadata": {"x": [-Infinity]}', '"metadata": {"x": NaN}'):  # fmt: skip
        raw = f"{transfer}, {extra}}}".encode()
        response = api.client.post("/v1/transfers", content=raw, headers={
            **api.headers(), "content-type": "application/json"})  # fmt: skip
        assert_problem(response, 422, "validation_failed")
    account = api.client.post(
        "/v1/accounts",
        content=b'{"asset": "CNY", "metadata": {"x": NaN}}',
        headers={**api.auth, "content-type": "application/json"},
    )
    assert_problem(account, 422, "validation_failed")


def test_lone_surrogates(api: Api, pair: dict[str, Any]) -> None:
    for field in ('"reference": "\\ud800"', '"metadata": {"a": "\\udfff"}',
                  '"metadata": {"\\ud800": 1}'):  # fmt: skip
        raw = json.dumps(pair)[:-1] + ", " + field + "}"
        response = api.client.post("/v1/transfers", content=raw.encode(), headers={
            **api.headers(), "content-type": "application/json"})  # fmt: skip
        assert_problem(response, 422, "validation_failed")


def test_account_problems(api: Api, pair: dict[str, Any]) -> None:
    assert_problem(api.transfer(pair["source"], UNKNOWN_ID, 1), 404, "account_not_found")
    assert_problem(api.transfer(pair["source"], pair["source"], 1), 422, "same_account")
    usd = api.account("USD")["id"]
    assert_problem(api.transfer(pair["source"], usd, 1), 422, "asset_mismatch")
    for body in ({"asset": "ZZZ"}, {"asset": "cny"}, {"asset": "CNY", "allow_negative": "yes"},
                 {"asset": "CNY", "owner_ref": "\x00"}, {"asset": "CNY", "label": ""},
                 {"asset": "CNY", "id": UNKNOWN_ID}, {}):  # fmt: skip
        response = api.client.post("/v1/accounts", json=body, headers=api.auth)
        expected = "unknown_asset" if body == {"asset": "ZZZ"} else "validation_failed"
        assert_problem(response, 422, expected)


UNPARSEABLE = {
    "garbage": b"{not json",
    "truncated": b'{"amount": 1',
    "not utf-8": b"\xff\xfe",
    "trailing data": b'{"amount": 1} {}',
    "nested too deep": b'{"metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "number too long": b'{"amount": ' + b"9" * 5000 + b"}",
}


def test_unparseable_bodies(api: Api, subtests: pytest.Subtests) -> None:
    for case, raw in UNPARSEABLE.items():
        with subtests.test(case):
            response = api.client.post("/v1/transfers", content=raw, headers={
                **api.headers(), "content-type": "application/json"})  # fmt: skip
            assert_problem(response, 400, "invalid_json")
    # No body at all is not malformed JSON: the fields are missing.
    response = api.client.post("/v1/transfers", headers={
        **api.headers(), "content-type": "application/json"})  # fmt: skip
    assert_problem(response, 422, "validation_failed")


def test_wrong_content_type(api: Api, pair: dict[str, Any]) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded",
                         "multipart/form-data", "application/xml", None):  # fmt: skip
        headers = api.headers()
        if content_type:
            headers["content-type"] = content_type
        response = api.client.post("/v1/transfers", content=json.dumps(pair).encode(),
                                   headers=headers)  # fmt: skip
        assert_problem(response, 415, "unsupported_media_type")
    assert api.balance(pair["source"])["posted"] == 100


def test_json_content_types_are_accepted(api: Api, pair: dict[str, Any]) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = api.client.post(
            "/v1/transfers",
            content=json.dumps(pair).encode(),
            headers={**api.headers(), "content-type": content_type},
        )
        assert response.status_code == 201, response.text


def test_body_of_the_wrong_shape(api: Api) -> None:
    for body in ([1, 2], "transfer", 42, None):
        response = api.client.post(
            "/v1/transfers",
            content=json.dumps(body).encode(),
            headers={**api.headers(), "content-type": "application/json"},
        )
        assert_problem(response, 422, "validation_failed")


def test_unknown_route_and_wrong_method(client: TestClient, auth: dict[str, str]) -> None:
    assert_problem(client.get("/nowhere"), 404, "not_found")
    assert_problem(client.get("/v1/nowhere", headers=auth), 404, "not_found")
    assert_problem(client.get(f"/v1/accounts/{UNKNOWN_ID}/nothing", headers=auth), 404,
                   "not_found")  # fmt: skip
    response = client.delete("/v1/accounts", headers=auth)
    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]
    assert_problem(client.put(f"/v1/transfers/{UNKNOWN_ID}", headers=auth), 405,
                   "method_not_allowed")  # fmt: skip
    assert_problem(client.post("/healthz"), 405, "method_not_allowed")
