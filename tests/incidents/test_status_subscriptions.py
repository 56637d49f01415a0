"""Email subscriptions to the status page: the subscribe form, the confirm and unsubscribe
links that only show a button (mail scanners open links), idempotent presses, RFC 8058
one-click unsubscribing with the List-Unsubscribe headers of the update emails, and the
address kept only sealed."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import text

from anxin.api.deps import Container
from anxin.identity.delivery import FakeEmailSender, Sent
from anxin.identity.outbox import DeliveryReport
from anxin.models import Base
from tests.identity.conftest import Person
from tests.incidents.test_status_page import _open, _publish

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def _link(sent: Sent | None, path: str) -> str:
    assert sent is not None
    found = re.search(rf"http://testserver({re.escape(path)}\?\S+)", sent.body)
    assert found, sent.body
    return found.group(1)


def _browser(client: TestClient) -> TestClient:
    # https, for the __Host- CSRF cookie, as a browser on the real site.
    return TestClient(client.app, base_url="https://testserver")


def _press(web: TestClient, link: str) -> tuple[str, dict[str, str]]:
    """Open a link's page and read its one form: where it posts and what it sends."""
    page = web.get(link, headers={"Accept-Language": "en"})
    assert page.status_code == 200, page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action is not None
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    return action.group(1).replace("&amp;", "&"), fields


