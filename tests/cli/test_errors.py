"""Whatever goes wrong, the CLI says so in one line and exits non-zero: no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli, one_line_error
from tests.system.server import anxin_env, run_anxin


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("bogus://somewhere", "unsupported database 'bogus'"),
        ("mysql://user@localhost/anxin", "unsupported database 'mysql'"),
        ("not a url at all", "Could not parse"),
        ("sqlite:////proc/no/such/dir/anxin.db", "No such file or directory"),
        ("postgresql+psycopg://anxin@127.0.0.1:1/anxin", "cannot use the database"),
    ],
)
def test_bad_database_url(bare_cli: Cli, url: str, says: str) -> None:
    for args in (("migrate",), ("ledger", "verify"), ("apikey", "list"), ("serve",)):
        line = one_line_error(bare_cli(*args, database_url=url))
        assert says in line, args


def test_bad_database_url_from_the_real_executable(tmp_path: Path) -> None:
    env = anxin_env(database_url="bogus://somewhere", home=str(tmp_path), env="test")
    result = run_anxin("migrate", env=env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: cannot use ANXIN_DATABASE_URL: unsupported database 'bogus': use sqlite or "
        "postgresql"
    ]


def test_password_is_not_echoed(tmp_path: Path) -> None:
    env = anxin_env(database_url="bogus://user:s3cret@host/db", home=str(tmp_path), env="test")
    result = run_anxin("migrate", env=env)
    assert result.returncode == 1
    assert "s3cret" not in result.stderr


def test_invalid_setting(bare_cli: Cli) -> None:
    assert "ANXIN_PORT" in one_line_error(bare_cli("migrate", port="eighty"))
    assert "ANXIN_ENV" in one_line_error(bare_cli("migrate", env="staging"))


def test_commands_refuse_an_unmigrated_database(bare_cli: Cli, empty_db_url: str) -> None:
    for args in (("ledger", "verify"), ("apikey", "list"), ("account", "show", "x"),
                 ("ledger", "expire"), ("ledger", "purge-keys")):  # fmt: skip
        line = one_line_error(bare_cli(*args, database_url=empty_db_url))
        assert "run `anxin migrate`" in line, args


def test_unknown_command(bare_cli: Cli) -> None:
    result = bare_cli("transmogrify")
    assert result.code == 2
    assert "Traceback" not in result.err
