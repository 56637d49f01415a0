"""The authorization matrix.

Holders: for every identity endpoint that names a resource, holder A gets 404 (never 403,
which would confirm the id exists) for holder B's resource, exactly as for an id that does
not exist, and B's resource is untouched; every other holder endpoint with an id (wallet,
privacy, ...) answers an unknown id with 404 too, never 403 or a 5xx; endpoints without ids
show A nothing of B's.

Staff: every staff endpoint of the app is probed with every role. The permission an
endpoint needs is read from its refusals (`missing_permission` names it), and each role
must be refused exactly when ``anxin.identity.permissions`` does not grant it that
permission. The identity staff endpoints are also pinned to the permissions below.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from anxin.identity import endpoints as identity_endpoints
from anxin.identity import factor_endpoints
from anxin.identity import staff as staff_endpoints
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


def _identity_operations(*routers: APIRouter) -> set[tuple[str, str]]:
    """The operations the identity routers define (other parts of the app add their own)."""
    return {
        (method, route.path)
        for router in routers for route in router.routes if isinstance(route, APIRoute)
        for method in route.methods
    }  # fmt: skip


def _operations(client: TestClient, *prefixes: str) -> set[tuple[str, str]]:
    """Operations of the whole app whose path is one of ``prefixes`` or below it
    (``/v1/me`` is not ``/v1/merchant``)."""
    paths = client.get("/openapi.json").json()["paths"]
    return {
        (method.upper(), path)
        for path, operations in paths.items()
        if any(path == p or path.startswith(p + "/") for p in prefixes)
        for method in operations
    }  # fmt: skip


def _fill(path: str, ids: dict[str, str]) -> str:
    return PARAM.sub(lambda m: ids[m.group(0)[1:-1]], path)


def test_every_identity_endpoint_with_an_id_is_in_the_matrix(client: TestClient) -> None:
    ops = _identity_operations(
        identity_endpoints.auth_router, identity_endpoints.me_router, factor_endpoints.router
    )
    assert {op for op in ops if "{" in op[1]} == set(HOLDER_ID_ENDPOINTS)
    assert ops <= _operations(client, "/v1/me", "/v1/auth")  # all of them are mounted


def test_every_holder_endpoint_hides_ids_it_does_not_know(
    client: TestClient, holder: Callable[..., Person]
) -> None:
    """Whatever part of the app it belongs to, an id under /v1/me that is not the caller's
    is "not found": never "forbidden", never served, never a crash."""
    person = holder()
    with_ids = sorted(op for op in _operations(client, "/v1/me") if "{" in op[1])
    assert with_ids  # the app has some
    for method, path in with_ids:
        url = PARAM.sub(lambda _m: str(uuid.uuid4()), path)
        # A fresh idempotency key: money-moving endpoints want one before anything else.
        headers = {**person.headers, "Idempotency-Key": uuid.uuid4().hex}
        response = client.request(method, url, json={}, headers=headers)
        assert response.status_code in (404, 422), (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"


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
    reads = sorted(p for m, p in _operations(client, "/v1/me") if m == "GET" and "{" not in p)
    assert {"/v1/me", "/v1/me/sessions", "/v1/me/notifications", "/v1/me/factors"} <= set(reads)
    secrets_of_b = [world.b.user_id, world.b.session_id, "139****3333", "包", *world.ids.values()]
    for path in reads:
        response = client.get(path, headers=world.a.headers)
        assert response.status_code < 500, (path, response.text)
        for secret in secrets_of_b:
            assert secret not in response.text, (path, secret)


# (method, path) -> the permission it needs; the identity staff endpoints.
STAFF_ENDPOINTS: dict[tuple[str, str], str] = {
    ("GET", "/v1/staff/me"): "staff:self",
    ("GET", "/v1/staff/holders"): "holders:read",
    ("GET", "/v1/staff/holders/{holder_id}"): "holders:read",
    ("POST", "/v1/staff/holders/{holder_id}/suspend"): "holders:suspend",
    ("POST", "/v1/staff/holders/{holder_id}/reinstate"): "holders:suspend",
    ("GET", "/v1/staff/members"): "staff:read",
}


def test_the_identity_staff_endpoints_are_in_the_matrix(client: TestClient) -> None:
    assert _identity_operations(staff_endpoints.router) == set(STAFF_ENDPOINTS)
    assert set(STAFF_ENDPOINTS) <= _operations(client, "/v1/staff")


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


def test_every_staff_endpoint_grants_exactly_the_roles_permissions(
    client: TestClient, ready_staff: Callable[[str], Person], holder: Callable[..., Person]
) -> None:
    """All staff endpoints of the app, each role: refused with `missing_permission` exactly
    when the role lacks the permission the endpoint names."""
    staff = {role: ready_staff(role) for role in STAFF_ROLES}
    outsider = holder()
    operations = sorted(_operations(client, "/v1/staff"))
    assert set(STAFF_ENDPOINTS) <= set(operations)
    needs: dict[tuple[str, str], str | None] = {}
    for method, path in operations:
        url = PARAM.sub(lambda _m: str(uuid.uuid4()), path)  # nobody's: no side effects
        refused: dict[str, str] = {}
        for role, member in staff.items():
            headers = {**member.headers, "Idempotency-Key": uuid.uuid4().hex}
            response = client.request(method, url, json={}, headers=headers)
            assert response.status_code < 500, (role, method, path, response.text)
            # A CSV export answers in CSV; refusals are always problem+json.
            is_json = "json" in response.headers.get("content-type", "")
            body = response.json() if response.content and is_json else {}
            if response.status_code == 403 and body.get("code") == "missing_permission":
                refused[role] = body["permission"]
        permissions = set(refused.values())
        assert len(permissions) <= 1, (method, path, refused)
        needed = permissions.pop() if permissions else None
        needs[(method, path)] = needed
        if needed is not None:
            assert set(refused) == {r for r in STAFF_ROLES if not has_permission(r, needed)}
        as_holder = client.request(method, url, json={}, headers=outsider.headers)
        assert (as_holder.status_code, as_holder.json()["code"]) == (403, "wrong_account_kind")
        anonymous = client.request(method, url, json={})
        assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_signed_in")
    for endpoint, permission in STAFF_ENDPOINTS.items():
        # staff:self and holders:read are every role's: no refusal names them.
        everyone = all(has_permission(r, permission) for r in STAFF_ROLES)
        assert needs[endpoint] == (None if everyone else permission), endpoint


def test_openapi_documents_the_session_security_schemes(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["SessionToken"] == {
        "type": "http", "scheme": "bearer", "description": schemes["SessionToken"]["description"],
    }  # fmt: skip
    assert schemes["SessionCookie"]["in"] == "cookie"
    assert schemes["SessionCookie"]["name"] == "__Host-anxin_session"
    for path, operations in document["paths"].items():
        if not (path == "/v1/me" or path.startswith(("/v1/me/", "/v1/staff/"))):
            continue
        for method, operation in operations.items():
            names = {name for requirement in operation.get("security", []) for name in requirement}
            assert "SessionToken" in names, (method, path)
    public = document["paths"]["/v1/auth/signin"]["post"]
    assert not public.get("security")
