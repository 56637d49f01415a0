from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from anxin.api.app import create_app
from anxin.settings import Settings
from tests.cli.conftest import Cli, one_line_error
from tests.system.server import anxin_env, run_anxin


def _client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), raise_server_exceptions=False)


def test_created_key_is_alone_on_the_last_line_and_works(cli: Cli, settings: Settings) -> None:
    result = cli("apikey", "create", "--name", "payments", "--scopes", "ledger")
    assert result.code == 0, result
    key = result.last_line
    assert key.startswith("anx_")
    assert key.split() == [key]
    assert "payments" in result.out
    with _client(settings) as client:
        auth = {"Authorization": f"Bearer {key}"}
        assert client.get("/v1/accounts", headers=auth).status_code == 200
        created = client.post("/v1/accounts", json={"asset": "CNY"}, headers=auth)
        assert created.status_code == 201, created.text


def test_read_only_key(cli: Cli, settings: Settings) -> None:
    key = cli("apikey", "create", "--name", "reports", "--scopes", "ledger:read").last_line
    with _client(settings) as client:
        auth = {"Authorization": f"Bearer {key}"}
        assert client.get("/v1/accounts", headers=auth).status_code == 200
        refused = client.post("/v1/accounts", json={"asset": "CNY"}, headers=auth)
        assert refused.status_code == 403
        assert refused.json()["code"] == "insufficient_scope"


def test_scopes_may_be_combined(cli: Cli) -> None:
    result = cli("apikey", "create", "--name", "both", "--scopes", " ledger:read , ledger ")
    assert result.code == 0, result
    assert "ledger, ledger:read" in result.out


def test_invalid_scopes_are_one_line(cli: Cli) -> None:
    for scopes in ("bogus", "ledger,admin", "", ","):
        line = one_line_error(cli("apikey", "create", "--name", "n", "--scopes", scopes))
        assert "known: ledger, ledger:read" in line
    assert "unknown scope(s) bogus" in one_line_error(
        cli("apikey", "create", "--name", "n", "--scopes", "bogus")
    )
    assert "needs a name" in one_line_error(
        cli("apikey", "create", "--name", "  ", "--scopes", "ledger")
    )
    listed = cli("apikey", "list")
    assert listed.code == 0
    assert "n " not in listed.out  # nothing was created


def test_invalid_scopes_from_the_real_executable(db_url: str, tmp_path: Path,
                                                 key_file: Path) -> None:  # fmt: skip
    env = anxin_env(database_url=db_url, home=str(tmp_path), env="test", key_file=str(key_file))
    result = run_anxin("apikey", "create", "--name", "n", "--scopes", "root", env=env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: unknown scope(s) root; known: ledger, ledger:read, care:import"
    ]


def test_missing_option_is_a_usage_error(cli: Cli) -> None:
    result = cli("apikey", "create", "--name", "n")
    assert result.code == 2
    assert "--scopes" in result.err


def test_list_and_revoke(cli: Cli, settings: Settings) -> None:
    first = cli("apikey", "create", "--name", "first-app", "--scopes", "ledger").last_line
    second = cli("apikey", "create", "--name", "second-app", "--scopes", "ledger").last_line
    prefix = first.split("_")[1]

    listed = cli("apikey", "list")
    assert listed.code == 0, listed
    assert "first-app" in listed.out
    assert "second-app" in listed.out
    assert prefix in listed.out
    assert first.split("_", 2)[2] not in listed.out  # never the secret

    revoked = cli("apikey", "revoke", prefix)
    assert revoked.code == 0, revoked
    assert f"revoked API key {prefix} (first-app)" in revoked.out
    assert cli("apikey", "revoke", prefix).code == 0  # revoking twice is harmless
    with _client(settings) as client:
        gone = client.get("/v1/accounts", headers={"Authorization": f"Bearer {first}"})
        assert gone.status_code == 401
        assert gone.json()["code"] == "api_key_revoked"
        still = client.get("/v1/accounts", headers={"Authorization": f"Bearer {second}"})
        assert still.status_code == 200

    rows = [line for line in cli("apikey", "list").out.splitlines() if prefix in line]
    assert len(rows) == 1
    assert len(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d", rows[0])) == 2  # created, revoked


def test_revoke_by_id_and_unknown(cli: Cli, settings: Settings) -> None:
    from anxin.kit.db import Database
    from anxin.kit.unit_of_work import UnitOfWork
    from anxin.models import ApiKey

    key = cli("apikey", "create", "--name", "by-id", "--scopes", "ledger").last_line
    database = Database(settings.resolved_database_url)
    with UnitOfWork(database, write=False) as uow:
        key_id = str(uow.session.query(ApiKey).one().id)
    database.dispose()
    assert cli("apikey", "revoke", key_id).code == 0
    with _client(settings) as client:
        assert (
            client.get("/v1/accounts", headers={"Authorization": f"Bearer {key}"}).status_code
            == 401
        )
    assert "no API key 'nope'" in one_line_error(cli("apikey", "revoke", "nope"))


def test_long_names_are_refused_on_both_databases(cli: Cli) -> None:
    line = one_line_error(cli("apikey", "create", "--name", "k" * 101, "--scopes", "ledger"))
    assert "at most 100 characters" in line
    assert cli("apikey", "create", "--name", "k" * 100, "--scopes", "ledger").code == 0
