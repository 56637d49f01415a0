"""The public status page and feed, public updates from templates, and email subscriptions."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

from fastapi.testclient import TestClient
from sqlalchemy import text

from anxin.api.deps import Container
from anxin.identity.delivery import FakeEmailSender
from anxin.identity.outbox import DeliveryReport
from anxin.models import Base
from tests.identity.conftest import Person

ATOM = "{http://www.w3.org/2005/Atom}"


def _open(client: TestClient, staff: Person, title: str = "Shop Alpha charged twice") -> Any:
    made = client.post("/v1/staff/incidents", json={"title": title, "severity": "major"},
                       headers=staff.headers)  # fmt: skip
    assert made.status_code == 201, made.text
    return made.json()


def _publish(client: TestClient, staff: Person, incident_id: str, **body: Any) -> Any:
    done = client.post(f"/v1/staff/incidents/{incident_id}/updates", json=body,
                       headers=staff.headers)  # fmt: skip
    assert done.status_code == 201, done.text
    return done.json()


def test_status_page_shows_announced_incidents_in_both_languages(
    client: TestClient, manager: Person
) -> None:
    empty = client.get("/status?lang=en")
    assert empty.status_code == 200
    assert "All systems operational" in empty.text
    # The web pages' policy: scripts from this site only, no inline script or handler.
    csp = empty.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert not re.search(r"<script(?![^>]*\bsrc=)", empty.text)
    assert not re.search(r"\son[a-z]+=", empty.text) and not re.search(r"\sstyle=", empty.text)
    assert 'rel="alternate" type="application/atom+xml"' in empty.text

    incident = _open(client, manager)
    # Not announced yet: the page still shows nothing of it.
    assert incident["reference"] not in client.get("/status?lang=en").text

    _publish(client, manager, incident["id"], template="investigating",
             details={"en": "Refunds will follow.", "zh": "退款将随后处理。"})  # fmt: skip
    # As on every page, ?lang= is remembered in a cookie; a new visitor's browser decides.
    client.cookies.delete("anxin_lang")
    english = client.get("/status", headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"})
    assert english.headers["content-language"] == "en"
    assert "Partial outage" in english.text
    assert "Investigating: Shop Alpha charged twice" in english.text
    assert "Refunds will follow." in english.text
    chinese = client.get("/status", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert chinese.headers["content-language"] == "zh-CN"
    assert "正在调查" in chinese.text and "退款将随后处理。" in chinese.text
    assert "北京时间" in chinese.text
    assert (
        client.get("/status?lang=zh", headers={"Accept-Language": "en"}).headers["content-language"]
        == "zh-CN"
    )

    # The template's status moves the incident; resolved moves it to the history.
    _publish(client, manager, incident["id"], template="identified")
    got = client.get(f"/v1/staff/incidents/{incident['id']}", headers=manager.headers).json()
    assert got["status"] == "identified" and got["first_announced_at"] is not None
    _publish(client, manager, incident["id"], template="resolved")
    page = client.get("/status?lang=en").text
    assert "All systems operational" in page
    assert "Past incidents" in page and "Resolved: Shop Alpha charged twice" in page
    assert client.get("/static/status.css").headers["content-type"].startswith("text/css")
    # Its own page keeps the whole history, newest update first.
    one = client.get(f"/status/incidents/{incident['reference']}?lang=en").text
    assert one.index("Resolved: Shop Alpha") < one.index("Refunds will follow.")
    assert client.get("/status/incidents/INC-0000-0000").status_code == 404


def test_everything_shown_is_escaped(client: TestClient, manager: Person) -> None:
    incident = _open(client, manager, title="<script>alert(1)</script> & co")
    _publish(client, manager, incident["id"], texts={
        "en": {"title": "<b>bold</b>", "body": "<img src=x onerror=alert(1)>"},
        "zh": {"title": "<i>中</i>", "body": "<iframe>"},
    }, status="investigating")  # fmt: skip
    for path in ("/status?lang=en", f"/status/incidents/{incident['reference']}?lang=en"):
        page = client.get(path).text
        assert "<img" not in page and "<b>bold" not in page and "<script>alert" not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;b&gt;bold" in page
    chinese = client.get("/status?lang=zh").text
    assert "<iframe>" not in chinese and "&lt;iframe&gt;" in chinese and "&lt;i&gt;中" in chinese
    feed = client.get("/status/feed.atom?lang=en")
    ElementTree.fromstring(feed.content)  # well-formed despite the markup in the texts


def test_atom_feed_per_language(client: TestClient, manager: Person) -> None:
    incident = _open(client, manager)
    _publish(client, manager, incident["id"], template="investigating")
    _publish(client, manager, incident["id"], template="monitoring")
    for lang, word in (("en", "Monitoring"), ("zh", "观察中")):
        feed = client.get(f"/status/feed.atom?lang={lang}")
        assert feed.status_code == 200
        assert feed.headers["content-type"].startswith("application/atom+xml")
        root = ElementTree.fromstring(feed.content)
        entries = root.findall(f"{ATOM}entry")
        assert len(entries) == 2
        newest = entries[0].find(f"{ATOM}title")
        assert newest is not None and newest.text is not None and word in newest.text
        assert incident["reference"] in newest.text


def test_bad_updates_are_refused(client: TestClient, manager: Person) -> None:
    incident = _open(client, manager)
    url = f"/v1/staff/incidents/{incident['id']}/updates"
    for body in ({}, {"template": "party"}, {"texts": {"en": {"title": "t", "body": "b"}}},
                 {"template": "investigating", "status": "reviewed"}):  # fmt: skip
        answer = client.post(url, json=body, headers=manager.headers)
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")


def _link(mailbox: FakeEmailSender, address: str, path: str) -> str:
    sent = mailbox.last_to(address)
    assert sent is not None
    found = re.search(rf"http://testserver({re.escape(path)}\?\S+)", sent.body)
    assert found, sent.body
    return found.group(1)


def test_subscribers_confirm_get_updates_and_leave(
    client: TestClient, container: Container, manager: Person, mailbox: FakeEmailSender,
    deliver: Callable[[], DeliveryReport],
) -> None:  # fmt: skip
    address = "reader@example.com"
    asked = client.post("/v1/status/subscriptions", json={"email": address, "locale": "en"})
    assert asked.status_code == 202, asked.text
    # The same answer for an address already asked (nothing to learn from it).
    again = client.post("/v1/status/subscriptions", json={"email": address, "locale": "en"})
    assert again.status_code == 202 and again.json() == asked.json()
    bad = client.post("/v1/status/subscriptions", json={"email": "not-an-address"})
    assert bad.status_code == 422
    deliver()
    confirm = _link(mailbox, address, "/status/subscriptions/confirm")
    # Links in emails sent before the pages moved lead to the same page.
    old = client.get(f"/v1{confirm}".replace("token=", "token=x"), follow_redirects=False)
    assert old.status_code == 307 and old.headers["location"].startswith(
        "/status/subscriptions/confirm?token=x"
    )

    incident = _open(client, manager)
    _publish(client, manager, incident["id"], template="investigating")
    deliver()
    # Not confirmed yet: the last email it got is still the confirm request.
    assert "/confirm?" in (mailbox.last_to(address) or mailbox.sent[0]).body
    confirmed = client.get(confirm, headers={"Accept-Language": "en"})
    assert confirmed.status_code == 200 and "Your subscription is confirmed" in confirmed.text
    assert client.get(confirm).status_code == 404  # a confirm link works once

    _publish(client, manager, incident["id"], template="identified")
    deliver()
    update = mailbox.last_to(address)
    assert update is not None and update.subject is not None
    assert update.subject.startswith(f"[{incident['reference']}] Identified")
    unsubscribe = _link(mailbox, address, "/status/subscriptions/unsubscribe")
    left = client.get(unsubscribe, headers={"Accept-Language": "en"})
    assert left.status_code == 200 and "You are unsubscribed" in left.text
    assert client.get(unsubscribe).status_code == 200  # the link works any number of times
    assert client.get(unsubscribe.replace("sig=", "sig=0")[:-1]).status_code == 404
    _publish(client, manager, incident["id"], template="monitoring")
    deliver()
    assert mailbox.last_to(address) == update  # nothing more after leaving
    assert _tables_holding(container, "reader@example.com") == []


def _tables_holding(container: Container, value: str) -> list[str]:
    """Tables where ``value`` is stored in plaintext (any column, JSON-escaped too)."""
    forms = {value.encode(), json.dumps(value)[1:-1].encode()}
    found = []
    with container.database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(text(f'SELECT * FROM "{table.name}"')):
                cells = b"\x00".join(
                    bytes(v) if isinstance(v, bytes | memoryview) else
                    (json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list)
                     else str(v)).encode()
                    for v in row
                )  # fmt: skip
                if any(f in cells for f in forms):
                    found.append(table.name)
    return found


def test_the_page_form_subscribes_without_scripts(
    client: TestClient, mailbox: FakeEmailSender, deliver: Callable[[], DeliveryReport]
) -> None:
    # https, for the __Host- CSRF cookie, as a browser on the real site.
    web = TestClient(client.app, base_url="https://testserver")
    page = web.get("/status?lang=zh").text
    assert 'action="/status/subscribe"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    # Like every form of the site, it needs the page's token.
    for data in ({"email": "x@example.com"}, {"email": "x@example.com", "csrf_token": "forged"}):
        assert web.post("/status/subscribe", data=data).status_code == 403
    answer = web.post("/status/subscribe", data={"email": "读者@example.com",
                                                 "csrf_token": token.group(1)},
                      follow_redirects=False)  # fmt: skip
    assert answer.status_code == 303
    shown = web.get(answer.headers["location"])
    assert "确认邮件" in shown.text and 'role="status"' in shown.text
    bad = web.post("/status/subscribe", data={"email": "<b>not-an-address</b>",
                                              "csrf_token": token.group(1)})  # fmt: skip
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    assert "<b>not-an-address" not in bad.text and "&lt;b&gt;not-an-address" in bad.text
    deliver()
    assert any("/status/subscriptions/confirm?token=" in m.body for m in mailbox.sent)
    assert all(m.recipient != "x@example.com" for m in mailbox.sent)
