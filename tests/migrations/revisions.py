"""Revision helpers for tests that need a database at a given schema version."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

import anxin.migrations


def script_directory() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(Path(anxin.migrations.__file__).parent))
    return ScriptDirectory.from_config(config)


def all_revisions() -> list[str]:
    """Every revision, oldest first."""
    return [r.revision for r in reversed(list(script_directory().walk_revisions()))]


def behind_target() -> str:
    """A revision older than head, or "base" when head is the only one."""
    revisions = all_revisions()
    return revisions[-2] if len(revisions) > 1 else "base"


def stamp(engine: Engine, revision: str) -> None:
    """Write a revision id into alembic_version without running anything (the table must exist)."""
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:r)"),
                           {"r": revision})  # fmt: skip
