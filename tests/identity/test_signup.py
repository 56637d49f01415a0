from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.identity.conftest import PASSWORD, Person


def test_signup_verify_signin(client: TestClient, holder: Callable[..., Person]) -> None:
    person = holder(phone="13812345678", name="张三明")
    me = client.get("/v1/me", headers=person.headers)
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["contacts"] == [{"kind": "phone", "masked": "138****5678", "verified": True}]
    assert body["display_name"] == "张*明"
    signed = client.post(
        "/v1/auth/signin", json={"identifier": "13812345678", "password": PASSWORD}
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "signed_in"
