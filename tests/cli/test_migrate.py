from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from anxin import migrations
from anxin.kit.db import Database
from tests.migrations.revisions import behind_target, stamp
from tests.system.server import anxin_env, run_anxin


def _env(url: str, tmp_path: Path) -> dict[str, str]:
    return anxin_env(database_url=url, home=str(tmp_path / "home"), env="test")


def _status(url: str) -> migrations.SchemaStatus:
    database = Database(url)
    try:
        return migrations.schema_status(database.engine)
    finally:
        database.dispose()


def test_migrate_a_fresh_database_then_again(empty_db_url: str, tmp_path: Path) -> None:
    head = migrations.head_revision()
    first = run_anxin("migrate", env=_env(empty_db_url, tmp_path))
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"schema migrated empty -> {head}"
    assert _status(empty_db_url).up_to_date

    second = run_anxin("migrate", env=_env(empty_db_url, tmp_path))
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == f"schema already at {head}"
    assert _status(empty_db_url).up_to_date


def test_migrate_a_database_that_is_behind(empty_db_url: str, tmp_path: Path) -> None:
    database = Database(empty_db_url)
    migrations.upgrade(database.engine)
    migrations.downgrade(database.engine, behind_target())
    database.dispose()
    result = run_anxin("migrate", env=_env(empty_db_url, tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f"-> {migrations.head_revision()}")
    assert _status(empty_db_url).up_to_date


def test_migrate_refuses_a_schema_from_the_future(empty_db_url: str, tmp_path: Path) -> None:
    database = Database(empty_db_url)
    migrations.upgrade(database.engine)
    stamp(database.engine, "ffffffffffff")
    database.dispose()
    result = run_anxin("migrate", env=_env(empty_db_url, tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert "newer" in lines[0]
    assert "upgrade Anxin" in lines[0]
    assert _status(empty_db_url).current == "ffffffffffff"


def test_migrate_refuses_a_database_that_is_not_anxins(empty_db_url: str, tmp_path: Path) -> None:
    database = Database(empty_db_url)
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE customers (id INTEGER PRIMARY KEY)"))
    database.dispose()
    result = run_anxin("migrate", env=_env(empty_db_url, tmp_path))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no Anxin schema version" in lines[0]
    assert _status(empty_db_url).current is None
