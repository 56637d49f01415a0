"""Breach response: the clock, notices in each holder's language after a second officer
approved their text, the public statement, and everything in the audit trail."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.identity.delivery import FakeEmailSender, FakeSmsProvider
from anxin.identity.outbox import DeliveryReport
from anxin.kit.clock import ManualClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.insider import AuditEntry, ComplianceAlert
from anxin.privacy import notices
from tests.identity.conftest import PASSWORD, Person, advance

FACTS = {
    "zh-CN": {
        "what_happened": "一台日志服务器的访问权限配置错误，导致部分用户的手机号可被读取。",  # noqa: RUF001
        "what_we_are_doing": "我们已关闭该访问并审查了所有访问记录。",
        "what_you_should_do": "请警惕冒充安心的电话和短信。",
    },
    "en": {
        "what_happened": "A log server was misconfigured so that some phone numbers were readable.",
        "what_we_are_doing": "We closed that access and reviewed every access to it.",
        "what_you_should_do": "Be wary of calls and messages claiming to be from Anxin.",
    },
}


@pytest.fixture
def team(ready_staff: Callable[[str], Person]) -> dict[str, Person]:
    return {"lead": ready_staff("compliance_officer"), "second": ready_staff("compliance_officer"),
            "risk": ready_staff("risk_officer")}  # fmt: skip


def _record(client: TestClient, who: Person, holders: list[Person], hours_ago: float,
            container: Container) -> Any:  # fmt: skip
    discovered = container.clock.now() - timedelta(hours=hours_ago)
    return client.post("/v1/staff/breaches", headers=who.headers, json={
        "title": "Log server exposed phone numbers", "scope": "log server lg-3, access rules",
        "data_categories": ["phone"], "discovered_at": discovered.isoformat(),
        "holders": {"holder_ids": [h.user_id for h in holders]}, "facts": FACTS,
    })  # fmt: skip


def _alerts(container: Container) -> list[str]:
    with UnitOfWork(container.database, write=False) as uow:
        rows = uow.session.scalars(select(ComplianceAlert).order_by(ComplianceAlert.created_at))
        return [r.kind for r in rows]


def test_notices_go_to_every_affected_holder_in_their_language(
    client: TestClient, team: dict[str, Person], holder: Callable[..., Person],
    container: Container, sms: FakeSmsProvider, mailbox: FakeEmailSender,
    deliver: Callable[[], DeliveryReport],
) -> None:  # fmt: skip
    lead, second = team["lead"], team["second"]
    zh = holder(name="张三明")
    en = holder(email="jane.doe@example.com")
    gone = holder()
    bystander = holder()
    assert client.patch("/v1/me/profile", json={"locale": "en"},
                        headers=en.headers).status_code == 200  # fmt: skip
    recorded = _record(client, lead, [zh, en, gone], 10, container)
    assert recorded.status_code == 201, recorded.text
    breach = recorded.json()
    assert breach["affected"] == 3 and breach["deadline_state"] == "ok"
    assert breach["seconds_left"] == 62 * 3600
    # A holder closes the account before the notices go: nobody is left to tell.
    closed = client.post("/v1/me/close", headers=gone.headers,
                         json={"password": PASSWORD, "confirm": "CLOSE"})  # fmt: skip
    assert closed.status_code == 200, closed.text
    url = f"/v1/staff/breaches/{breach['id']}"
    early = client.post(f"{url}/send", headers=lead.headers)
    assert (early.status_code, early.json()["code"]) == (409, "notices_not_approved")
    prepared = client.post(f"{url}/notices", headers=lead.headers).json()
    texts = prepared["texts"]
    assert texts["notice"]["zh-CN"]["title"] == "我们未能保护好您的部分个人信息"
    assert FACTS["zh-CN"]["what_happened"] in texts["notice"]["zh-CN"]["body"]
    assert "手机号" in texts["notice"]["zh-CN"]["body"]
    assert FACTS["en"]["what_you_should_do"] in texts["notice"]["en"]["body"]
    assert breach["reference"] in texts["statement"]["en"]["title"]
    # The one who prepared the text cannot approve it; a second officer does.
    own = client.post(f"/v1/staff/approvals/{prepared['approval_id']}/approve",
                      headers=lead.headers)  # fmt: skip
    assert (own.status_code, own.json()["code"]) == (403, "self_approval")
    risky = client.post(f"/v1/staff/approvals/{prepared['approval_id']}/approve",
                        headers=team["risk"].headers)  # fmt: skip
    assert risky.status_code == 404
    # Rewriting the text voids an approval of the earlier text.
    rewritten = client.post(f"{url}/notices", headers=lead.headers).json()
    assert rewritten["approval_id"] != prepared["approval_id"]
    stale = client.post(f"/v1/staff/approvals/{prepared['approval_id']}/approve",
                        headers=second.headers)  # fmt: skip
    assert (stale.status_code, stale.json()["code"]) == (409, "approval_decided")
    ok = client.post(f"/v1/staff/approvals/{rewritten['approval_id']}/approve",
                     headers=second.headers)  # fmt: skip
    assert ok.status_code == 200, ok.text

    sent = client.post(f"{url}/send", headers=lead.headers)
    assert sent.json() == {"notified": 2, "unreachable": 1, "remaining": 0}
    again = client.post(f"{url}/send", headers=lead.headers)
    assert again.json() == {"notified": 0, "unreachable": 0, "remaining": 0}
    for person, title in ((zh, "我们未能保护好您的部分个人信息"),
                          (en, "We failed to protect some of your personal data")):  # fmt: skip
        inbox = client.get("/v1/me/notifications", headers=person.headers).json()["data"]
        [notice] = [n for n in inbox if n["kind"] == "privacy.breach_notice"]
        assert notice["title"] == title and breach["reference"] in notice["body"]
    bystanders = client.get("/v1/me/notifications", headers=bystander.headers).json()["data"]
    assert not [n for n in bystanders if n["kind"] == "privacy.breach_notice"]
    deliver()
    by_sms = sms.last_to(zh.identifier)
    by_mail = mailbox.last_to("jane.doe@example.com")
    assert by_sms is not None and FACTS["zh-CN"]["what_you_should_do"] in by_sms.body
    assert (
        by_mail is not None and by_mail.subject == "We failed to protect some of your personal data"
    )
    assert FACTS["en"]["what_we_are_doing"] in by_mail.body

    # The public statement, in both languages, without signing in.
    public = client.get("/v1/status/announcements").json()["data"]
    [statement] = public
    assert statement["kind"] == "breach" and statement["status"] == "published"
    assert breach["reference"] in statement["texts"]["zh-CN"]["title"]
    assert "3" in statement["texts"]["en"]["body"]
    # Told the authority too: the deadline is met. Closing resolves the statement.
    done = client.post(f"{url}/authority-notified", headers=lead.headers).json()
    assert done["deadline_state"] == "done" and done["notified"] == 2 and done["unreachable"] == 1
    client.post(f"{url}/close", headers=lead.headers)
    assert client.get("/v1/status/announcements").json()["data"][0]["status"] == "resolved"
    with UnitOfWork(container.database, write=False) as uow:
        events = list(uow.session.scalars(
            select(AuditEntry.event).where(AuditEntry.event.like("privacy.breach%")
                                           | AuditEntry.event.like("status.%"))
            .order_by(AuditEntry.seq)
        ))  # fmt: skip
    assert events == [
        "privacy.breach_recorded", "privacy.breach_notices_prepared",
        "privacy.breach_notices_prepared", "status.announcement_published",
        "privacy.breach_notices_sent", "privacy.breach_notices_sent",
        "privacy.breach_authority_notified", "privacy.breach_closed",
    ]  # fmt: skip
    assert _alerts(container) == []


def test_the_clock_alerts_compliance_as_the_deadline_nears_and_passes(
    client: TestClient, team: dict[str, Person], holder: Callable[..., Person],
    container: Container, clock: ManualClock,
) -> None:  # fmt: skip
    lead = team["lead"]
    someone = holder()
    breach = _record(client, lead, [someone], 72 - 0.05, container).json()  # 3 minutes left
    assert breach["deadline_state"] == "near" and 0 < breach["seconds_left"] <= 180
    assert _alerts(container) == ["breach_deadline_near"]
    advance(clock, 240)
    late = client.get(f"/v1/staff/breaches/{breach['id']}", headers=lead.headers).json()
    assert late["deadline_state"] == "overdue" and late["seconds_left"] < 0
    listed = client.get("/v1/staff/breaches", headers=lead.headers).json()["data"]
    assert [b["id"] for b in listed] == [breach["id"]]
    assert _alerts(container) == ["breach_deadline_near", "breach_deadline_passed"]


def test_recording_is_for_compliance_and_checks_its_input(
    client: TestClient, team: dict[str, Person], holder: Callable[..., Person],
    container: Container,
) -> None:  # fmt: skip
    someone = holder()
    denied = _record(client, team["risk"], [someone], 1, container)
    assert (denied.status_code, denied.json()["code"]) == (403, "missing_permission")
    future = _record(client, team["lead"], [someone], -1, container)
    assert (future.status_code, future.json()["code"]) == (422, "invalid_time")
    body = {
        "title": "t", "scope": "s", "data_categories": ["shoe_size"],
        "discovered_at": container.clock.now().isoformat(),
        "holders": {"all_holders": True}, "facts": FACTS,
    }  # fmt: skip
    unknown = client.post("/v1/staff/breaches", headers=team["lead"].headers, json=body)
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_category")
    everyone = client.post("/v1/staff/breaches", headers=team["lead"].headers,
                           json={**body, "data_categories": ["email"]})  # fmt: skip
    assert everyone.status_code == 201 and everyone.json()["affected"] == 1


def test_the_templates_take_responsibility_and_blame_nobody() -> None:
    templates = notices.catalogue()["breach"]
    text = json.dumps(templates, ensure_ascii=False).lower()
    for blame in ("hacker", "attacker", "criminal", "third party", "third-party", "黑客",
                  "不法分子", "第三方"):  # fmt: skip
        assert blame not in text, blame
    assert "responsibility" in templates["notice"]["en"]["body"]
    assert "sorry" in templates["notice"]["en"]["body"]
    assert "责任" in templates["notice"]["zh-CN"]["body"]
    assert "歉意" in templates["notice"]["zh-CN"]["body"]
    for part in ("notice", "statement"):
        assert set(templates[part]) == set(notices.LANGUAGES)
    assert set(templates["categories"]["en"]) == set(templates["categories"]["zh-CN"])
