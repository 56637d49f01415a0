"""The holder's inbox and access log as pages, without a browser (SQLite and PostgreSQL):
newest first, unread marked in words, mark one and all read, paging without scripts,
someone else's notification (404), CSRF, escaping; the access log's who, when, what, why
and whether the data was seen in full, and how to complain."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from anxin.api.deps import Container
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Notification, User
from anxin.privacy import access_log
from tests.care import conftest as care
from tests.identity.conftest import Person
from tests.web.conftest import door_for

make_user = care.make_user

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
HOSTILE = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
Tab = Callable[[Person | None], TestClient]


def token(web: TestClient, path: str) -> str:
    found = TOKEN.search(web.get(path).text)
    assert found is not None, path
    return found.group(1)


@pytest.fixture
def tab(client: TestClient) -> Tab:
    def make(person: Person | None) -> TestClient:
        web = TestClient(client.app, base_url="https://testserver", raise_server_exceptions=False)
        if person is not None:
            web.cookies.set("__Host-anxin_session", person.token)
        return web

    return make


def notices(container: Container, person: Person, *titles: str) -> list[str]:
    """Notifications for ``person``, one minute apart, the last title the newest."""
    now = container.clock.now()
    ids = []
    with UnitOfWork(container.database) as uow:
        for index, title in enumerate(titles):
            row = Notification(
                id=new_id(), user_id=uuid.UUID(person.user_id), kind="test.notice", title=title,
                body=f"body of {title}", data={}, read_at=None,
                created_at=now - timedelta(minutes=len(titles) - index),
            )  # fmt: skip
            uow.session.add(row)
            ids.append(str(row.id))
        uow.commit()
    return ids


def _clear(web: TestClient) -> None:
    """Only what the test made: sign-up may already have left a notice."""
    answer = web.post("/notifications/read-all", data={"csrf_token": token(web, "/notifications")},
                      follow_redirects=False)  # fmt: skip
    assert answer.status_code == 303


def test_inbox_newest_first_unread_marked_and_read(
    holder: Callable[..., Person], tab: Tab, container: Container
) -> None:
    person = holder()
    web = tab(person)
    web.headers["Accept-Language"] = "en"
    _clear(web)
    first, second = notices(container, person, "Older notice", "Newer notice")
    page = web.get("/notifications")
    assert page.status_code == 200
    assert page.text.index("Newer notice") < page.text.index("Older notice")
    assert "Unread messages: 2" in page.text
    assert page.text.count('class="badge unread-badge">Unread</span>') == 2
    assert 'aria-current="page"' in page.text and 'href="/notifications" aria-current' in page.text

    form = {"csrf_token": token(web, "/notifications"), "shown": "20"}
    done = web.post(f"/notifications/{first}/read", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/notifications#n-{first}"
    page = web.get("/notifications").text
    assert "Unread messages: 1" in page
    assert f'action="/notifications/{first}/read"' not in page
    assert f'action="/notifications/{second}/read"' in page
    # The API sees the same state.
    api = web.get("/v1/me/notifications", headers={"Authorization": f"Bearer {person.token}"})
    assert api.json()["unread"] == 1

    done = web.post("/notifications/read-all", data={"csrf_token": token(web, "/notifications")},
                    follow_redirects=False)  # fmt: skip
    assert done.headers["location"] == "/notifications?done=all_read"
    page = web.get(done.headers["location"]).text
    assert "All messages are marked as read." in page and 'role="status"' in page
    assert "You have no unread messages." in page and "unread-badge" not in page


def test_inbox_in_chinese_and_escaped(
    holder: Callable[..., Person], tab: Tab, container: Container
) -> None:
    person = holder()
    web = tab(person)
    notices(container, person, HOSTILE)
    page = web.get("/notifications")
    assert '<html lang="zh-CN">' in page.text and "消息" in page.text and "未读" in page.text
    assert HOSTILE not in page.text and ESCAPED in page.text


def test_inbox_pages_without_scripts(
    holder: Callable[..., Person], tab: Tab, container: Container
) -> None:
    person = holder()
    web = tab(person)
    _clear(web)
    notices(container, person, *[f"notice {n:02d}" for n in range(25)])
    page = web.get("/notifications").text
    assert "notice 24" in page and "notice 05" in page and "notice 04" not in page
    assert 'href="/notifications?shown=40"' in page  # a plain link; htmx only speeds it up
    more = web.get("/notifications?shown=40").text
    assert "notice 00" in more and "/notifications?shown=60" not in more
    # Marking one read from the longer list returns to it.
    last = re.search(r'action="/notifications/([0-9a-f-]{36})/read"', more)
    assert last is not None
    form = {"csrf_token": token(web, "/notifications"), "shown": "40"}
    back = web.post(f"/notifications/{last.group(1)}/read", data=form, follow_redirects=False)
    assert back.headers["location"].startswith("/notifications?shown=40#n-")
    # Edited counts are clamped, never a failure.
    assert web.get("/notifications?shown=0").status_code == 200
    assert "notice 00" in web.get("/notifications?shown=99999").text


def test_someone_elses_notification_is_404(
    holder: Callable[..., Person], tab: Tab, container: Container
) -> None:
    owner, other = holder(), holder()
    (mine,) = notices(container, owner, "Private notice")
    intruder = tab(other)
    for target in (mine, str(uuid.uuid4()), "not-an-id"):
        answer = intruder.post(f"/notifications/{target}/read",
                               data={"csrf_token": token(intruder, "/notifications")})  # fmt: skip
        assert answer.status_code == 404 and "Private notice" not in answer.text
    page = tab(owner).get("/notifications").text
    assert f'action="/notifications/{mine}/read"' in page  # still unread


def test_inbox_forms_need_the_token(
    holder: Callable[..., Person], tab: Tab, container: Container
) -> None:
    person = holder()
    (one,) = notices(container, person, "Notice")
    web = tab(person)
    web.get("/notifications")  # the browser cookie exists
    for path in (f"/notifications/{one}/read", "/notifications/read-all"):
        for data in ({}, {"csrf_token": "forged"}):
            assert web.post(path, data=data).status_code == 403
    # Another browser's (or another session's) token does not work either.
    stranger = tab(holder())
    theirs = token(stranger, "/notifications")
    assert web.post(f"/notifications/{one}/read", data={"csrf_token": theirs}).status_code == 403
    assert f'action="/notifications/{one}/read"' in web.get("/notifications").text


def test_signed_out_inbox_and_access_log_send_to_sign_in(tab: Tab) -> None:
    for path in ("/notifications", "/security/access-log"):
        answer = tab(None).get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == door_for(path)


# -- the access log ------------------------------------------------------------------------


def _accesses(container: Container, person: Person) -> tuple[str, str]:
    """A masked complaint read, a reveal on a case, a break-glass reveal; staff labels."""
    now = container.clock.now()
    holder_id = uuid.UUID(person.user_id)
    with UnitOfWork(container.database) as uow:
        vault = container.keys.vault()
        agent: User = make_user(uow.session, vault, now, role="agent")
        officer: User = make_user(uow.session, vault, now, role="risk_officer")
        access_log.record(uow.session, staff=agent, holder_id=holder_id, action="care_ticket_read",
                          fields=["complaint"], purpose={"ticket": "AX-123456"},
                          now=now - timedelta(hours=2))  # fmt: skip
        access_log.record(uow.session, staff=officer, holder_id=holder_id, action="reveal",
                          fields=["legal_name", "id_number"],
                          purpose={"kind": "fraud", "reference": "CASE-42"},
                          now=now - timedelta(hours=1))  # fmt: skip
        access_log.record(uow.session, staff=officer, holder_id=holder_id, action="reveal",
                          fields=["phone"], purpose={"kind": "break_glass", "reason": HOSTILE},
                          now=now, break_glass=True)  # fmt: skip
        uow.commit()
        return str(agent.pseudonym), str(officer.pseudonym)


def test_access_log_shows_who_when_what_why(
    holder: Callable[..., Person], tab: Tab, container: Container
) -> None:
    person = holder()
    web = tab(person)
    web.headers["Accept-Language"] = "en"
    empty = web.get("/security/access-log")
    assert empty.status_code == 200 and "No staff member has accessed your data." in empty.text
    assert 'href="/care/new"' in empty.text
    agent, officer = _accesses(container, person)
    page = web.get("/security/access-log").text
    assert "When (Beijing time)" in page
    rows = page.split("<tbody>")[1].split("<tr")[1:]
    assert len(rows) == 3
    newest, middle, oldest = rows
    assert officer in newest and "Risk officer" in newest and "Emergency access" in newest
    assert "In full" in newest and "phone number" in newest
    assert HOSTILE not in page and ESCAPED in newest  # the stated reason, escaped
    assert "Case CASE-42" in middle and "legal name" in middle and "ID number" in middle
    assert agent in oldest and "Customer service agent" in oldest and "Masked" in oldest
    assert "Complaint AX-123456" in oldest and "Read your complaint" in oldest
    # The times are Beijing time (UTC+8).
    at = container.clock.now() + timedelta(hours=8)
    assert at.strftime("%Y-%m-%d %H:%M") in newest
    # Another holder sees none of it.
    assert officer not in tab(holder()).get("/security/access-log").text


def test_access_log_in_chinese_and_paged(
    holder: Callable[..., Person], tab: Tab, container: Container
) -> None:
    person = holder()
    web = tab(person)
    now = container.clock.now()
    with UnitOfWork(container.database) as uow:
        agent = make_user(uow.session, container.keys.vault(), now, role="agent")
        for minute in range(23):
            access_log.record(uow.session, staff=agent, holder_id=uuid.UUID(person.user_id),
                              action="care_ticket_read", fields=["complaint"],
                              purpose={"ticket": f"AX-{minute:06d}"},
                              now=now - timedelta(minutes=30 - minute))  # fmt: skip
        uow.commit()
    page = web.get("/security/access-log").text
    assert "访问记录" in page or "查看" in page
    assert "投诉 AX-000022" in page and "AX-000002" not in page
    older = re.search(r'href="(/security/access-log\?before=[0-9a-f-]{36})"', page)
    assert older is not None
    rest = web.get(older.group(1)).text
    assert "AX-000002" in rest and "AX-000000" in rest and "AX-000022" not in rest
    assert "?before=" not in rest
    assert web.get("/security/access-log?before=junk").status_code == 200
