"""Schema migrations (Alembic) for SQLite and PostgreSQL, and the check ``serve`` runs.

``anxin migrate`` upgrades to the newest revision. ``anxin serve`` migrates a brand-new
database by itself, but refuses to start on one whose schema is behind or ahead of the
code, because silently migrating a production database at start-up is how outages happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

_HERE = Path(__file__).parent


def _config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    return {rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()}


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = _config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = _config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None
    head: str
    empty: bool  # no tables at all: a brand-new database

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    @property
    def ahead(self) -> bool:
        return self.current is not None and self.current not in known_revisions()

    def problem(self) -> str | None:
        """A one-line explanation of why the server must not start, or None."""
        if self.up_to_date:
            return None
        if self.current is None:
            if self.empty:
                return None
            return (
                "the database has tables but no Anxin schema version; "
                "point ANXIN_DATABASE_URL at an Anxin database or an empty one"
            )
        if self.ahead:
            return (
                f"the database schema ({self.current}) is newer than this version of Anxin "
                f"knows ({self.head}); upgrade Anxin"
            )
        return (
            f"the database schema ({self.current}) is behind the code ({self.head}); "
            "run `anxin migrate`"
        )


def schema_status(engine: Engine) -> SchemaStatus:
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        empty = not inspect(connection).get_table_names()
    return SchemaStatus(current=current, head=head_revision(), empty=empty)
