"""Shared fixtures. Every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests need ANXIN_TEST_POSTGRES_URL (any database on the server: the suite
creates its own database beside it and drops it at the end); without it they are skipped
with that reason. Each test gets an empty, migrated database: a copy of a migrated SQLite
file, or a PostgreSQL database whose tables were truncated.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from anxin import migrations
from anxin.api.app import create_app
from anxin.apikeys.service import create_key
from anxin.kit.clock import SystemClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.engine import LedgerEngine
from anxin.models import Base
from anxin.privacy.keyring import generate_keyring, write_keyring
from anxin.settings import Environment, Settings

POSTGRES_URL = os.environ.get("ANXIN_TEST_POSTGRES_URL")
SKIP_POSTGRES = "PostgreSQL tests need ANXIN_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[pytest.mark.postgres, pytest.mark.skipif(not POSTGRES_URL, reason=SKIP_POSTGRES)],
    ),
]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    migrations.upgrade(database.engine)
    with database.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A database of our own on the test server, migrated once for the whole session."""
    assert POSTGRES_URL is not None
    base = make_url(POSTGRES_URL)
    name = f"anxin_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    migrations.upgrade(database.engine)
    database.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


_reset_engines: dict[str, Engine] = {}


def _reset_postgres(url: str) -> None:
    # DELETE, not TRUNCATE: test tables hold a handful of rows, and TRUNCATE's fixed cost
    # (new files for each of ~40 tables) was about 30 times that of deleting them.
    engine = _reset_engines.get(url)
    if engine is None:
        engine = _reset_engines[url] = create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        # The journal refuses DELETE by trigger, and foreign keys would dictate an order;
        # replica mode skips both for cleanup.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
        connection.execute(
            text("INSERT INTO ledger_head (id, last_seq, last_hash) VALUES (1, 0, :h)"),
            {"h": bytes(32)},
        )


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "anxin.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_server_url")
    _reset_postgres(url)
    return url


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = Database(db_url)
    yield db
    db.dispose()


@pytest.fixture
def ledger_engine(database: Database) -> Iterator[LedgerEngine]:
    engine = LedgerEngine(database, expiry_interval=3600).start()
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A non-development keyring, as production would have (generating keys is slow-ish
    only in volume, but one per session keeps tests quick)."""
    path = tmp_path_factory.mktemp("keys") / "keys.json"
    write_keyring(path, generate_keyring(development=False))
    return path


@pytest.fixture
def settings(db_url: str, tmp_path: Path, key_file: Path) -> Settings:
    return Settings(
        env=Environment.TEST, home=tmp_path / "home", database_url=db_url, key_file=key_file
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass(frozen=True)
class Keys:
    writer: str
    reader: str


@pytest.fixture
def api_keys(database: Database) -> Keys:
    now = SystemClock().now()
    with UnitOfWork(database) as uow:
        writer = create_key(uow.session, name="test writer", scopes=["ledger"], now=now)
        reader = create_key(uow.session, name="test reader", scopes=["ledger:read"], now=now)
        uow.commit()
    return Keys(writer=writer.plaintext, reader=reader.plaintext)


@pytest.fixture
def auth(api_keys: Keys) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_keys.writer}"}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
