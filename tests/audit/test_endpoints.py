"""Compliance reads the audit log; nobody can change it through the API."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable

from fastapi.testclient import TestClient

from anxin.api.deps import Container
from anxin.audit import checkpoints
from anxin.audit.verify import verify_audit
from anxin.kit.unit_of_work import UnitOfWork
from tests.identity.conftest import Person


def test_compliance_reads_and_filters_the_log(
    client: TestClient, holder: Callable[..., Person], ready_staff: Callable[[str], Person]
) -> None:
    person = holder()
    compliance = ready_staff("compliance_officer")
    agent = ready_staff("agent")
    response = client.get("/v1/staff/audit/entries", headers=agent.headers)
    assert response.status_code == 403 and response.json()["code"] == "missing_permission"
    everything = client.get("/v1/staff/audit/entries?order=oldest&limit=500",
                            headers=compliance.headers).json()["data"]  # fmt: skip
    assert [e["seq"] for e in everything] == list(range(1, len(everything) + 1))
    assert all(e["prev_hash"] == p["hash"] for p, e in itertools.pairwise(everything))
    theirs = client.get(
        f"/v1/staff/audit/entries?event=auth.signin&subject_id={person.user_id}",
        headers=compliance.headers,
    ).json()["data"]  # fmt: skip
    assert len(theirs) == 1 and theirs[0]["actor_role"] == "holder"
    assert theirs[0]["data"]["methods"] == ["password", "contact_code"]
    page = client.get("/v1/staff/audit/entries?limit=2", headers=compliance.headers).json()
    assert page["data"][0]["seq"] > page["data"][1]["seq"] and page["next_cursor"]
    after = client.get(f"/v1/staff/audit/entries?limit=2&cursor={page['next_cursor']}",
                       headers=compliance.headers).json()["data"]  # fmt: skip
    assert after[0]["seq"] == page["data"][1]["seq"] - 1


def test_no_endpoint_changes_the_audit_log(
    client: TestClient, ready_staff: Callable[[str], Person]
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    audit_paths = {p: ops for p, ops in paths.items() if "audit" in p}
    assert audit_paths and all(set(ops) == {"get"} for ops in audit_paths.values())
    compliance = ready_staff("compliance_officer")
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/v1/staff/audit/entries", "/v1/staff/audit/checkpoints",
                     "/v1/staff/audit/entries/1"):  # fmt: skip
            response = client.request(method, path, headers=compliance.headers, json={})
            assert response.status_code in (404, 405), (method, path, response.status_code)


def test_checkpoints_are_listed_as_published(
    client: TestClient, container: Container, ready_staff: Callable[[str], Person]
) -> None:
    compliance = ready_staff("compliance_officer")
    signer = checkpoints.signer_of(container.keys.keyring)
    with UnitOfWork(container.database) as uow:
        checkpoints.create(uow.session, signer, container.clock.now())
        uow.commit()
    [doc] = client.get("/v1/staff/audit/checkpoints",
                       headers=compliance.headers).json()["data"]  # fmt: skip
    assert base64.b64decode(doc["public_key"]) == signer.public_key
    assert doc["key_id"] == signer.key_id and doc["log"] == "anxin-audit"
    with container.database.connect(write=False) as connection:
        report = verify_audit(connection, {signer.key_id: signer.public_key})
    assert report.ok, report.problems
    assert report.checkpoints_checked == 1 and report.entries_checked > 5
