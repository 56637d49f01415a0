"""The public status page and feed, and public updates from templates (email subscriptions:
test_status_subscriptions.py)."""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree

from fastapi.testclient import TestClient

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
