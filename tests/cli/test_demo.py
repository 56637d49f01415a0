from __future__ import annotations

import stat
from pathlib import Path

from fastapi.testclient import TestClient

from anxin.api.app import create_app
from anxin.settings import Settings
from tests.cli.conftest import Cli, one_line_error


def test_seed_is_idempotent(cli: Cli, home: Path, settings: Settings) -> None:
    first = cli("demo", "seed", env="development")
    assert first.code == 0, first
    assert "demo data created" in first.out
    key_file = home / "demo-api-key.txt"
    key = key_file.read_text().strip()
    assert key.startswith("anx_")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key not in first.out  # the key is only in the file

    second = cli("demo", "seed", env="development")
    assert second.code == 0, second
    assert "demo data already present" in second.out
    assert key_file.read_text().strip() == key
    ids = {line.split()[1] for line in first.out.splitlines() if "demo:" in line}
    assert ids == {line.split()[1] for line in second.out.splitlines() if "demo:" in line}
    assert len(ids) == 7

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        auth = {"Authorization": f"Bearer {key}"}
        accounts = client.get("/v1/accounts", headers=auth).json()["data"]
        assert len(accounts) == 7
        by_ref = {a["owner_ref"]: a["balance"] for a in accounts}
        assert by_ref["demo:zhang"]["posted"] == 500_00 - 38_00 - 19 - 66_00
        assert by_ref["demo:alice"] == {"posted": 266_00, "pending": -50_00, "available": 216_00}
        assert sum(b["posted"] for ref, b in by_ref.items() if "points" not in ref
                   and ref != "demo:rewards") == 0  # fmt: skip
    assert cli("ledger", "verify").code == 0


def test_seed_is_refused_outside_development(cli: Cli, home: Path) -> None:
    for env in ("test", "production"):
        line = one_line_error(cli("demo", "seed", env=env))
        assert "ANXIN_ENV=development" in line
    assert not (home / "demo-api-key.txt").exists()
    assert cli("apikey", "list").out.count("demo") == 0
