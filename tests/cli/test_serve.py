from __future__ import annotations

import json
import signal
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import text

from anxin import migrations
from anxin.kit.db import Database
from tests.cli.conftest import Cli, one_line_error
from tests.migrations.revisions import behind_target, stamp
from tests.system.server import Server, anxin_env, run_anxin


def _env(url: str, tmp_path: Path, key_file: Path) -> dict[str, str]:
    return anxin_env(database_url=url, home=str(tmp_path / "home"), env="test",
                     key_file=str(key_file))  # fmt: skip


def test_serve_refuses_a_schema_that_is_behind(
    empty_db_url: str, tmp_path: Path, key_file: Path
) -> None:
    database = Database(empty_db_url)
    migrations.upgrade(database.engine)
    migrations.downgrade(database.engine, behind_target())
    database.dispose()
    result = run_anxin("serve", "--port", "1", env=_env(empty_db_url, tmp_path, key_file))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: refusing to start: ")
    if behind_target() != "base":
        assert "run `anxin migrate`" in lines[0]
    # Nothing was migrated behind the operator's back.
    database = Database(empty_db_url)
    assert not migrations.schema_status(database.engine).up_to_date
    database.dispose()


def test_serve_refuses_a_schema_from_the_future(bare_cli: Cli, empty_db_url: str) -> None:
    database = Database(empty_db_url)
    migrations.upgrade(database.engine)
    stamp(database.engine, "ffffffffffff")
    database.dispose()
    line = one_line_error(bare_cli("serve", database_url=empty_db_url))
    assert "refusing to start" in line
    assert "upgrade Anxin" in line


def test_serve_refuses_a_database_that_is_not_anxins(bare_cli: Cli, empty_db_url: str) -> None:
    database = Database(empty_db_url)
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE customers (id INTEGER PRIMARY KEY)"))
    database.dispose()
    line = one_line_error(bare_cli("serve", database_url=empty_db_url))
    assert "no Anxin schema version" in line
    database = Database(empty_db_url)
    assert migrations.schema_status(database.engine).current is None
    database.dispose()


@pytest.mark.slow
def test_serve_creates_and_migrates_a_new_database(
    empty_db_url: str, tmp_path: Path, key_file: Path
) -> None:
    with Server(_env(empty_db_url, tmp_path, key_file), tmp_path / "server.log") as server:
        server.wait_healthy()
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=5) as response:
            health = json.load(response)
        assert health == {"status": "ok", "database": "reachable",
                          "schema": migrations.head_revision()}  # fmt: skip
    assert server.process is not None
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught.
    assert server.process.returncode == -signal.SIGTERM
    log = server.log()
    assert "new database: schema created" in log
    assert "Application shutdown complete" in log
