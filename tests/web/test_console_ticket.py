"""The console's ticket tools as pages, without a browser (SQLite and PostgreSQL): revealing
the holder's data for a purpose (the access log, the value shown once, a role refused, a
break-glass reveal under review), linking one of the holder's transfers, merging with a
confirmation step, assignment visible in the queue, and CSRF on every form."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import User
from anxin.models.care import Ticket, TicketLink
from anxin.models.insider import AccessLogEntry, Reveal
from tests.care import conftest as care
from tests.identity.conftest import Person
from tests.web.test_care_pages import Tab, file, tab, token

__all__ = ["tab"]

FORMS = ("reveal", "links", "assign", "merge")


def send(web: TestClient, ticket_id: str, action: str, **data: str | list[str]) -> object:
    page = f"/console/tickets/{ticket_id}"
    return web.post(f"{page}/{action}", data={**data, "csrf_token": token(web, page)},
                    follow_redirects=False)  # fmt: skip


def reveals_logged(container: Container, holder_id: str) -> list[dict[str, object]]:
    with UnitOfWork(container.database) as uow:
        query = select(AccessLogEntry).where(AccessLogEntry.holder_id == uuid.UUID(holder_id),
                                             AccessLogEntry.action == "reveal")  # fmt: skip
        return [{"fields": e.fields, "purpose": e.purpose, "break_glass": e.break_glass}
                for e in uow.session.scalars(query)]  # fmt: skip


def test_reveal_for_the_assigned_ticket_shows_the_value_once_and_is_logged(
    holder: Callable[..., Person], tab: Tab, agent: Person, container: Container
) -> None:
    person = holder(name="李小明")
    ticket_id = file(tab(person), "Money taken", "I did not make this payment")
    console = tab(agent)
    console.headers["Accept-Language"] = "en"
    page = console.get(f"/console/tickets/{ticket_id}")
    assert "李小明" not in page.text and person.identifier not in page.text
    # Not assigned to the agent yet: the ticket is no purpose.
    refused = send(console, ticket_id, "reveal", purpose="ticket", fields=["phone"])
    assert refused.status_code == 403 and 'role="alert"' in refused.text  # type: ignore[attr-defined]
    assert person.identifier[3:] not in refused.text  # type: ignore[attr-defined]
    assert send(console, ticket_id, "assign", assignee="me").status_code == 303  # type: ignore[attr-defined]
    shown = send(console, ticket_id, "reveal", purpose="ticket",
                 fields=["phone", "display_name"])  # fmt: skip
    assert shown.status_code == 200, shown.text  # type: ignore[attr-defined]
    text = shown.text  # type: ignore[attr-defined]
    assert "李小明" in text and person.identifier in text
    assert "the holder can see it in their access log" in text
    assert shown.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]
    logged = reveals_logged(container, person.user_id)
    assert len(logged) == 1 and logged[0]["fields"] == ["display_name", "phone"]
    assert logged[0]["purpose"]["kind"] == "ticket" and not logged[0]["break_glass"]  # type: ignore[index]
    # Once: the page itself shows the holder masked again.
    again = console.get(f"/console/tickets/{ticket_id}")
    assert "李小明" not in again.text and person.identifier not in again.text


def test_a_role_not_allowed_a_field_is_refused(
    holder: Callable[..., Person], tab: Tab, agent: Person, container: Container
) -> None:
    person = holder()
    ticket_id = file(tab(person), "Money taken", "I did not make this payment")
    console = tab(agent)
    console.headers["Accept-Language"] = "en"
    send(console, ticket_id, "assign", assignee="me")
    page = console.get(f"/console/tickets/{ticket_id}")
    assert "not for your role" in page.text
    refused = send(console, ticket_id, "reveal", purpose="ticket", fields=["id_number"])
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert "the agent role may not reveal id_number" in refused.text  # type: ignore[attr-defined]
    assert reveals_logged(container, person.user_id) == []
    # In Chinese the refusal is the translated title.
    console.headers["Accept-Language"] = "zh-CN"
    refused = send(console, ticket_id, "reveal", purpose="ticket", fields=["id_number"])
    assert "您的角色无权查看此字段" in refused.text  # type: ignore[attr-defined]


def test_break_glass_needs_a_reason_and_waits_for_review(
    holder: Callable[..., Person], tab: Tab, senior: Person, container: Container
) -> None:
    person = holder(email="zhang.san@example.com")
    ticket_id = file(tab(person), "Question", "Please call me")
    console = tab(senior)
    console.headers["Accept-Language"] = "en"
    short = send(console, ticket_id, "reveal", purpose="break_glass", reason="urgent",
                 fields=["email"])  # fmt: skip
    assert short.status_code == 422  # type: ignore[attr-defined]
    shown = send(console, ticket_id, "reveal", purpose="break_glass",
                 reason="The holder is on the phone and cannot log in to the app",
                 fields=["email"])  # fmt: skip
    assert shown.status_code == 200  # type: ignore[attr-defined]
    assert "zhang.san@example.com" in shown.text, shown.text[shown.text.find("<main") :]  # type: ignore[attr-defined]
    revealed = shown.text.split('class="revealed"')[1].split("</section>")[0]  # type: ignore[attr-defined]
    assert "compliance was alerted" in revealed, revealed
    assert "compliance review: pending" in revealed.lower(), revealed
    with UnitOfWork(container.database) as uow:
        row = uow.session.scalars(select(Reveal)).one()
        assert row.review_status == "pending" and row.case_id is None
    assert reveals_logged(container, person.user_id)[0]["break_glass"]


def test_link_one_of_the_holders_transfers(
    holder: Callable[..., Person], tab: Tab, agent: Person, container: Container
) -> None:
    person, other = holder(), holder()
    with UnitOfWork(container.database) as uow:
        for who in (person, other):
            care.fund(uow.session, uuid.UUID(who.user_id), 123_45, container.clock.now())
        uow.commit()
    lines = {}
    for who in (person, other):
        found = re.search(r"/care/new\?transfer=([0-9a-f-]{36})", tab(who).get("/statement").text)
        assert found is not None
        lines[who.user_id] = found.group(1)
    ticket_id = file(tab(person), "Top-up", "Where is it")
    console = tab(agent)
    console.headers["Accept-Language"] = "en"
    assert "No transactions are linked to this ticket." in console.get(
        f"/console/tickets/{ticket_id}").text  # fmt: skip
    foreign = send(console, ticket_id, "links", transfer=lines[other.user_id])
    assert foreign.status_code == 404  # type: ignore[attr-defined]
    assert send(console, ticket_id, "links", transfer="nonsense").status_code == 404  # type: ignore[attr-defined]
    done = send(console, ticket_id, "links", transfer=lines[person.user_id])
    assert done.status_code == 303  # type: ignore[attr-defined]
    page = console.get(done.headers["location"])  # type: ignore[attr-defined]
    assert "The transaction is linked to this ticket." in page.text
    row = re.search(r"<tbody>\s*<tr>.*?</tr>", page.text.split("Linked transactions")[1], re.S)
    assert row is not None
    assert "+123.45 CNY" in row.group(0) and lines[person.user_id] in row.group(0)
    assert "Top-up" in row.group(0) and "<td>posted</td>" in row.group(0).lower()
    with UnitOfWork(container.database) as uow:
        links = uow.session.scalars(
            select(TicketLink.ref).where(
                TicketLink.ticket_id == uuid.UUID(ticket_id), TicketLink.kind == "transfer"
            )
        )
        assert list(links) == [lines[person.user_id]]


def test_merge_asks_first_then_points_to_the_survivor(
    holder: Callable[..., Person], tab: Tab, agent: Person, senior: Person,
    container: Container,
) -> None:  # fmt: skip
    person = holder()
    web = tab(person)
    first = file(web, "Card blocked", "My card is blocked")
    second = file(web, "Card blocked again", "Still blocked")
    stranger = file(tab(holder()), "Other", "Someone else")
    references = {}
    with UnitOfWork(container.database) as uow:
        for t in uow.session.scalars(select(Ticket)):
            references[str(t.id)] = t.reference
    lead = tab(senior)
    lead.headers["Accept-Language"] = "en"
    # Agents do not merge: no form, and the step is refused.
    plain = tab(agent)
    assert "/merge" not in plain.get(f"/console/tickets/{second}").text
    assert plain.get(f"/console/tickets/{second}/merge?into={references[first]}").status_code == 403
    denied = send(plain, second, "merge", into_id=first)
    assert denied.status_code == 403  # type: ignore[attr-defined]
    # Into itself, into an unknown reference, into another holder's ticket: refused.
    itself = lead.get(f"/console/tickets/{second}/merge?into={references[second]}")
    assert itself.status_code == 409 and 'role="alert"' in itself.text
    assert lead.get(f"/console/tickets/{second}/merge?into=AX-XXXXXX").status_code == 404
    check = lead.get(f"/console/tickets/{second}/merge?into={references[stranger]}")
    assert check.status_code == 200
    other = send(lead, second, "merge", into_id=stranger)
    assert other.status_code == 409  # type: ignore[attr-defined]
    assert "two different holders" in other.text  # type: ignore[attr-defined]
    # The confirmation shows both subjects; merging then points to the survivor.
    check = lead.get(f"/console/tickets/{second}/merge?into={references[first].lower()}")
    assert check.status_code == 200
    assert "Card blocked again" in check.text and "My card is blocked" not in check.text
    assert f"Merge {references[second]} into {references[first]}?" in check.text
    assert 'name="into_id" value="' + first in check.text
    merged = send(lead, second, "merge", into_id=first)
    assert merged.status_code == 303  # type: ignore[attr-defined]
    old = lead.get(merged.headers["location"])  # type: ignore[attr-defined]
    assert "This ticket was merged into" in old.text
    assert f'<a href="/console/tickets/{first}">{references[first]}</a>' in old.text
    assert "Still blocked" in lead.get(f"/console/tickets/{first}").text


def test_assignment_shows_in_the_queue(
    holder: Callable[..., Person], tab: Tab, agent: Person, senior: Person,
    container: Container,
) -> None:  # fmt: skip
    ticket_id = file(tab(holder()), "Help", "Please help")
    plain, lead = tab(agent), tab(senior)
    plain.headers["Accept-Language"] = lead.headers["Accept-Language"] = "en"
    with UnitOfWork(container.database) as uow:
        names = {str(u.id): u.pseudonym for u in uow.session.scalars(
            select(User).where(User.kind == "staff"))}  # fmt: skip

    def row(web: TestClient, query: str = "") -> str | None:
        pattern = rf'<tr class="sla-\w+">(?:(?!</tr>).)*?/console/tickets/{ticket_id}".*?</tr>'
        found = re.search(pattern, web.get(f"/console{query}").text, re.S)
        return found.group(0) if found else None

    assert row(plain, "?assigned=unassigned") is not None and row(plain, "?assigned=me") is None
    assert send(plain, ticket_id, "assign", assignee="me").status_code == 303  # type: ignore[attr-defined]
    mine = row(plain, "?assigned=me")
    assert mine is not None and "<td>You</td>" in mine
    assert names[agent.user_id] in (row(lead) or "")
    # Giving it to someone else takes care:lead.
    refused = send(plain, ticket_id, "assign", assignee=senior.user_id)
    assert refused.status_code == 403 and "only care leads" in refused.text  # type: ignore[attr-defined]
    given = send(lead, ticket_id, "assign", assignee=senior.user_id)
    assert given.status_code == 303  # type: ignore[attr-defined]
    assert row(plain, "?assigned=me") is None
    assert names[senior.user_id] in (row(plain) or "")
    assert "You have this ticket." in lead.get(f"/console/tickets/{ticket_id}").text
    back = send(lead, ticket_id, "assign", assignee="")
    assert back.status_code == 303  # type: ignore[attr-defined]
    assert row(plain, "?assigned=unassigned") is not None


def test_every_ticket_form_needs_its_token(
    holder: Callable[..., Person], tab: Tab, senior: Person
) -> None:
    ticket_id = file(tab(holder()), "s", "b")
    console = tab(senior)
    token(console, "/console")
    for action in FORMS:
        for data in ({}, {"csrf_token": "0" * 64}):
            form = {"assignee": "me", "fields": "phone", "transfer": "x", "purpose": "ticket",
                    "into_id": ticket_id, **data}  # fmt: skip
            answer = console.post(f"/console/tickets/{ticket_id}/{action}", data=form)
            assert answer.status_code == 403, action
    page = console.get(f"/console/tickets/{ticket_id}")
    assert "此工单还没有处理人。" in page.text
