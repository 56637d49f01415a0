"""The detection job: new tickets feed the detector; a burst opens one incident, later
complaints join it, and a rebuilt detector opens nothing twice."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from anxin.collective import DetectorSettings
from anxin.incidents import service
from anxin.incidents.detection import DetectionRuntime, TickReport
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.incidents import CollectiveGroup, CollectiveMember, Incident
from anxin.privacy.vault import Vault
from tests.incidents.conftest import NOW, TEST_DETECTOR, burst, make_user, new_ticket

QUIET_TEXTS = [
    "How do I change my phone number?", "Points did not arrive after shopping",
    "The app is slow at night", "Please add dark mode", "Fee for withdrawal seems high",
    "Cannot find my statement for March", "Verification code arrives late",
]  # fmt: skip


def _seed(database: Database, vault: Vault, holders: int, *, quiet: int = 7) -> None:
    with UnitOfWork(database) as uow:
        s = uow.session
        people = [make_user(s, vault, NOW) for _ in range(holders + quiet)]
        # A few unrelated complaints before the burst.
        for i, person in enumerate(people[holders:]):
            new_ticket(s, vault, holder=person, now=NOW - timedelta(hours=6 - i * 0.5),
                       subject="Question", body=QUIET_TEXTS[i % len(QUIET_TEXTS)],
                       category="other")  # fmt: skip
        burst(s, vault, people[:holders])
        uow.commit()


def _count(database: Database, model: type) -> int:
    with UnitOfWork(database, write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_burst_opens_one_incident_with_its_complaints(database: Database, vault: Vault) -> None:
    _seed(database, vault, holders=10)
    detector = DetectionRuntime(TEST_DETECTOR)
    report = detector.tick(database, vault, NOW + timedelta(minutes=15))
    assert report.tickets == 17
    assert report.groups_opened == 1 and len(report.incidents) == 1
    with UnitOfWork(database, write=False) as uow:
        incident = uow.session.scalars(select(Incident)).one()
        assert incident.opened_by is None and incident.status == "investigating"
        assert incident.cause_key is not None
        linked = service.linked_tickets(uow.session, incident)
        # The alarm raises once enough holders complained; every burst ticket ends up in it.
        assert len(linked) >= 6
        assert all(t.category == "unauthorized_debit" for t in linked)
        kinds = [e.kind for e in service.timeline(uow.session, incident)]
        assert kinds[:2] == ["opened", "detected"]
    members = _count(database, CollectiveMember)

    # Nothing new: a second pass changes nothing.
    again = detector.tick(database, vault, NOW + timedelta(minutes=16))
    assert again.tickets == 0 and again.groups_opened == 0
    # A restarted server rebuilds its detector from recent tickets: nothing opened twice.
    rebuilt = DetectionRuntime(TEST_DETECTOR).tick(database, vault, NOW + timedelta(minutes=17))
    assert rebuilt.tickets == 17 and rebuilt.groups_opened == 0
    assert _count(database, Incident) == 1 and _count(database, CollectiveGroup) == 1
    assert _count(database, CollectiveMember) == members

    # More of the same complaint joins the incident.
    with UnitOfWork(database) as uow:
        more = [make_user(uow.session, vault, NOW) for _ in range(3)]
        burst(uow.session, vault, more, start=NOW + timedelta(minutes=18))
        uow.commit()
    joined = detector.tick(database, vault, NOW + timedelta(minutes=25))
    assert joined.tickets == 3 and joined.groups_opened == 0
    assert joined.members_added >= 1
    assert _count(database, Incident) == 1
    with UnitOfWork(database, write=False) as uow:
        incident = uow.session.scalars(select(Incident)).one()
        assert len(service.linked_tickets(uow.session, incident)) >= len(linked) + 1
        # The group's title counts what it holds now, not what it held when raised.
        group = uow.session.scalars(select(CollectiveGroup)).one()
        held = _count(database, CollectiveMember)
        assert group.distinct_holders >= 11 and f"{held} " in group.title, group.title


def test_quiet_complaints_open_nothing(database: Database, vault: Vault) -> None:
    _seed(database, vault, holders=2)
    report = DetectionRuntime(TEST_DETECTOR).tick(database, vault, NOW + timedelta(minutes=15))
    assert report.tickets == 9 and report.incidents == []
    assert _count(database, Incident) == 0


def test_production_settings_wait_for_a_baseline(database: Database, vault: Vault) -> None:
    """With the default day of warm-up, a burst in a brand-new stream raises nothing."""
    _seed(database, vault, holders=10)
    report = DetectionRuntime(DetectorSettings()).tick(database, vault, NOW + timedelta(minutes=15))
    assert report.incidents == []


def test_two_server_processes_open_one_incident(database: Database, vault: Vault) -> None:
    _seed(database, vault, holders=10)
    runtimes = [DetectionRuntime(TEST_DETECTOR) for _ in range(2)]
    barrier = threading.Barrier(2)
    reports: list[TickReport] = []

    def run(runtime: DetectionRuntime) -> None:
        barrier.wait(timeout=30)
        reports.append(runtime.tick(database, vault, NOW + timedelta(minutes=15)))

    threads = [threading.Thread(target=run, args=(r,)) for r in runtimes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(reports) == 2
    assert sorted(r.groups_opened for r in reports) == [0, 1]
    assert _count(database, Incident) == 1 and _count(database, CollectiveGroup) == 1
