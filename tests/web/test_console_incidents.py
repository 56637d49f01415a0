"""The console's incident pages without a browser (SQLite and PostgreSQL): a burst of
complaints about a shop raises a group and an incident; the dashboard shows the group with
its arrival chart (integer counts and the detector's baseline) and links the incident; the
incident page moves it forward (refusing going back), takes timeline entries, previews and
records the affected holders, publishes an update that appears on /status, and notifies
once. The door: incidents:manage, two factors, CSRF, and the same 404 for unknown ids."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.incidents import service
from anxin.incidents.detection import TickReport
from anxin.kit.clock import ManualClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.incidents import CollectiveGroup
from anxin.web.console_incident_charts import bucket_minutes
from tests.identity.conftest import Person
from tests.incidents import conftest as incidents
from tests.incidents.test_end_to_end import COMPLAINERS, PRICE, Story, story
from tests.wallet.conftest import Api, api_for, give
from tests.wallet.merchant_helpers import Shop, make_shop

make_user = incidents.make_user
fund = incidents.fund
__all__ = ["api_for", "give", "make_shop"]  # fixtures

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
ARRIVALS = re.compile(r"data-arrivals='([^']+)'")
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


@pytest.fixture
def burst(
    client: TestClient, container: Container, clock: ManualClock,
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None],
    detection: Callable[[], TickReport], manager: Person,
) -> Story:  # fmt: skip
    return story(client, container, clock, make_shop("Shop Alpha"), holder, api_for, give,
                 detection, manager)  # fmt: skip


def token(web: TestClient, path: str) -> str:
    found = TOKEN.search(web.get(path).text)
    assert found is not None, path
    return found.group(1)


def post(web: TestClient, path: str, page: str, **data: str) -> object:
    return web.post(path, data={**data, "csrf_token": token(web, page)}, follow_redirects=False)


def test_dashboard_shows_the_burst_and_its_incident(burst: Story, manager: Person,
                                                    tab: Tab) -> None:  # fmt: skip
    web = tab(manager)
    page = web.get("/console/incidents")
    assert page.status_code == 200, page.text
    text = page.text
    reference, incident_id = burst.incident["reference"], burst.incident["id"]
    assert f'<a data-incident="{reference}" href="/console/incidents/{incident_id}">' in text
    assert "merchant Shop Alpha" in text and 'aria-current="page"' in text
    assert 'hx-get="/console/incidents/live"' in text and 'hx-trigger="every 20s"' in text
    found = ARRIVALS.search(text)
    assert found is not None
    chart = json.loads(unescape(found.group(1)))
    assert all(type(c) is int for c in chart["counts"]) and sum(chart["counts"]) == COMPLAINERS
    assert len(chart["baseline"]) == len(chart["counts"]) == len(chart["labels"])
    assert chart["source"] == "detector" and all(b >= 0 for b in chart["baseline"])
    assert chart["minutes"] == 10
    assert "Baseline: the rate the detector expected" in text
    # The same numbers as a table, for screen readers.
    assert f'<td class="num">{max(chart["counts"])}</td>' in text
    live = web.get("/console/incidents/live")
    assert live.status_code == 200 and live.text.lstrip().startswith('<div id="incidents-live"')
    assert "<html" not in live.text and f'data-incident="{reference}"' in live.text
    # Chinese.
    assert "事件" in web.get("/console/incidents?lang=zh_CN").text


def test_the_incident_page_has_its_forms(burst: Story, manager: Person, tab: Tab) -> None:
    web = tab(manager)
    page = web.get(f"/console/incidents/{burst.incident['id']}")
    assert page.status_code == 200, page.text
    for needle in ('form id="incident-status"', 'form id="timeline-entry"',
                   'form id="affected-query"', 'form id="announce"', 'form id="notify"',
                   f'<a id="remediation" href="/console/incidents/{burst.incident["id"]}/'
                   'remediation"', "data-arrivals=", f'value="{burst.shop.id}"'):  # fmt: skip
        assert needle in page.text, needle
    assert "/console/tickets/" in page.text  # linked complaints
    chinese = web.get(f"/console/incidents/{burst.incident['id']}?lang=zh_CN")
    assert chinese.status_code == 200 and "时间线" in chinese.text and "受影响用户" in chinese.text
    assert 'data-event="detected"' in page.text  # the timeline
    report = web.get(f"/console/incidents/{burst.incident['id']}/report")
    assert report.status_code == 200 and burst.incident["reference"] in report.text


def test_status_severity_lead_and_timeline(burst: Story, manager: Person, tab: Tab) -> None:
    web = tab(manager)
    path = f"/console/incidents/{burst.incident['id']}"
    moved = post(web, f"{path}/status", path, status="identified", severity="critical",
                 lead_id=manager.user_id)  # fmt: skip
    assert moved.status_code == 303  # type: ignore[attr-defined]
    page = web.get(path).text
    assert 'data-status="identified"' in page and "severity-critical" in page
    back = post(web, f"{path}/status", path, status="investigating", severity="critical")
    assert back.status_code == 409 and 'role="alert"' in back.text  # type: ignore[attr-defined]
    early = post(web, f"{path}/status", path, status="reviewed", severity="critical")
    assert early.status_code == 409  # type: ignore[attr-defined]
    noted = post(web, f"{path}/timeline", path, text="Shop Alpha's developers paged")
    assert noted.status_code == 303  # type: ignore[attr-defined]
    page = web.get(path).text
    assert "Shop Alpha&#39;s developers paged" in page
    # Newest first: the note comes before the detection.
    assert page.index('data-event="note"') < page.index('data-event="detected"')
    empty = post(web, f"{path}/timeline", path, text="   ")
    assert empty.status_code == 422  # type: ignore[attr-defined]


def test_affected_preview_then_record(burst: Story, manager: Person, tab: Tab) -> None:
    web = tab(manager)
    path = f"/console/incidents/{burst.incident['id']}"
    query = {"kind": "merchant_debits", "merchant_id": burst.shop.id,
             "from": burst.window[0], "to": burst.window[1]}  # fmt: skip
    shown = web.get(f"{path}/affected", params=query)
    assert shown.status_code == 200, shown.text
    assert 'id="affected-preview"' in shown.text and 'form id="affected-add"' in shown.text
    holders = COMPLAINERS + 1
    assert f"{holders} holders (1 not yet recorded)" in shown.text
    assert f"{holders * 2 * PRICE // 100:,}.00" in shown.text
    assert "****" in shown.text  # masked holders
    before = web.get(path).text
    assert f'data-count="{COMPLAINERS}"' in before
    # The form's hidden fields carry the checked query back (times to the second).
    form = shown.text.split('form id="affected-add"', 1)[1].split("</form>", 1)[0]
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))
    assert hidden["merchant_id"] == burst.shop.id and hidden["kind"] == "merchant_debits"
    added = post(web, f"{path}/affected", path, **{k: unescape(v) for k, v in hidden.items()})
    assert added.status_code == 303  # type: ignore[attr-defined]
    assert f'data-count="{holders}"' in web.get(path).text
    bad = web.get(f"{path}/affected", params={**query, "merchant_id": "nope"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    minutes = web.get(f"{path}/affected", params={"kind": "pending_topups",
                                                  "older_than_minutes": "x"})  # fmt: skip
    assert minutes.status_code == 422


def test_announce_then_notify_once(burst: Story, manager: Person, tab: Tab,
                                   client: TestClient) -> None:  # fmt: skip
    web = tab(manager)
    path = f"/console/incidents/{burst.incident['id']}"
    page = web.get(f"{path}?template=identified").text
    assert f"Identified: {burst.incident['title']}" in page  # prefilled from the template
    texts = {
        "status": "identified", "zh_title": "商户 Alpha 重复扣款", "zh_body": "我们正在退款。",
        "en_title": "Shop Alpha charged twice", "en_body": "Refunds are on their way.",
    }  # fmt: skip
    previewed = post(web, f"{path}/announce", path, intent="preview", **texts)
    assert previewed.status_code == 200  # type: ignore[attr-defined]
    assert "Refunds are on their way." in previewed.text  # type: ignore[attr-defined]
    assert "Shop Alpha charged twice" not in client.get("/status?lang=en").text
    published = post(web, f"{path}/announce", path, intent="publish", **texts)
    assert published.status_code == 303  # type: ignore[attr-defined]
    status = client.get("/status?lang=en").text
    assert "Shop Alpha charged twice" in status and "Refunds are on their way." in status
    assert 'data-status="identified"' in web.get(path).text
    blank = post(web, f"{path}/announce", path, intent="publish", **{**texts, "en_body": " "})
    assert blank.status_code == 422  # type: ignore[attr-defined]

    told = post(web, f"{path}/notify", path, stage="affected")
    assert told.status_code == 303  # type: ignore[attr-defined]
    location = told.headers["location"]  # type: ignore[attr-defined]
    assert f"holders={COMPLAINERS}" in location
    assert f"Notices sent: {COMPLAINERS} holders" in web.get(location).text
    again = post(web, f"{path}/notify", path, stage="affected")
    assert again.status_code == 409  # type: ignore[attr-defined]
    assert "left to tell" in again.text  # type: ignore[attr-defined]
    early = post(web, f"{path}/notify", path, stage="resolved")
    assert early.status_code == 409  # type: ignore[attr-defined]


def test_the_door(burst: Story, manager: Person, tab: Tab, holder: Callable[..., Person],
                  ready_staff: Callable[[str], Person]) -> None:  # fmt: skip
    path = f"/console/incidents/{burst.incident['id']}"
    agent = tab(ready_staff("agent"))  # works tickets, cannot manage incidents
    for url in ("/console/incidents", path, "/console/incidents/live"):
        refused = agent.get(url)
        assert refused.status_code == 403 and "role lacks" in refused.text
    answer = agent.post(f"{path}/timeline", data={"text": "x", "csrf_token": token(agent, "/")})
    assert answer.status_code == 403
    for person in (None, holder()):
        away = tab(person).get(path, follow_redirects=False)
        assert away.status_code == 303 and away.headers["location"] == "/console/sign-in"
    web = tab(manager)
    token(web, path)
    assert web.post(f"{path}/timeline", data={"text": "no token"}).status_code == 403
    forged = web.post(f"{path}/status", data={"status": "resolved", "csrf_token": "0" * 64})
    assert forged.status_code == 403
    for url in (f"/console/incidents/{uuid.uuid4()}", "/console/incidents/not-an-id"):
        missing = web.get(url)
        assert missing.status_code == 404 and "There is no such incident" in missing.text
    gone = post(web, f"/console/incidents/{uuid.uuid4()}/notify", path, stage="affected")
    assert gone.status_code == 404  # type: ignore[attr-defined]


def test_without_the_detectors_baseline_history_is_used(
    burst: Story, manager: Person, tab: Tab, container: Container
) -> None:
    with UnitOfWork(container.database) as unit:
        group = unit.session.scalars(select(CollectiveGroup)).one()
        group.evidence = {k: v for k, v in group.evidence.items() if k != "baseline_per_hour"}
        incident = service.get_incident(unit.session, uuid.UUID(str(burst.incident["id"])))
        assert incident.status == "investigating"
        unit.commit()
    text = tab(manager).get("/console/incidents").text
    found = ARRIVALS.search(text)
    assert found is not None
    chart = json.loads(unescape(found.group(1)))
    assert chart["source"] == "history" and sum(chart["counts"]) == COMPLAINERS
    assert "same hour of the week over the previous four weeks" in text


def test_bucket_widths() -> None:
    assert bucket_minutes(timedelta(minutes=20)) == 10
    assert bucket_minutes(timedelta(hours=10)) == 15
    assert bucket_minutes(timedelta(hours=20)) == 30
    assert bucket_minutes(timedelta(days=3)) == 60
