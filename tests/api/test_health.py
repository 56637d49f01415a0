from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from anxin import migrations
from anxin.api.app import create_app
from anxin.kit.db import Database
from anxin.settings import Environment, Settings
from tests.migrations.revisions import behind_target, stamp


def _health(url: str, home: Path, key_file: Path) -> tuple[int, dict[str, Any]]:
    settings = Settings(env=Environment.TEST, home=home, database_url=url, key_file=key_file,
                        ledger_expiry_interval_seconds=3600)  # fmt: skip
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get("/healthz")
        assert client.head("/healthz").status_code == response.status_code
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return response.status_code, body


def test_healthy_when_migrated(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok", "database": "reachable", "schema": migrations.head_revision(),
    }  # fmt: skip
    head = client.head("/healthz")
    assert head.status_code == 200
    assert head.content == b""


def test_unavailable_when_schema_is_behind(empty_db_url: str, tmp_path: Path,
                                           key_file: Path) -> None:  # fmt: skip
    database = Database(empty_db_url)
    migrations.upgrade(database.engine)
    migrations.downgrade(database.engine, behind_target())
    database.dispose()
    status, body = _health(empty_db_url, tmp_path, key_file)
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["database"] == "reachable"
    assert body["schema"]  # says why
    if behind_target() != "base":
        assert "anxin migrate" in body["schema"]


def test_unavailable_when_schema_is_ahead(empty_db_url: str, tmp_path: Path,
                                          key_file: Path) -> None:  # fmt: skip
    database = Database(empty_db_url)
    migrations.upgrade(database.engine)
    stamp(database.engine, "ffffffffffff")
    database.dispose()
    status, body = _health(empty_db_url, tmp_path, key_file)
    assert status == 503
    assert "newer" in body["schema"]


def test_unavailable_on_a_database_never_migrated(empty_db_url: str, tmp_path: Path,
                                                  key_file: Path) -> None:  # fmt: skip
    status, body = _health(empty_db_url, tmp_path, key_file)
    assert status == 503
    assert body["database"] == "reachable"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_unavailable_when_database_unreachable(backend: str, tmp_path: Path,
                                               key_file: Path) -> None:  # fmt: skip
    # A directory is no SQLite file; nothing listens on port 1.
    url = {
        "sqlite": f"sqlite:///{tmp_path}",
        "postgres": "postgresql+psycopg://anxin@127.0.0.1:1/anxin",
    }[backend]
    status, body = _health(url, tmp_path, key_file)
    assert status == 503
    assert body == {"status": "unavailable", "database": "unreachable"}
