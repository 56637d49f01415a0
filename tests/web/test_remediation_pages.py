"""Remediation plans in the agent console, without a browser (SQLite and PostgreSQL): the
preview's totals (nothing saved), preparing (the preparer recorded; a double submit finds
the same plan), the preparer's approval refused (four eyes), a second member approving,
paying exactly once (the ledger verified), the progress fragment htmx polls, rejecting,
permissions, CSRF and refused amounts."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from anxin.api.deps import Container
from anxin.incidents.remediation_runner import run_plan
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.verify import verify_ledger
from anxin.models import Transfer
from anxin.models.incidents import RemediationPlan
from tests.identity.conftest import Person
from tests.incidents import remediation_helpers as helpers
from tests.incidents.remediation_helpers import World

vault = helpers.vault
uow = helpers.uow
world = helpers.world

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
HOLDERS, DEBIT, GOODWILL = 3, 25_00, 10_00  # the world: 3 holders, each debited 25.00
Tab = Callable[[Person | None], TestClient]


@pytest.fixture
def tab(client: TestClient) -> Tab:
    def make(person: Person | None) -> TestClient:
        web = TestClient(client.app, base_url="https://testserver", raise_server_exceptions=False)
        web.headers["Accept-Language"] = "en"
        if person is not None:
            web.cookies.set("__Host-anxin_session", person.token)
        return web

    return make


def token(web: TestClient, path: str) -> str:
    found = TOKEN.search(web.get(path).text)
    assert found is not None, path
    return found.group(1)


def base(world: World) -> str:
    return f"/console/incidents/{world.incident.id}/remediation"


SPEC = {"note": "Shop charged twice", "refund": "on", "goodwill_amount": "10",
        "goodwill_asset": "CNY"}  # fmt: skip


def preview(web: TestClient, world: World, **fields: str) -> object:
    data = {**(fields or SPEC), "csrf_token": token(web, base(world))}
    return web.post(f"{base(world)}/preview", data=data)


def prepare(web: TestClient, world: World) -> str:
    shown = preview(web, world)
    key = KEY.search(shown.text)  # type: ignore[attr-defined]
    assert key is not None
    data = {**SPEC, "idempotency_key": key.group(1), "csrf_token": token(web, base(world))}
    answer = web.post(base(world), data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    again = web.post(base(world), data=data, follow_redirects=False)  # a double submit
    assert again.headers["location"] == answer.headers["location"]
    location: str = answer.headers["location"]
    assert location.endswith("?done=prepared")
    return location.split("?", maxsplit=1)[0]


def act(web: TestClient, plan_url: str, action: str, **fields: str) -> object:
    data = {**fields, "csrf_token": token(web, plan_url)}
    return web.post(f"{plan_url}/{action}", data=data, follow_redirects=False)


def plan_row(container: Container, plan_url: str) -> RemediationPlan:
    with UnitOfWork(container.database, write=False) as unit:
        plan = unit.session.get(RemediationPlan, uuid.UUID(plan_url.rsplit("/", 1)[1]))
        assert plan is not None
        unit.session.expunge(plan)
        return plan


def paid_transfers(container: Container, world: World) -> int:
    like = f"{world.incident.reference}:%"
    with UnitOfWork(container.database, write=False) as unit:
        return int(unit.session.scalar(select(func.count()).where(Transfer.reference.like(like))))


def test_preview_prepare_four_eyes_and_pay_exactly_once(
    world: World, tab: Tab, ready_staff: Callable[[str], Person], container: Container
) -> None:
    preparer = ready_staff("risk_officer")  # may prepare and approve, but not both
    web = tab(preparer)
    page = web.get(base(world))
    assert page.status_code == 200 and 'id="plan-new"' in page.text
    assert "No remediation plan yet." in page.text

    shown = preview(web, world)
    assert shown.status_code == 200  # type: ignore[attr-defined]
    text = shown.text  # type: ignore[attr-defined]
    assert f'data-items="{2 * HOLDERS}"' in text
    total = HOLDERS * (DEBIT + GOODWILL)
    assert re.search(rf'id="preview-totals"><span class="nowrap">{total // 100}\.00 ', text)
    assert 'id="prepare"' in text and "Refund of the debit" in text
    with UnitOfWork(container.database, write=False) as unit:  # a preview saves nothing
        assert unit.session.scalar(select(func.count()).select_from(RemediationPlan)) == 0

    plan_url = prepare(web, world)
    plan = plan_row(container, plan_url)
    assert plan.status == "draft" and str(plan.prepared_by) == preparer.user_id
    assert plan.totals == {"CNY": total} and plan.item_count == 2 * HOLDERS

    refused = act(web, plan_url, "approve")
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert "A second member of staff must approve" in refused.text  # type: ignore[attr-defined]
    assert 'role="alert" id="approve-error"' in refused.text  # type: ignore[attr-defined]
    assert plan_row(container, plan_url).status == "draft"
    assert act(web, plan_url, "execute").status_code == 409  # type: ignore[attr-defined]

    approver = tab(ready_staff("admin"))  # approves only
    approved = act(approver, plan_url, "approve", note="totals checked")
    assert approved.headers["location"] == f"{plan_url}?done=approved"  # type: ignore[attr-defined]
    assert str(plan_row(container, plan_url).approved_by) != preparer.user_id

    paid = act(approver, plan_url, "execute")
    assert paid.headers["location"] == f"{plan_url}?done=executed"  # type: ignore[attr-defined]
    again = act(approver, plan_url, "execute")  # a second click pays nothing more
    assert again.status_code == 409 or again.headers["location"].endswith("executed")  # type: ignore[attr-defined]
    assert plan_row(container, plan_url).status == "done"
    assert paid_transfers(container, world) == 2 * HOLDERS
    with UnitOfWork(container.database, write=False) as unit:
        assert verify_ledger(unit.session.connection()).ok
        for holder in world.holders:
            assert helpers.balance(unit.session, holder) == 100_00 + GOODWILL  # debit returned
    done = approver.get(f"{plan_url}?done=executed")
    assert 'data-state="done"' in done.text and 'value="6"' in done.text
    assert "6 of 6 items processed (100 %)" in done.text
    listing = web.get(base(world)).text
    assert plan_url in listing and "100 %" in listing


def test_progress_fragment_while_being_paid(
    world: World, tab: Tab, ready_staff: Callable[[str], Person], container: Container
) -> None:
    preparer, approver = ready_staff("senior_agent"), ready_staff("risk_officer")
    plan_url = prepare(tab(preparer), world)
    web = tab(approver)
    act(web, plan_url, "approve")
    plan = plan_row(container, plan_url)
    # Another executor (the CLI, say) has paid one item so far.
    run = run_plan(container.database, container.keys.vault(), plan.id,
                   uuid.UUID(approver.user_id), clock=container.clock, chunk_items=1,
                   max_items=1)  # fmt: skip
    assert not run.finished
    page = web.get(plan_url)
    assert 'data-state="executing"' in page.text and 'id="execute"' in page.text
    assert '<noscript><meta http-equiv="refresh"' in page.text  # reloads without scripts
    fragment = web.get(f"{plan_url}/progress", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'hx-trigger="every 2s"' in fragment.text
    assert '<progress id="plan-bar" max="6" value="2">' in fragment.text  # one holder's two
    assert "HX-Refresh" not in fragment.headers
    carried = act(web, plan_url, "execute")
    assert carried.headers["location"] == f"{plan_url}?done=executed"  # type: ignore[attr-defined]
    finished = web.get(f"{plan_url}/progress", headers={"HX-Request": "true"})
    assert finished.headers["HX-Refresh"] == "true" and "hx-trigger" not in finished.text
    assert 'value="6"' in finished.text
    assert paid_transfers(container, world) == 2 * HOLDERS


def test_reject_needs_a_reason(
    world: World, tab: Tab, ready_staff: Callable[[str], Person], container: Container
) -> None:
    plan_url = prepare(tab(ready_staff("senior_agent")), world)
    approver = tab(ready_staff("compliance_officer"))
    empty = act(approver, plan_url, "reject", note=" ")
    assert empty.status_code == 422 and 'id="reject-error"' in empty.text  # type: ignore[attr-defined]
    done = act(approver, plan_url, "reject", note="amounts do not match the shop's report")
    assert done.headers["location"] == f"{plan_url}?done=rejected"  # type: ignore[attr-defined]
    assert plan_row(container, plan_url).status == "rejected"
    assert 'id="approve"' not in approver.get(plan_url).text


def test_refused_input_is_shown_on_the_form(
    world: World, tab: Tab, ready_staff: Callable[[str], Person]
) -> None:
    web = tab(ready_staff("senior_agent"))
    for fields, status in (
        ({"note": "x", "goodwill_amount": "1.001"}, 422),  # more decimals than CNY has
        ({"note": "x"}, 422),  # no remedy chosen
        ({"note": "x", "waiver_days": "400"}, 422),
        ({"note": "", "refund": "on"}, 422),
    ):
        answer = preview(web, world, **fields)
        assert answer.status_code == status, fields  # type: ignore[attr-defined]
        assert 'role="alert"' in answer.text and 'id="plan-new"' in answer.text  # type: ignore[attr-defined]
    hostile = preview(web, world, note='<script>alert("x")</script>', refund="on")
    assert "<script>alert" not in hostile.text  # type: ignore[attr-defined]


def test_permissions_and_missing_things(
    world: World, tab: Tab, ready_staff: Callable[[str], Person],
    make_staff: Callable[..., Person],
) -> None:  # fmt: skip
    for who in (None, make_staff("risk_officer")):  # signed out; password only
        answer = tab(who).get(base(world), follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/console/sign-in"
    agent = tab(ready_staff("agent"))  # neither incidents nor remediation
    assert agent.get(base(world)).status_code == 403
    senior = ready_staff("senior_agent")  # prepares, never approves
    plan_url = prepare(tab(senior), world)
    web = tab(senior)
    page = web.get(plan_url)
    assert page.status_code == 200 and 'id="approve"' not in page.text
    for action in ("approve", "reject", "execute", "retry-failed"):
        assert act(web, plan_url, action, note="n").status_code == 403  # type: ignore[attr-defined]
    admin = tab(ready_staff("admin"))  # approves, never prepares
    assert admin.get(base(world)).status_code == 200
    assert 'id="plan-new"' not in admin.get(base(world)).text
    assert preview(admin, world).status_code == 403  # type: ignore[attr-defined]
    assert web.get(f"/console/incidents/{uuid.uuid4()}/remediation").status_code == 404
    assert web.get(f"{base(world)}/{uuid.uuid4()}").status_code == 404
    assert web.get(f"{base(world)}/not-a-plan/progress").status_code == 404


def test_forms_need_their_token(
    world: World, tab: Tab, ready_staff: Callable[[str], Person]
) -> None:
    risk = ready_staff("risk_officer")
    web = tab(risk)
    plan_url = prepare(tab(ready_staff("senior_agent")), world)
    token(web, base(world))  # the browser cookie exists
    paths = (f"{base(world)}/preview", base(world), f"{plan_url}/approve",
             f"{plan_url}/reject", f"{plan_url}/execute", f"{plan_url}/retry-failed")  # fmt: skip
    for path in paths:
        for forged in ({}, {"csrf_token": "forged"}):
            answer = web.post(path, data={**SPEC, **forged, "note": "n"})
            assert answer.status_code == 403, path
            assert "This form could not be accepted" in answer.text


def test_chinese(world: World, tab: Tab, ready_staff: Callable[[str], Person]) -> None:
    web = tab(ready_staff("risk_officer"))
    web.headers["Accept-Language"] = "zh-CN"
    page = web.get(base(world))
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text
    assert "新方案" in page.text


def test_refund_only_the_named_debits(
    world: World, tab: Tab, ready_staff: Callable[[str], Person]
) -> None:
    web = tab(ready_staff("senior_agent"))
    first = world.debits[world.holders[0].id]
    shown = preview(web, world, note="one of them", refund="on", refund_only=f"{first}\n")
    assert 'data-items="1"' in shown.text  # type: ignore[attr-defined]
    bad = preview(web, world, note="x", refund="on", refund_only="not-an-id")
    assert bad.status_code == 422  # type: ignore[attr-defined]
