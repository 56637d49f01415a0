"""``anxin care close-resolved``: resolved tickets past their reopen window are closed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from anxin.care import states
from anxin.kit.clock import SystemClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.care import Ticket
from anxin.privacy.keyring import load_keyring
from anxin.privacy.keys import KeyService
from tests.care.conftest import new_ticket
from tests.cli.conftest import Cli


def test_close_resolved(cli: Cli, database: Database, key_file: Path) -> None:
    keyring = load_keyring(key_file, None, None)
    assert keyring is not None
    vault = KeyService(keyring).vault()
    now = SystemClock().now()
    with UnitOfWork(database) as uow:
        old = new_ticket(uow.session, vault, now=now - timedelta(days=10))
        recent = new_ticket(uow.session, vault, now=now - timedelta(days=1))
        for ticket in (old, recent):
            states.change_status(
                uow.session, vault, ticket, "resolved", now=ticket.created_at,
                reopen_window=timedelta(days=7),
            )  # fmt: skip
        uow.commit()
        ids = old.id, recent.id
    result = cli("care", "close-resolved")
    assert result.code == 0, result
    assert "1 resolved ticket(s) closed" in result.out
    with UnitOfWork(database, write=False) as uow:
        closed, still = (uow.session.get(Ticket, i) for i in ids)
        assert closed is not None and closed.status == "closed"
        assert still is not None and still.status == "resolved"
