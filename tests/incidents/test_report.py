"""The post-incident report: impact, money returned, response times, escaped text."""

from __future__ import annotations

from datetime import timedelta

from anxin.incidents import report, service, updates
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.incidents import RemediationItem, RemediationPlan
from anxin.privacy.vault import Vault
from tests.incidents.conftest import NOW, make_user, new_ticket


def test_report_in_markdown_and_html(uow: UnitOfWork, vault: Vault) -> None:
    s = uow.session
    staff, other = (make_user(s, vault, NOW, role="risk_officer") for _ in range(2))
    a, b = make_user(s, vault, NOW), make_user(s, vault, NOW)
    incident = service.open_incident(
        s, title="Shop *Alpha* <charged> twice", now=NOW + timedelta(minutes=12),
        started_at=NOW, opened_by=staff.id,
    )  # fmt: skip
    for holder in (a, b):
        service.link_ticket(s, incident, new_ticket(s, vault, holder=holder), now=NOW)
    updates.publish(s, vault, incident, now=NOW + timedelta(minutes=20), actor_id=staff.id,
                    template="investigating")  # fmt: skip
    incident.first_notified_at = NOW + timedelta(minutes=42)
    service.update_incident(s, incident, actor_id=staff.id, now=NOW,
                            root_cause="A retry <script> charged twice")  # fmt: skip
    plan = RemediationPlan(
        id=new_id(), incident_id=incident.id, spec={}, status="done", totals={"CNY": 300},
        item_count=3, paid_count=2, prepared_by=staff.id, prepared_at=NOW,
        approved_by=other.id, approved_at=NOW,
    )  # fmt: skip
    s.add(plan)
    s.flush()
    for holder, amount, status in ((a, 100_00, "done"), (b, 250, "done"), (b, 999, "pending")):
        s.add(RemediationItem(
            id=new_id(), plan_id=plan.id, holder_id=holder.id, kind="refund", asset="CNY",
            amount=amount, ref=str(new_id()), transfer_key=str(new_id()), status=status,
            transfer_id=None, error=None,
            done_at=NOW + timedelta(hours=3) if status == "done" else None,
        ))  # fmt: skip
    s.flush()

    text = report.markdown(s, incident)
    assert text.startswith(f"# {incident.reference}: Shop \\*Alpha\\* \\<charged\\> twice")
    assert "Holders affected: 2 (from complaints 2" in text
    assert "Complaints received: 2 (unauthorized_debit 2)" in text
    assert "Money returned: 102.50 CNY (2 remediation items done)" in text
    assert "| Time to detect | 12 min |" in text
    assert "| Time to announce | 8 min |" in text
    assert "| Time to notify | 30 min |" in text
    assert "| Time to compensate | 2 h 48 min |" in text
    assert "public update (investigating)" in text

    page = report.html(s, incident)
    assert "<table>" in page and "<script>" not in page and "<charged>" not in page
    assert "&lt;script&gt;" in page
