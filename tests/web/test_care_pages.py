"""The care desk and the agent console as pages, without a browser (SQLite and
PostgreSQL): filing and following a complaint, someone else's ticket (404), CSRF,
escaping, the console's door (two factors, ``care:work``), SLA colours, macros, notes,
resolving and the rating."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.care import macros
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import User
from anxin.models.care import SlaClock
from anxin.web.console_pages import sla_state
from tests.care import conftest as care
from tests.identity.conftest import Person
from tests.web.conftest import door_for

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
HOSTILE = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
Tab = Callable[[Person | None], TestClient]


@pytest.fixture
def tab(client: TestClient) -> Tab:
    """A browser tab (https, for the ``__Host-`` cookies) signed in as ``person``."""

    def make(person: Person | None) -> TestClient:
        web = TestClient(client.app, base_url="https://testserver", raise_server_exceptions=False)
        if person is not None:
            web.cookies.set("__Host-anxin_session", person.token)
        return web

    return make


def token(web: TestClient, path: str) -> str:
    found = TOKEN.search(web.get(path).text)
    assert found is not None, path
    return found.group(1)


def post(web: TestClient, path: str, form_page: str, **data: str) -> object:
    return web.post(path, data={**data, "csrf_token": token(web, form_page)},
                    follow_redirects=False)  # fmt: skip


def file(web: TestClient, subject: str, body: str, transfer: str = "") -> str:
    answer = web.post(
        "/care/new", data={"subject": subject, "body": body, "transfer": transfer,
                           "csrf_token": token(web, "/care/new")},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.endswith("?done=filed")
    return location.split("/")[2].split("?")[0]


def test_holder_files_follows_and_answers(holder: Callable[..., Person], tab: Tab) -> None:
    web = tab(holder())
    web.headers["Accept-Language"] = "en"
    ticket_id = file(web, "Money taken", "I did not make this payment yesterday")
    page = web.get(f"/care/{ticket_id}?done=filed")
    assert page.status_code == 200
    assert "Your complaint was received. Its reference is AX-" in page.text
    assert "I did not make this payment yesterday" in page.text
    assert "Next answer by" in page.text and "(Beijing time)" in page.text
    listing = web.get("/care")
    assert "Money taken" in listing.text and f"/care/{ticket_id}" in listing.text
    answered = web.post(f"/care/{ticket_id}/reply", data={
        "body": "It was 38.05 CNY", "csrf_token": token(web, f"/care/{ticket_id}"),
    }, follow_redirects=False)  # fmt: skip
    assert answered.status_code == 303
    assert "It was 38.05 CNY" in web.get(f"/care/{ticket_id}").text
    # Not resolved yet: no rating form, and a rating is refused.
    assert f'action="/care/{ticket_id}/rating"' not in web.get(f"/care/{ticket_id}").text
    refused = web.post(f"/care/{ticket_id}/rating", data={
        "rating": "5", "csrf_token": token(web, f"/care/{ticket_id}"),
    })  # fmt: skip
    assert refused.status_code == 409 and 'role="alert"' in refused.text


def test_chinese_pages(holder: Callable[..., Person], tab: Tab) -> None:
    web = tab(holder())
    assert "提交投诉" in web.get("/care/new").text
    ticket_id = file(web, "扣款", "昨天被扣了钱")
    assert "我们已收到您的投诉" in web.get(f"/care/{ticket_id}?done=filed").text


def test_a_transfer_not_in_your_statement_is_refused(
    holder: Callable[..., Person], tab: Tab
) -> None:
    web = tab(holder())
    answer = web.post("/care/new", data={
        "subject": "x", "body": "about this", "transfer": str(uuid.uuid4()),
        "csrf_token": token(web, "/care/new"),
    })  # fmt: skip
    assert answer.status_code == 404 and 'role="alert"' in answer.text
    assert "about this" in answer.text  # what they typed is kept


def test_someone_elses_ticket_is_404(holder: Callable[..., Person], tab: Tab) -> None:
    owner, other = tab(holder()), tab(holder())
    ticket_id = file(owner, "Mine", "my private complaint")
    for path in (f"/care/{ticket_id}", f"/care/{uuid.uuid4()}", "/care/not-an-id"):
        page = other.get(path)
        assert page.status_code == 404 and "my private complaint" not in page.text
    for action in ("reply", "rating"):
        answer = other.post(f"/care/{ticket_id}/{action}", data={
            "body": "hijack", "rating": "1", "csrf_token": token(other, "/care"),
        })  # fmt: skip
        assert answer.status_code == 404
    assert "hijack" not in owner.get(f"/care/{ticket_id}").text


def test_forms_need_their_token(holder: Callable[..., Person], tab: Tab,
                                agent: Person) -> None:  # fmt: skip
    web = tab(holder())
    token(web, "/care")  # the tab has its CSRF cookie
    assert web.post("/care/new", data={"subject": "s", "body": "b"}).status_code == 403
    ticket_id = file(web, "s", "b")
    forged = {"body": "b", "csrf_token": "0" * 64}
    assert web.post(f"/care/{ticket_id}/reply", data=forged).status_code == 403
    console = tab(agent)
    token(console, "/console")
    for action in ("reply", "note", "resolve"):
        answer = console.post(f"/console/tickets/{ticket_id}/{action}", data=forged)
        assert answer.status_code == 403
    foreign = console.post(
        f"/console/tickets/{ticket_id}/note",
        data={"body": "b", "csrf_token": token(console, "/console")},
        headers={"Origin": "https://evil.example"},
    )  # fmt: skip
    assert foreign.status_code == 403


def test_output_is_escaped(holder: Callable[..., Person], tab: Tab,
                           agent: Person) -> None:  # fmt: skip
    web = tab(holder(name=HOSTILE))
    ticket_id = file(web, HOSTILE, HOSTILE)
    for page in (web.get(f"/care/{ticket_id}"), web.get("/care")):
        assert HOSTILE not in page.text and ESCAPED in page.text
    console = tab(agent)
    for page in (console.get("/console"), console.get(f"/console/tickets/{ticket_id}")):
        assert page.status_code == 200
        assert HOSTILE not in page.text and ESCAPED in page.text
        assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)
        assert not re.search(r"\s(style|on[a-z]+)=", page.text)


def test_console_door(holder: Callable[..., Person], tab: Tab,
                      ready_staff: Callable[[str], Person], make_staff: Callable[..., Person],
                      ) -> None:  # fmt: skip
    for who in (None, holder(), make_staff("agent")):  # signed out, a holder, no 2nd factor
        answer = tab(who).get("/console", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/console/sign-in"
    outsider = tab(ready_staff("compliance_officer")).get("/console")
    assert outsider.status_code == 403
    # Holders cannot open the console through its sign-in either.
    person = holder()
    web = tab(None)
    refused = web.post("/console/sign-in", data={
        "email": "someone@example.com", "password": person.password,
        "csrf_token": token(web, "/console/sign-in"),
    })  # fmt: skip
    assert refused.status_code == 401


def test_staff_enrol_then_sign_in_with_both_factors(
    tab: Tab, make_staff: Callable[..., Person], totp_code: Callable[[str], str]
) -> None:
    staff = make_staff("agent")
    web = tab(None)
    web.headers["Accept-Language"] = "en"

    def sign_in() -> object:
        return web.post("/console/sign-in", data={
            "email": staff.identifier, "password": staff.password,
            "csrf_token": token(web, "/console/sign-in"),
        }, follow_redirects=False)  # fmt: skip

    first = sign_in()
    assert first.status_code == 303 and first.headers["location"] == "/console/enrol"  # type: ignore[attr-defined]
    assert web.get("/console", follow_redirects=False).status_code == 303  # enrolment only
    started = web.post("/console/enrol", data={"csrf_token": token(web, "/console/enrol")})
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', started.text)
    assert secret is not None
    confirmed = web.post("/console/enrol/confirm", data={
        "code": totp_code(secret.group(1)), "csrf_token": token(web, "/console/enrol"),
    }, follow_redirects=False)  # fmt: skip
    assert confirmed.headers["location"] == "/console/sign-in?done=enrolled"
    second = sign_in()
    assert second.status_code == 200 and "/console/sign-in/second-factor" in second.text  # type: ignore[attr-defined]
    pending = re.search(r'name="pending_token" value="([^"]+)"', second.text)  # type: ignore[attr-defined]
    assert pending is not None
    done = web.post("/console/sign-in/second-factor", data={
        "pending_token": pending.group(1), "code": totp_code(secret.group(1)),
        "csrf_token": token(web, "/console/sign-in"),
    }, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/console"
    assert "Most urgent first" in web.get("/console").text


def test_agent_works_a_ticket_and_the_holder_rates(
    holder: Callable[..., Person], tab: Tab, agent: Person, container: Container
) -> None:
    person = holder(name="李小明")
    web = tab(person)
    web.headers["Accept-Language"] = "en"
    ticket_id = file(web, "Top-up missing", "My top-up of 100 CNY never arrived")
    with UnitOfWork(container.database) as uow:
        actor = uow.session.get(User, uuid.UUID(agent.user_id))
        assert actor is not None
        macro = macros.create(uow.session, name="Looking into it", language="en", category=None,
                              body="Dear {holder_name}, we are on {ticket_reference}.",
                              actor=actor, now=container.clock.now())  # fmt: skip
        uow.commit()
        macro_id = str(macro.id)
    console = tab(agent)
    console.headers["Accept-Language"] = "en"
    queue = console.get("/console")
    assert f"/console/tickets/{ticket_id}" in queue.text and 'class="sla sla-ok"' in queue.text
    view = console.get(f"/console/tickets/{ticket_id}")
    assert "李*" in view.text and "李小明" not in view.text  # masked holder
    assert "Looking into it" in view.text
    filled = console.get(f"/console/tickets/{ticket_id}?macro={macro_id}")
    assert re.search(r"Dear 李\S*, we are on AX-", filled.text)
    note_page = f"/console/tickets/{ticket_id}"
    noted = console.post(f"/console/tickets/{ticket_id}/note", data={
        "body": "checked the bank file", "csrf_token": token(console, note_page),
    }, follow_redirects=False)  # fmt: skip
    assert noted.status_code == 303
    replied = console.post(f"/console/tickets/{ticket_id}/reply", data={
        "body": "The bank returned it; it is back now.", "status": "resolved",
        "csrf_token": token(console, note_page),
    }, follow_redirects=False)  # fmt: skip
    assert replied.headers["location"].endswith("?done=reply")
    mine = web.get(f"/care/{ticket_id}")
    assert "The bank returned it" in mine.text and "checked the bank file" not in mine.text
    assert "Resolved" in mine.text and f'action="/care/{ticket_id}/rating"' in mine.text
    bad = web.post(f"/care/{ticket_id}/rating", data={
        "rating": "9", "csrf_token": token(web, f"/care/{ticket_id}"),
    })  # fmt: skip
    assert bad.status_code == 422
    rated = web.post(f"/care/{ticket_id}/rating", data={
        "rating": "4", "comment": "quick", "csrf_token": token(web, f"/care/{ticket_id}"),
    }, follow_redirects=False)  # fmt: skip
    assert rated.status_code == 303
    after = web.get(f"/care/{ticket_id}?done=rated")
    assert "4 out of 5" in after.text
    assert f'action="/care/{ticket_id}/rating"' not in after.text
    again = web.post(f"/care/{ticket_id}/rating", data={
        "rating": "1", "csrf_token": token(web, f"/care/{ticket_id}"),
    })  # fmt: skip
    assert again.status_code == 409
    assert "4 out of 5" in console.get(f"/console/tickets/{ticket_id}").text
    # Resolved tickets leave the queue; a missing one is a 404 page.
    assert f"/console/tickets/{ticket_id}" not in console.get("/console").text
    assert console.get(f"/console/tickets/{uuid.uuid4()}").status_code == 404


def test_sla_colours() -> None:
    now = datetime(2030, 1, 7, 2, 0, tzinfo=UTC)
    assert sla_state(None, now) == "sla-paused"
    assert sla_state(now - timedelta(seconds=1), now) == "sla-breached"
    assert sla_state(now, now) == "sla-breached"
    assert sla_state(now + timedelta(minutes=59), now) == "sla-near"
    assert sla_state(now + timedelta(hours=2), now) == "sla-ok"


def test_queue_colours_as_a_ticket_nears_breach(
    holder: Callable[..., Person], tab: Tab, agent: Person, container: Container
) -> None:
    web = tab(holder())
    ticket_id = file(web, "Where is my money", "The transfer has not arrived")
    console = tab(agent)

    def colour_when_due_in(delta: timedelta | None) -> str:
        # The clocks' due times move rather than time itself, so the sessions stay alive.
        if delta is not None:
            with UnitOfWork(container.database) as uow:
                for row in uow.session.scalars(
                    select(SlaClock).where(SlaClock.ticket_id == uuid.UUID(ticket_id),
                                           SlaClock.status == "running")
                ):  # fmt: skip
                    row.due_at = container.clock.now() + delta
                uow.commit()
        page = console.get("/console")
        row = re.search(rf'<tr class="(sla-\w+)">\s*<td>.*?/console/tickets/{ticket_id}"',
                        page.text, re.S)  # fmt: skip
        assert row is not None
        return row.group(1)

    assert colour_when_due_in(None) == "sla-ok"
    assert colour_when_due_in(timedelta(minutes=30)) == "sla-near"
    assert colour_when_due_in(timedelta(minutes=-1)) == "sla-breached"


def test_signed_out_care_pages_send_to_sign_in(tab: Tab) -> None:
    for path in ("/care", "/care/new", f"/care/{uuid.uuid4()}"):
        answer = tab(None).get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == door_for(path)


def test_a_statement_line_links_to_a_complaint_about_it(
    holder: Callable[..., Person], tab: Tab, container: Container
) -> None:
    person = holder()
    with UnitOfWork(container.database) as uow:
        care.fund(uow.session, uuid.UUID(person.user_id), 10_000, container.clock.now())
        uow.commit()
    web = tab(person)
    statement = web.get("/statement")
    link = re.search(r'href="/care/new\?transfer=([0-9a-f-]{36})"', statement.text)
    assert link is not None
    form = web.get(f"/care/new?transfer={link.group(1)}")
    assert f'<option value="{link.group(1)}" selected>' in form.text
    ticket_id = file(web, "About this", "This top-up", transfer=link.group(1))
    assert link.group(1)[:8] in web.get(f"/care/{ticket_id}").text
