"""The public status page in the web layout, without a browser (SQLite and PostgreSQL):
no holder navigation, both languages (page texts from the catalog, the updates' own texts
chosen by the page's language), one incident's page, the Atom feed linked and valid,
invalid email links, the headers that let shared caches keep /status and an incident's page.
tests/incidents/test_status_page.py covers escaping and the feed per language;
tests/incidents/test_status_subscriptions.py the subscriptions from form to one-click
unsubscribe."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

from fastapi.testclient import TestClient

from tests.identity.conftest import Person

ATOM = "{http://www.w3.org/2005/Atom}"


def _announced(client: TestClient, staff: Person) -> dict[str, Any]:
    made = client.post("/v1/staff/incidents", headers=staff.headers,
                       json={"title": "Top-ups delayed", "severity": "minor"})  # fmt: skip
    assert made.status_code == 201, made.text
    incident: dict[str, Any] = made.json()
    steps = (("investigating", {"en": "First note.", "zh": "第一条说明。"}),
             ("identified", {"en": "Second note.", "zh": "第二条说明。"}))  # fmt: skip
    for step, details in steps:
        done = client.post(f"/v1/staff/incidents/{incident['id']}/updates", headers=staff.headers,
                           json={"template": step, "details": details})  # fmt: skip
        assert done.status_code == 201, done.text
    return incident


def test_status_in_both_languages_without_holder_navigation(
    client: TestClient, manager: Person, holder: Callable[..., Person]
) -> None:
    incident = _announced(client, manager)
    web = TestClient(client.app, base_url="https://testserver")
    web.cookies.set("__Host-anxin_session", holder().token)  # signed in: still the public page
    english = web.get("/status?lang=en")
    assert english.status_code == 200 and '<html lang="en">' in english.text
    assert 'href="/wallet"' not in english.text and 'action="/sign-out"' not in english.text
    assert "Minor disruption" in english.text and "Current incidents" in english.text
    assert "Identified: Top-ups delayed" in english.text and "第二条说明" not in english.text
    # Updates newest first, each with its Beijing time.
    assert english.text.index("Second note.") < english.text.index("First note.")
    assert "Times are Beijing time." in english.text
    assert f'href="/status/incidents/{incident["reference"]}"' in english.text
    assert 'href="/status/feed.atom?lang=en"' in english.text
    chinese = web.get("/status?lang=zh_CN")
    assert '<html lang="zh-CN">' in chinese.text and "服务状态" in chinese.text
    assert "部分服务受到轻微影响" in chinese.text and "第二条说明。" in chinese.text
    assert "Second note." not in chinese.text and "北京时间" in chinese.text
    assert 'href="/status/feed.atom?lang=zh"' in chinese.text
    # The footer of every page links here.
    assert 'href="/status"' in web.get("/sign-in").text


def test_one_incident_page_and_what_is_not_public(client: TestClient, manager: Person) -> None:
    incident = _announced(client, manager)
    page = client.get(f"/status/incidents/{incident['reference']}?lang=en")
    assert page.status_code == 200 and "<h1>Identified: Top-ups delayed</h1>" in page.text
    assert page.text.index("Second note.") < page.text.index("First note.")
    hidden = client.post("/v1/staff/incidents", headers=manager.headers,
                         json={"title": "Internal only", "severity": "major"}).json()  # fmt: skip
    for reference in (hidden["reference"], "NOPE", "<b>x"):
        missing = client.get(f"/status/incidents/{reference}?lang=en")
        assert missing.status_code == 404 and "There is no such incident" in missing.text
        assert "Internal only" not in missing.text and "<b>x" not in missing.text


def test_feed_is_linked_valid_and_points_at_incident_pages(
    client: TestClient, manager: Person
) -> None:
    incident = _announced(client, manager)
    feed = client.get("/status/feed.atom?lang=en")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(feed.content)
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 2
    link = entries[0].find(f"{ATOM}link")
    assert link is not None
    assert link.get("href", "").endswith(f"/status/incidents/{incident['reference']}?lang=en")


def test_bad_email_links_are_a_page_not_an_error(client: TestClient) -> None:
    for path in (
        "/status/subscriptions/confirm?token=not-a-token-we-made",
        "/status/subscriptions/confirm",
        f"/status/subscriptions/unsubscribe?id={uuid.uuid4()}&sig={'0' * 64}",
        "/status/subscriptions/unsubscribe?id=junk&sig=x",
        "/status/subscriptions/elsewhere",
    ):
        page = client.get(f"{path}{'&' if '?' in path else '?'}lang=en")
        assert page.status_code == 404, path
        assert "This link does not work" in page.text and "<html" in page.text
    old = client.get("/v1/status/subscriptions/unsubscribe?id=a&sig=b", follow_redirects=False)
    assert old.status_code == 307
    assert old.headers["location"] == "/status/subscriptions/unsubscribe?id=a&sig=b"


def test_status_and_incident_pages_may_be_kept_by_shared_caches(
    client: TestClient, manager: Person, holder: Callable[..., Person]
) -> None:
    incident = _announced(client, manager)
    web = TestClient(client.app, base_url="https://testserver")
    web.cookies.set("__Host-anxin_session", holder().token)  # a holder's cookies change nothing
    for path in ("/status", f"/status/incidents/{incident['reference']}"):
        for language in ("en", "zh-CN"):
            page = web.get(path, headers={"Accept-Language": language})
            assert page.status_code == 200, path
            assert page.headers["cache-control"] == "public, max-age=30"
            # The language may come from the cookie: caches keep one copy per both.
            assert page.headers["vary"] == "Accept-Language, Cookie"
            # Nothing about this visitor: no cookie set, no form, no token.
            assert "set-cookie" not in page.headers
            assert "csrf_token" not in page.text and "<form" not in page.text
            assert page.headers["content-security-policy"].startswith("default-src 'self'")
    # ?lang= is remembered in a cookie: that answer is for this browser only.
    chosen = web.get("/status?lang=en")
    assert "set-cookie" in chosen.headers
    assert chosen.headers["cache-control"] == "private, max-age=30"
    # A missing incident is not kept (it may be announced a moment later), nor are the
    # pages with a form.
    assert web.get("/status/incidents/NOPE").headers["cache-control"] == "no-store"
    assert web.get("/status/subscribe").headers["cache-control"] == "no-store"
    feed = web.get("/status/feed.atom?lang=en")
    assert feed.headers["cache-control"] == "public, max-age=60"
    assert feed.headers["vary"] == "Accept-Language" and "set-cookie" not in feed.headers
