"""``anxin incident ...``: open, move, detect, query, notify, report; one-line errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from anxin.kit.clock import SystemClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.privacy.keyring import load_keyring
from anxin.privacy.keys import KeyService
from tests.cli.conftest import Cli, bare_cli, cli, home, one_line_error
from tests.incidents.conftest import burst, make_user

__all__ = ["bare_cli", "cli", "home"]  # fixtures used below


def test_incident_commands(cli: Cli, database: Database, key_file: Path) -> None:
    keyring = load_keyring(key_file, None, None)
    assert keyring is not None
    vault = KeyService(keyring).vault()
    now = SystemClock().now()
    with UnitOfWork(database) as uow:
        holders = [make_user(uow.session, vault, now) for _ in range(10)]
        burst(uow.session, vault, holders, start=now - timedelta(minutes=30))
        uow.commit()

    detected = cli("incident", "detect", "--warmup-hours", "0")
    assert detected.code == 0, detected
    assert "read 10 tickets; 1 new bursts" in detected.out
    reference = detected.out.strip().rsplit(" ", 1)[-1]
    assert reference.startswith("INC-")
    assert cli("incident", "detect", "--warmup-hours", "0").code == 0  # nothing twice

    listed = cli("incident", "list", "--status", "open")
    assert listed.code == 0 and reference in listed.out
    preview = cli("incident", "affected", reference, '{"kind": "complainants"}')
    assert preview.code == 0 and "would add: " in preview.out and "(0 new)" in preview.out
    told = cli("incident", "notify", reference)
    assert told.code == 0 and "told 10 holders" in told.out, told
    assert cli("incident", "status", reference, "resolved", "--note", "fixed").code == 0
    assert "told 10 holders" in cli("incident", "notify", reference, "--stage", "resolved").out
    md = cli("incident", "report", reference)
    assert md.code == 0 and md.out.startswith(f"# {reference}")
    html = cli("incident", "report", reference, "--format", "html")
    assert html.code == 0 and "<h1>" in html.out

    manual = cli("incident", "open", "Verification codes late", "--severity", "minor")
    assert manual.code == 0 and manual.last_line.startswith("INC-")

    assert "no incident" in one_line_error(cli("incident", "report", "INC-1999-0001"))
    assert "cannot go from" in one_line_error(cli("incident", "status", reference, "identified"))
    assert "not JSON" in one_line_error(cli("incident", "affected", reference, "{"))
    assert "kind is one of" in one_line_error(
        cli("incident", "affected", reference, '{"kind": "all"}')
    )