def test_links_only_show_a_button_and_presses_are_idempotent(
    client: TestClient, container: Container, manager: Person, mailbox: FakeEmailSender,
    deliver: Callable[[], DeliveryReport],
) -> None:  # fmt: skip
    address = "reader@example.com"
    asked = client.post("/v1/status/subscriptions", json={"email": address, "locale": "en"})
    assert asked.status_code == 202, asked.text
    # The same answer for an address already asked (nothing to learn from it).
    again = client.post("/v1/status/subscriptions", json={"email": address, "locale": "en"})
    assert again.status_code == 202 and again.json() == asked.json()
    assert client.post("/v1/status/subscriptions", json={"email": "nope"}).status_code == 422
    deliver()
    confirm = _link(mailbox.last_to(address), "/status/subscriptions/confirm")
    # Links in emails sent before the pages moved lead to the same page.
    old = client.get(f"/v1{confirm}", follow_redirects=False)
    assert old.status_code == 307 and old.headers["location"] == confirm

    # A mail scanner opens the link (twice, even, and through the old address): nothing
    # is confirmed, so the next update is not sent to the address.
    web = _browser(client)
    for opened in (confirm, f"/v1{confirm}", confirm):
        page = web.get(opened, headers={"Accept-Language": "en"})
        assert page.status_code == 200 and "Confirm your subscription" in page.text
        assert "Your subscription is confirmed" not in page.text
        assert page.headers["cache-control"] == "no-store"
    incident = _open(client, manager)
    _publish(client, manager, incident["id"], template="investigating")
    deliver()
    assert "/confirm?" in (mailbox.last_to(address) or mailbox.sent[0]).body

    # The button: CSRF-checked like every form; pressed twice, the same answer.
    action, fields = _press(web, confirm)
    assert action == "/status/subscriptions/confirm" and "token" in fields
    assert web.post(action, data={"token": fields["token"]}).status_code == 403
    for _ in range(2):
        done = web.post(action, data=fields, follow_redirects=False)
        assert done.status_code == 303
        assert done.headers["location"] == "/status/subscriptions/confirmed"
    shown = web.get("/status/subscriptions/confirmed?lang=en")
    assert "Your subscription is confirmed" in shown.text and 'role="status"' in shown.text
    wrong = web.post(action, data={**fields, "token": "not-a-token-we-made"})
    assert wrong.status_code == 404 and "This link does not work" in wrong.text

    _publish(client, manager, incident["id"], template="identified")
    deliver()
    update = mailbox.last_to(address)
    assert update is not None and update.subject is not None
    assert update.subject.startswith(f"[{incident['reference']}] Identified")
    leave = _link(update, "/status/subscriptions/unsubscribe")
    # RFC 2369 / RFC 8058: the mail app's own unsubscribe button, on the same signed link.
    assert update.headers == {
        "List-Unsubscribe": f"<http://testserver{leave}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    # Opening the link does not unsubscribe: the next update still arrives.
    opened = web.get(leave, headers={"Accept-Language": "en"})
    assert opened.status_code == 200 and "Stop status emails" in opened.text
    _publish(client, manager, incident["id"], template="monitoring")
    deliver()
    still = mailbox.last_to(address)
    assert still is not None and still != update and "Monitoring" in (still.subject or "")

    # The mail provider's one-click POST: no cookie, no CSRF token, no Origin; idempotent.
    provider = TestClient(client.app, base_url="https://testserver")
    forged = leave.replace("sig=", "sig=0")[:-1]
    assert provider.post(forged, data=ONE_CLICK).status_code == 404
    assert provider.post(leave, data={"List-Unsubscribe": "yes"}).status_code == 403
    for _ in range(2):
        left = provider.post(leave, data=ONE_CLICK, headers={"Accept-Language": "en"},
                             follow_redirects=False)  # fmt: skip
        assert left.status_code == 200 and "You are unsubscribed" in left.text
    # After leaving, the old confirm link no longer subscribes the address.
    assert web.get(confirm).status_code == 404
    assert web.post("/status/subscriptions/confirm", data=fields).status_code == 404
    _publish(client, manager, incident["id"], template="resolved")
    deliver()
    assert mailbox.last_to(address) == still  # nothing more after leaving
    assert _tables_holding(container, address) == []


def test_the_unsubscribe_page_button_and_one_click_as_multipart(
    client: TestClient, manager: Person, mailbox: FakeEmailSender,
    deliver: Callable[[], DeliveryReport],
) -> None:  # fmt: skip
    web = _browser(client)
    readers = ("one@example.com", "two@example.com")
    for address in readers:
        client.post("/v1/status/subscriptions", json={"email": address, "locale": "zh"})
    deliver()
    for address in readers:
        action, fields = _press(
            web, _link(mailbox.last_to(address), "/status/subscriptions/confirm")
        )
        assert web.post(action, data=fields, follow_redirects=False).status_code == 303
    incident = _open(client, manager)
    _publish(client, manager, incident["id"], template="investigating")
    deliver()
    first, second = (
        _link(mailbox.last_to(a), "/status/subscriptions/unsubscribe") for a in readers
    )

    # The page's button: the form posts to the signed link with the page's CSRF token.
    chinese = web.get(f"{first}&lang=zh_CN")
    assert "退订服务状态邮件" in chinese.text and "<button" in chinese.text
    action, fields = _press(web, first)
    assert action == first and set(fields) == {"csrf_token"}
    assert web.post(action, data={}).status_code == 403  # neither one-click nor the token
    for _ in range(2):
        done = web.post(action, data=fields, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/status/subscriptions/left"
    assert "您已退订" in web.get("/status/subscriptions/left?lang=zh_CN").text

    # RFC 8058 allows the one-click body as multipart/form-data too.
    multipart = client.post(second, files={"List-Unsubscribe": (None, "One-Click")})
    assert multipart.status_code == 200
    before = len(mailbox.sent)
    _publish(client, manager, incident["id"], template="identified")
    deliver()
    assert len(mailbox.sent) == before  # both left: no more emails


def test_the_subscribe_page_form(
    client: TestClient, mailbox: FakeEmailSender, deliver: Callable[[], DeliveryReport]
) -> None:
    web = _browser(client)
    status = web.get("/status?lang=zh").text
    assert 'href="/status/subscribe"' in status and "<form" not in status
    page = web.get("/status/subscribe?lang=zh")
    assert page.status_code == 200 and 'action="/status/subscribe"' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert '<label for="email">' in page.text and "<h1>" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    # Like every form of the site, it needs the page's token.
    for data in ({"email": "x@example.com"}, {"email": "x@example.com", "csrf_token": "forged"}):
        assert web.post("/status/subscribe", data=data).status_code == 403
    answer = web.post("/status/subscribe", data={"email": "读者@example.com",
                                                 "csrf_token": token.group(1)},
                      follow_redirects=False)  # fmt: skip
    assert answer.status_code == 303
    assert answer.headers["location"] == "/status/subscribe?done=subscribed"
    shown = web.get(answer.headers["location"])
    assert "确认邮件" in shown.text and 'role="status"' in shown.text
    bad = web.post("/status/subscribe", data={"email": "<b>not-an-address</b>",
                                              "csrf_token": token.group(1)})  # fmt: skip
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    assert "<b>not-an-address" not in bad.text and "&lt;b&gt;not-an-address" in bad.text
    deliver()
    assert any("/status/subscriptions/confirm?token=" in m.body for m in mailbox.sent)
    assert all(m.recipient != "x@example.com" for m in mailbox.sent)


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
