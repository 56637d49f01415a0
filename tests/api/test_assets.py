from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Api, assert_problem


def _assets(api: Api) -> dict[str, dict[str, Any]]:
    response = api.get("/v1/assets")
    assert response.status_code == 200, response.text
    return {a["code"]: a for a in response.json()}


def test_iso_currencies_are_listed_with_their_scale(api: Api) -> None:
    assets = _assets(api)
    assert assets["CNY"] == {"code": "CNY", "name": assets["CNY"]["name"], "scale": 2,
                             "kind": "currency"}  # fmt: skip
    assert assets["JPY"]["scale"] == 0
    assert assets["KWD"]["scale"] == 3
    assert assets["USD"]["scale"] == 2
    assert "XAU" not in assets  # gold has no minor unit to count in
    assert all(a["kind"] == "currency" for a in assets.values())
    assert len(assets) > 100


def test_create_custom_asset_and_use_it(api: Api) -> None:
    created = api.client.post(
        "/v1/assets", json={"code": "POINTS", "name": "Reward points", "scale": 0},
        headers=api.auth,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json() == {"code": "POINTS", "name": "Reward points", "scale": 0,
                              "kind": "custom"}  # fmt: skip
    assert _assets(api)["POINTS"]["kind"] == "custom"

    issuer, member = api.funded(0, asset="POINTS")
    assert api.transfer(issuer, member, 38, asset="POINTS").status_code == 201
    assert api.balance(member)["posted"] == 38


def test_duplicate_and_iso_codes_are_refused(api: Api) -> None:
    body = {"code": "MILES", "name": "Air miles", "scale": 0}
    assert api.client.post("/v1/assets", json=body, headers=api.auth).status_code == 201
    again = api.client.post("/v1/assets", json={**body, "scale": 2}, headers=api.auth)
    assert_problem(again, 409, "asset_exists")
    for iso in ("USD", "CNY", "XAU"):  # XAU is ISO 4217 even without a minor unit
        response = api.client.post(
            "/v1/assets", json={"code": iso, "name": "Mine", "scale": 2}, headers=api.auth
        )
        assert_problem(response, 409, "asset_exists")
    assert _assets(api)["MILES"]["scale"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"code": "points", "name": "x", "scale": 0},
        {"code": "PT", "name": "x", "scale": 0},
        {"code": "P" * 17, "name": "x", "scale": 0},
        {"code": "1PTS", "name": "x", "scale": 0},
        {"code": "PTS-1", "name": "x", "scale": 0},
        {"code": "PTS", "name": "x", "scale": 19},
        {"code": "PTS", "name": "x", "scale": -1},
        {"code": "PTS", "name": "x", "scale": "2"},
        {"code": "PTS", "name": "x", "scale": 2.0},
        {"code": "PTS", "name": "", "scale": 0},
        {"code": "PTS", "name": "x" * 101, "scale": 0},
        {"code": "PTS", "name": "nul\x00", "scale": 0},
        {"code": "PTS", "scale": 0},
        {"code": "PTS", "name": "x", "scale": 0, "kind": "custom"},
    ],
)
def test_invalid_assets_are_refused(client: TestClient, auth: dict[str, str],
                                    body: dict[str, Any]) -> None:  # fmt: skip
    assert_problem(client.post("/v1/assets", json=body, headers=auth), 422, "validation_failed")
    assert "PTS" not in {a["code"] for a in client.get("/v1/assets", headers=auth).json()}
