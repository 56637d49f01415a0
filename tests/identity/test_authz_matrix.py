"""The authorization matrix.

Holders: for every holder endpoint that names a resource, holder A gets 404 (never 403,
which would confirm the id exists) for holder B's resource, exactly as for an id that does
not exist, and B's resource is untouched; endpoints without ids show A nothing of B's.
Staff: every role gets exactly the permissions of its role on every staff endpoint.
Both tables must list every such endpoint the app has: a new endpoint fails this test
until someone decides who may call it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from anxin.identity.permissions import has_permission
from anxin.models.identity import STAFF_ROLES
from anxin.settings import Settings
from tests.identity.conftest import PASSWORD, Person
from tests.identity.softauthn import SoftAuthenticator

PARAM = re.compile(r"\{[a-z_]+\}")


@dataclass
class World:
    a: Person
    b: Person
    ids: dict[str, str]  # B's resources by path parameter
    probe: str  # what A must never see of B


@pytest.fixture
def world(client: TestClient, holder: Callable[..., Person], settings: Settings) -> World:
    a = holder(phone="13811110000")
    b = holder(phone="13922223333", name="包小白")
    # B gets a passkey, a notification (a sign-in from a new browser) and a step-up
    # challenge pending; A's calls below must reach none of them.
    client.post("/v1/auth/signin", json={"identifier": b.identifier, "password": PASSWORD})
    notification = client.get("/v1/me/notifications", headers=b.headers).json()["data"][0]
    device = SoftAuthenticator(origin=settings.webauthn_origin, rp_id=settings.webauthn_rp_id)
    options = client.post("/v1/me/factors/passkeys/options", headers=b.headers).json()
    passkey = client.post("/v1/me/factors/passkeys", headers=b.headers, json={
        "challenge_id": options["challenge_id"], "name": "b's phone",
        "credential": device.create(options["options"]),
    }).json()  # fmt: skip
    challenge = client.post(
        "/v1/me/password", headers=b.headers,
        json={"current_password": PASSWORD, "new_password": "b's brand new passphrase"},
    ).json()  # fmt: skip
    assert challenge["code"] == "step_up_required"
    ids = {
        "session_id": b.session_id, "notification_id": notification["id"],
        "passkey_id": passkey["id"], "challenge_id": challenge["challenge_id"],
    }  # fmt: skip
    return World(a, b, ids, b.user_id)


# (method, path) -> request body A sends; every holder endpoint with a path parameter.
HOLDER_ID_ENDPOINTS: dict[tuple[str, str], dict[str, Any] | None] = {
    ("DELETE", "/v1/me/sessions/{session_id}"): None,
    ("POST", "/v1/me/notifications/{notification_id}/read"): None,
    ("DELETE", "/v1/me/factors/passkeys/{passkey_id}"): None,
    ("POST", "/v1/auth/step-up/{challenge_id}"): {"method": "totp", "proof": {"code": "123456"}},
}


def _operations(client: TestClient, *prefixes: str) -> set[tuple[str, str]]:
    paths = client.get("/openapi.json").json()["paths"]
    return {
        (method.upper(), path)
        for path, operations in paths.items() if path.startswith(prefixes)
        for method in operations
    }  # fmt: skip


def _fill(path: str, ids: dict[str, str]) -> str:
    return PARAM.sub(lambda m: ids[m.group(0)[1:-1]], path)


def test_every_holder_endpoint_with_an_id_is_in_the_matrix(client: TestClient) -> None:
    with_ids = {op for op in _operations(client, "/v1/me", "/v1/auth") if "{" in op[1]}
    assert with_ids == set(HOLDER_ID_ENDPOINTS)


def test_holder_a_gets_404_for_everything_of_holder_b(client: TestClient, world: World) -> None:
    random_ids = {name: str(uuid.uuid4()) for name in world.ids}
    for (method, path), body in HOLDER_ID_ENDPOINTS.items():
        theirs = client.request(method, _fill(path, world.ids), json=body, headers=world.a.headers)
        nobodys = client.request(
            method, _fill(path, random_ids), json=body, headers=world.a.headers
        )
        assert theirs.status_code == 404, (method, path, theirs.text)
        assert theirs.headers["content-type"] == "application/problem+json"
        # Indistinguishable from an id that does not exist at all.
        assert theirs.json()["code"] == nobodys.json()["code"], (method, path)
        assert nobodys.status_code == 404
    # B's things are untouched.
    b = world.b.headers
    assert client.get("/v1/me", headers=b).status_code == 200  # session not revoked
    inbox = client.get("/v1/me/notifications", headers=b).json()
    assert inbox["data"][0]["read_at"] is None
    assert [p["id"] for p in client.get("/v1/me/factors/passkeys", headers=b).json()["items"]] == [
        world.ids["passkey_id"]
    ]


def test_endpoints_without_ids_show_a_nothing_of_b(client: TestClient, world: World) -> None:
    reads = [p for m, p in _operations(client, "/v1/me") if m == "GET" and "{" not in p]
    assert {"/v1/me", "/v1/me/sessions", "/v1/me/notifications", "/v1/me/factors"} <= set(reads)
    secrets_of_b = [world.b.user_id, world.b.session_id, "139****3333", "包", *world.ids.values()]
    for path in reads:
        response = client.get(path, headers=world.a.headers)
        assert response.status_code == 200, (path, response.text)
        for secret in secrets_of_b:
            assert secret not in response.text, (path, secret)


# (method, path) -> the permission it needs; every staff endpoint.
STAFF_ENDPOINTS: dict[tuple[str, str], str] = {
    ("GET", "/v1/staff/me"): "staff:self",
    ("GET", "/v1/staff/holders"): "holders:read",
    ("GET", "/v1/staff/holders/{holder_id}"): "holders:read",
    ("POST", "/v1/staff/holders/{holder_id}/suspend"): "holders:suspend",
    ("POST", "/v1/staff/holders/{holder_id}/reinstate"): "holders:suspend",
    ("GET", "/v1/staff/members"): "staff:read",
}


def test_every_staff_endpoint_is_in_the_matrix(client: TestClient) -> None:
    assert _operations(client, "/v1/staff") == set(STAFF_ENDPOINTS)


def _call(
    client: TestClient, method: str, path: str, ids: dict[str, str], headers: dict[str, str]
) -> httpx2.Response:
    return client.request(method, _fill(path, ids), headers=headers)


def test_each_role_gets_exactly_its_permissions(
    client: TestClient, ready_staff: Callable[[str], Person], holder: Callable[..., Person],
    make_staff: Callable[..., Person],
) -> None:  # fmt: skip
    staff = {role: ready_staff(role) for role in STAFF_ROLES}
    not_enrolled = make_staff("admin")
    person, outsider = holder(), holder()
    ids = {"holder_id": person.user_id}
    outcomes: dict[tuple[str, str, str], int] = {}
    for role, member in staff.items():
        # In this order, so an allowed suspend is undone by the allowed reinstate.
        for (method, path), permission in STAFF_ENDPOINTS.items():
            response = _call(client, method, path, ids, member.headers)
            outcomes[(role, method, path)] = response.status_code
            if has_permission(role, permission):
                assert response.status_code in (200, 204), (role, path, response.text)
            else:
                assert response.status_code == 403, (role, path, response.text)
                assert response.json()["code"] == "missing_permission"
    for (method, path), _permission in STAFF_ENDPOINTS.items():
        as_holder = _call(client, method, path, ids, outsider.headers)
        assert (as_holder.status_code, as_holder.json()["code"]) == (403, "wrong_account_kind")
        anonymous = _call(client, method, path, ids, {})
        assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_signed_in")
        unready = _call(client, method, path, ids, not_enrolled.headers)
        assert unready.json()["code"] == "second_factor_enrolment_required"
    # The matrix as data, for reading: suspension is for risk, compliance and admins.
    allowed = {
        r
        for r in STAFF_ROLES
        if outcomes[(r, "POST", "/v1/staff/holders/{holder_id}/suspend")] == 204
    }
    assert allowed == {"risk_officer", "compliance_officer", "admin"}
    # Suspending ended the holder's sessions (and reinstating did not bring them back).
    assert client.get("/v1/me", headers=person.headers).status_code == 401


def test_openapi_documents_the_session_security_schemes(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["SessionToken"] == {
        "type": "http", "scheme": "bearer", "description": schemes["SessionToken"]["description"],
    }  # fmt: skip
    assert schemes["SessionCookie"]["in"] == "cookie"
    assert schemes["SessionCookie"]["name"] == "__Host-anxin_session"
    for path, operations in document["paths"].items():
        if not path.startswith(("/v1/me", "/v1/staff")):
            continue
        for method, operation in operations.items():
            names = {name for requirement in operation.get("security", []) for name in requirement}
            assert "SessionToken" in names, (method, path)
    public = document["paths"]["/v1/auth/signin"]["post"]
    assert not public.get("security")
