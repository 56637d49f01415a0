"""Reports over a realistic generated ticket history on a fixed clock: every channel,
category, language and agent; first replies, waits on the customer, resolutions, reopens,
ratings and a backlog. The generator keeps its own record of what it did, and each figure
is checked against that record (wall-clock times, counts, rates, CSAT, backlog) or against
the SLA clocks (SLA-clock seconds, timeliness)."""

from __future__ import annotations

import csv
import io
import math
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.api.deps import Container
from anxin.care import csat, reports, states
from anxin.care.tickets import NewTicket, add_message, open_ticket
from anxin.kit.clock import ManualClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.care import SlaClock
from anxin.privacy.vault import Vault
from tests.care.conftest import Person, make_user

START = datetime(2030, 1, 7, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Beijing
DAYS = 60
AS_OF = START + timedelta(days=DAYS + 15)
CHANNELS = ("app", "email", "web_form", "chat", "phone", "social")
CATEGORIES = ("unauthorized_debit", "fees", "topup_withdrawal", "service_quality", "points")


@dataclass
class Story:
    """What the generator did to one ticket."""

    ticket_id: uuid.UUID
    category: str
    channel: str
    language: str
    agent: str
    created: datetime
    first_reply: datetime | None = None
    resolved: datetime | None = None  # the last resolution
    reopened: bool = False
    rating: int | None = None
    asked: bool = False
    open_at_end: bool = True


def _minutes(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(minutes=rng.randint(low, high))


def make_history(session: Session, vault: Vault, *, seed: int = 7, count: int = 90,
                 start: datetime = START, days: int = DAYS,
                 as_of: datetime = AS_OF) -> list[Story]:  # fmt: skip
    """``count`` tickets opened over ``days`` days and worked on until ``as_of``."""
    rng = random.Random(seed)
    holders = [make_user(session, vault, start) for _ in range(5)]
    agents = [make_user(session, vault, start, role="agent") for _ in range(3)]
    stories: list[Story] = []
    for n in range(count):
        created = start + timedelta(minutes=rng.randrange(days * 24 * 60))
        channel, category = rng.choice(CHANNELS), rng.choice(CATEGORIES)
        language = rng.choice(("zh", "en"))
        who: dict[str, Any] = (
            {"holder_id": rng.choice(holders).id} if channel == "app"
            else {"contact_kind": "email", "contact": f"c{n}@example.com"}
        )  # fmt: skip
        ticket = open_ticket(session, vault, NewTicket(
            channel=channel, subject=f"complaint {n}", body="please help", category=category,
            language=language, priority=rng.choice(("normal", "normal", "high")), **who,
        ), now=created)  # fmt: skip
        agent = rng.choice(agents) if rng.random() < 0.85 else None
        ticket.assignee_id = agent.id if agent is not None else None
        story = Story(ticket.id, category, channel, language,
                      agent.pseudonym or "" if agent else "unassigned", created)  # fmt: skip
        stories.append(story)
        actor = agent or agents[0]
        if rng.random() < 0.12:
            continue  # nobody answered yet: backlog
        now = created + _minutes(rng, 5, 3 * 24 * 60)
        if rng.random() < 0.25:  # ask the customer something, who answers later
            add_message(session, vault, ticket, author_kind="agent", author_id=actor.id,
                        body="which card?", channel="app", now=now,
                        status="pending_customer")  # fmt: skip
            story.first_reply = now
            now += _minutes(rng, 30, 2 * 24 * 60)
            add_message(session, vault, ticket, author_kind="customer", body="the Visa one",
                        channel=channel, now=now)  # fmt: skip
            now += _minutes(rng, 5, 8 * 60)
        if rng.random() < 0.1:  # answered, still being worked on
            add_message(session, vault, ticket, author_kind="agent", author_id=actor.id,
                        body="looking into it", channel="app", now=now)  # fmt: skip
            story.first_reply = story.first_reply or now
            continue
        add_message(session, vault, ticket, author_kind="agent", author_id=actor.id,
                    body="fixed", channel="app", now=now, status="resolved")  # fmt: skip
        story.first_reply = story.first_reply or now
        story.resolved, story.asked, story.open_at_end = now, True, False
        if rng.random() < 0.2:  # not fixed after all: reopened, then resolved again
            now += _minutes(rng, 60, 3 * 24 * 60)
            add_message(session, vault, ticket, author_kind="customer", body="still wrong",
                        channel=channel, now=now)  # fmt: skip
            story.reopened = True
            now += _minutes(rng, 30, 24 * 60)
            add_message(session, vault, ticket, author_kind="agent", author_id=actor.id,
                        body="fixed now", channel="app", now=now, status="resolved")  # fmt: skip
            story.resolved = now
        if rng.random() < 0.6:
            story.rating = rng.choices((1, 2, 3, 4, 5), weights=(1, 1, 2, 4, 5))[0]
            csat.answer(session, vault, ticket, rating=story.rating, comment=None,
                        now=now + timedelta(hours=1))  # fmt: skip
    states.close_expired(session, vault, as_of)
    session.flush()
    return stories


def rank(values: Sequence[int], percent: int) -> int | None:
    if not values:
        return None
    return sorted(values)[math.ceil(percent * len(values) / 100) - 1]


def seconds(a: datetime, b: datetime) -> int:
    return int((b - a).total_seconds())


def expected(stories: Sequence[Story]) -> dict[str, Any]:
    """The figures the report must show, from the generator's own record."""
    first = [seconds(s.created, s.first_reply) for s in stories if s.first_reply]
    done = [seconds(s.created, s.resolved) for s in stories if s.resolved]
    resolved_once = [s for s in stories if s.resolved]
    ratings = [s.rating for s in stories if s.rating is not None]
    return {
        "tickets": len(stories),
        "fr_median": rank(first, 50), "fr_p90": rank(first, 90),
        "res_median": rank(done, 50), "res_p90": rank(done, 90), "resolved": len(done),
        "reopened": sum(s.reopened for s in resolved_once), "resolved_once": len(resolved_once),
        "answered": len(ratings), "requested": sum(s.asked for s in stories),
        "distribution": {str(r): ratings.count(r) for r in range(1, 6)},
        "average": round(sum(ratings) / len(ratings), 2) if ratings else None,
    }  # fmt: skip


def check(figures: dict[str, Any], stories: Sequence[Story]) -> None:
    want = expected(stories)
    fr, res = figures["first_response"], figures["resolution"]
    assert figures["tickets"] == want["tickets"]
    assert fr["wall_seconds"]["median"] == want["fr_median"]
    assert fr["wall_seconds"]["p90"] == want["fr_p90"]
    assert res["wall_seconds"]["median"] == want["res_median"]
    assert res["wall_seconds"]["p90"] == want["res_p90"]
    assert res["resolved"] == want["resolved"]
    assert figures["reopen"] == {
        "resolved_once": want["resolved_once"], "reopened": want["reopened"],
        "rate": round(want["reopened"] / want["resolved_once"], 4) if want["resolved_once"]
        else None,
    }  # fmt: skip
    assert figures["csat"]["distribution"] == want["distribution"]
    assert figures["csat"]["average"] == want["average"]
    assert figures["csat"]["requested"] == want["requested"]


def backlog_of(stories: Sequence[Story], as_of: datetime) -> dict[str, int]:
    limits = ((1, "under_1d"), (3, "1d_3d"), (7, "3d_7d"), (15, "7d_15d"))
    counts = {name: 0 for _, name in limits} | {"over_15d": 0}
    for s in stories:
        if s.open_at_end:
            age = as_of - s.created
            name = next((n for d, n in limits if age < timedelta(days=d)), "over_15d")
            counts[name] += 1
    return counts | {"total": sum(counts.values())}


def test_nearest_rank_percentiles() -> None:
    assert reports.nearest_rank([], 50) is None
    assert reports.nearest_rank([5], 90) == 5
    assert reports.nearest_rank([4, 1, 3, 2], 50) == 2
    assert reports.nearest_rank(list(range(1, 11)), 90) == 9
    assert reports.nearest_rank(list(range(1, 12)), 90) == 10


def test_the_performance_report_matches_the_generated_history(
    uow: UnitOfWork, vault: Vault
) -> None:
    stories = make_history(uow.session, vault)
    made = reports.performance(uow.session, since=START, until=START + timedelta(days=DAYS),
                               as_of=AS_OF)  # fmt: skip
    check(made["overall"], stories)
    assert made["overall"]["backlog"] == backlog_of(stories, AS_OF)
    assert made["overall"]["backlog"]["total"] > 0
    for dimension in reports.DIMENSIONS:
        groups = made["by"][dimension]
        keys = {getattr(s, dimension) for s in stories}
        assert set(groups) == keys
        for key, figures in groups.items():
            inside = [s for s in stories if getattr(s, dimension) == key]
            check(figures, inside)
            assert figures["backlog"] == backlog_of(inside, AS_OF)
    # SLA-clock seconds and timeliness come from the clocks, and never exceed wall time.
    clocks = {c.ticket_id: c for c in uow.session.scalars(
        select(SlaClock).where(SlaClock.kind == "first_response"))}  # fmt: skip
    met = [c for c in clocks.values() if c.status == "met"]
    fr = made["overall"]["first_response"]
    assert fr["sla_seconds"]["median"] == rank([c.used_seconds for c in met], 50)
    assert fr["timely"] == sum(1 for c in met if c.breached_at is None)
    assert fr["timely"] + fr["late"] + fr["pending"] == len(stories)
    assert fr["timely"] > 0 and fr["late"] > 0  # the history has both
    assert fr["sla_seconds"]["p90"] <= fr["wall_seconds"]["p90"]
    assert fr["timely_rate"] == round(fr["timely"] / (fr["timely"] + fr["late"]), 4)
    # A narrower range holds fewer tickets; a range before any has none.
    early = reports.performance(uow.session, since=START, until=START + timedelta(days=10),
                                as_of=AS_OF)  # fmt: skip
    check(early["overall"], [s for s in stories if s.created < START + timedelta(days=10)])
    empty = reports.performance(uow.session, since=START - timedelta(days=9), until=START,
                                as_of=AS_OF)  # fmt: skip
    assert (
        empty["overall"]["tickets"] == 0
        and empty["overall"]["first_response"]["timely_rate"] is None
    )


def test_report_ranges_are_checked(uow: UnitOfWork) -> None:
    with pytest.raises(reports.InvalidReport):
        reports.performance(uow.session, since=START, until=START, as_of=AS_OF)
    with pytest.raises(reports.InvalidReport):
        reports.performance(uow.session, since=START, until=START + timedelta(days=800),
                            as_of=AS_OF)  # fmt: skip


def _history(container: Container) -> list[Story]:
    with UnitOfWork(container.database) as unit:
        stories = make_history(unit.session, container.keys.vault(), count=60)
        unit.commit()
    return stories


def test_the_report_api_gives_json_and_csv_to_care_reports_only(
    client: TestClient, container: Container, clock: ManualClock,
    ready_staff: Callable[[str], Person],
) -> None:  # fmt: skip
    stories = _history(container)
    clock.set(AS_OF)
    lead = ready_staff("compliance_officer")
    agent = ready_staff("agent")
    query = {"since": START.isoformat(), "until": (START + timedelta(days=DAYS)).isoformat()}
    denied = client.get("/v1/staff/care/reports/performance", params=query, headers=agent.headers)
    assert denied.status_code == 403 and denied.json()["code"] == "missing_permission"
    got = client.get("/v1/staff/care/reports/performance", params=query, headers=lead.headers)
    assert got.status_code == 200, got.text
    check(got.json()["overall"], stories)
    assert got.json()["overall"]["backlog"] == backlog_of(stories, AS_OF)
    exported = client.get("/v1/staff/care/reports/performance.csv", params=query,
                          headers=lead.headers)  # fmt: skip
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    overall = next(r for r in rows if r["dimension"] == "all")
    assert int(overall["tickets"]) == len(stories)
    assert int(overall["first_response_wall_median_s"]) == expected(stories)["fr_median"]
    assert {r["dimension"] for r in rows} == {"all", *reports.DIMENSIONS}
    naive = client.get("/v1/staff/care/reports/performance", params={"since": "2030-01-01T00:00"},
                       headers=lead.headers)  # fmt: skip
    assert naive.status_code == 422 and naive.json()["code"] == "invalid_time"
    backwards = client.get("/v1/staff/care/reports/performance",
                           params={"since": query["until"], "until": query["since"]},
                           headers=lead.headers)  # fmt: skip
    assert backwards.status_code == 422 and backwards.json()["code"] == "invalid_report"
