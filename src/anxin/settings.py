"""Process-wide configuration, read from ``ANXIN_*`` environment variables.

Every setting has a default that works on a developer's laptop; the README lists them all.
Settings that would be unsafe in production are refused outside development.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANXIN_", extra="ignore")

    env: Environment = Field(
        default=Environment.DEVELOPMENT,
        description="development, test or production; production refuses unsafe settings.",
    )
    home: Path = Field(
        default=Path("./var"), description="Data directory (SQLite file, demo keys)."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Default: SQLite file anxin.db in ANXIN_HOME; "
        "postgresql+psycopg://user@host/db for PostgreSQL.",
    )
    host: str = Field(default="127.0.0.1", description="Address `anxin serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `anxin serve` listens on.")
    workers: int = Field(default=1, ge=1, le=64, description="Server worker processes.")
    db_pool_size: int = Field(default=10, ge=1, le=200, description="Connections per process.")
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body accepted (413 above)."
    )
    ledger_max_batch: int = Field(
        default=4096,
        ge=1,
        le=100_000,
        description="Most operations the ledger engine applies in one database transaction.",
    )
    ledger_expiry_interval_seconds: float = Field(
        default=1.0, gt=0, description="How often the server expires pending transfers past due."
    )
    idempotency_retention_hours: int = Field(
        default=72,
        ge=24,
        description="How long idempotency keys are remembered (`anxin ledger purge-keys`).",
    )
    log_level: str = Field(default="info", description="Log level of the server.")
    key_file: Path | None = Field(
        default=None,
        description="Key file with the key-encryption keys and the blind-index key (JSON, "
        "see `anxin keys init`). Default: keys.json in ANXIN_HOME, generated in development.",
    )
    kek: str | None = Field(
        default=None,
        description="Alternative to a key file: the key-encryption key, base64 of 32 bytes.",
    )
    blind_index_key: str | None = Field(
        default=None, description="With ANXIN_KEK: the blind-index root key, base64 of 32 bytes."
    )

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'anxin.db').resolve()}"

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file or self.home / "keys.json"

    @property
    def is_development(self) -> bool:
        return self.env is Environment.DEVELOPMENT


def get_settings() -> Settings:
    return Settings()
