"""Running CLI commands in-process through ``anxin.cli.main.run`` (the real entry point,
with its one-line error handling) against the test database."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from anxin.cli.main import run
from tests.migrations.databases import empty_db_url

__all__ = ["empty_db_url"]


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def last_line(self) -> str:
        return self.out.strip().splitlines()[-1]


Cli = Callable[..., Result]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def bare_cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    home: Path,
    key_file: Path,
) -> Cli:
    """The CLI with no database configured; pass ``database_url=...`` per call."""
    for name in [n for n in os.environ if n.startswith("ANXIN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ANXIN_HOME", str(home))
    monkeypatch.setenv("ANXIN_ENV", "test")
    monkeypatch.setenv("ANXIN_KEY_FILE", str(key_file))

    def invoke(*args: str, **env: str) -> Result:
        for name, value in env.items():
            monkeypatch.setenv(f"ANXIN_{name.upper()}", value)
        monkeypatch.setattr(sys, "argv", ["anxin", *args])
        capsys.readouterr()
        try:
            run()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        captured = capsys.readouterr()
        return Result(code=code, out=captured.out, err=captured.err)

    return invoke


@pytest.fixture
def cli(bare_cli: Cli, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The CLI on the test's migrated database."""
    monkeypatch.setenv("ANXIN_DATABASE_URL", db_url)
    return bare_cli


def one_line_error(result: Result) -> str:
    """The command failed with a single `error:` line and no traceback."""
    assert result.code != 0, result
    assert "Traceback" not in result.err + result.out
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: "), lines
    return lines[0]
