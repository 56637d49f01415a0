"""Process-wide configuration, read from ``ANXIN_*`` environment variables.

Every setting has a default that works on a developer's laptop; the README lists them all.
Settings that would be unsafe in production are refused outside development.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from anxin.collective.settings import DetectorSettings


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
    # -- identity ---------------------------------------------------------------------------
    webauthn_origin: str = Field(
        default="http://localhost:8000",
        description="Origin browsers use for this server: the WebAuthn origin, and the only "
        "Origin accepted on cookie-authenticated form posts.",
    )
    webauthn_rp_id: str = Field(
        default="localhost", description="WebAuthn relying-party id (the site's domain)."
    )
    webauthn_rp_name: str = Field(
        default="Anxin", description="Relying-party name shown by authenticators."
    )
    holder_idle_timeout_seconds: int = Field(
        default=300, ge=30, description="A holder's session ends after this long unused (PSD2)."
    )
    staff_idle_timeout_seconds: int = Field(
        default=900, ge=30, description="A staff session ends after this long unused."
    )
    session_lifetime_seconds: int = Field(
        default=43_200, ge=60, description="Absolute lifetime of any session."
    )
    verification_code_lifetime_seconds: int = Field(
        default=600, ge=60, description="Lifetime of a contact verification code."
    )
    reset_code_lifetime_seconds: int = Field(
        default=900, ge=60, description="Lifetime of a password reset code."
    )
    staff_setup_code_lifetime_seconds: int = Field(
        default=86_400, ge=300, description="Lifetime of a new staff member's set-password code."
    )
    signin_challenge_lifetime_seconds: int = Field(
        default=300, ge=30, description="Time to give the second factor after the password."
    )
    password_hash_memory_kib: int = Field(
        default=19_456, ge=19_456, description="Argon2id memory cost (OWASP minimum 19 MiB)."
    )
    password_hash_time_cost: int = Field(
        default=2, ge=2, description="Argon2id iterations (OWASP minimum 2 at 19 MiB)."
    )
    password_hash_parallelism: int = Field(default=1, ge=1, le=16, description="Argon2id lanes.")
    redis_url: str | None = Field(
        default=None,
        description="Redis for shared rate-limit counters (redis://host:6379/0); default: "
        "the database.",
    )
    smtp_host: str | None = Field(
        default=None,
        description="SMTP server for email. Unset: emails are written to dev-email.jsonl in "
        "ANXIN_HOME instead (development).",
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port.")
    smtp_sender: str = Field(
        default="Anxin <no-reply@localhost>", description="From address of emails."
    )
    smtp_starttls: bool = Field(default=False, description="Use STARTTLS with the SMTP server.")
    smtp_username: str | None = Field(default=None, description="SMTP login, if required.")
    smtp_password: str | None = Field(default=None, description="SMTP password, if required.")
    delivery_interval_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How often the server sends due emails/SMS from the outbox (0: never; "
        "then run `anxin dev deliver`).",
    )
    # -- step-up and limits (amounts in minor units; JSON objects keyed by currency) ---------
    step_up_amount_threshold: dict[str, int] | None = Field(
        default=None,
        description='Payments above this need a second factor, e.g. {"CNY": 5000}; a currency '
        "not listed always does. Default: about 50 CNY (anxin.identity.stepup).",
    )
    step_up_exemption_cumulative: dict[str, int] | None = Field(
        default=None,
        description="Most that exempt small payments to trusted payees may add up to between "
        "two step-ups, per currency. Default: about 150 CNY.",
    )
    step_up_exemption_count: int = Field(
        default=5, ge=0, description="Most exempt payments in a row between two step-ups."
    )
    step_up_challenge_ttl_seconds: int = Field(
        default=300, ge=30, description="Time to answer a step-up challenge."
    )
    step_up_token_ttl_seconds: int = Field(
        default=120, ge=10, description="Time to use a step-up token (once) after the proof."
    )
    tier_limits: dict[str, dict[str, dict[str, int]]] | None = Field(
        default=None,
        description='Per tier and currency: {"basic": {"CNY": {"balance": ..., '
        '"daily_outflow": ..., "monthly_outflow": ...}}}. Default: anxin.identity.limits.',
    )
    daily_limit_currency: str = Field(
        default="CNY", description="Currency of the holder-chosen daily payment limit."
    )
    kyc_provider: str = Field(
        default="fake", description="Identity verification provider (only `fake` so far)."
    )
    # -- privacy against insiders and the audit trail (docs/privacy.md) ----------------------
    reveal_ttl_seconds: int = Field(
        default=300, ge=30, le=3600,
        description="How long a staff member may re-read a reveal of a holder's personal data.",
    )  # fmt: skip
    reveal_rate_per_minute: int = Field(
        default=10, ge=1, description="Most reveals one staff member may make in a minute."
    )
    guard_alert_holders_per_hour: int = Field(
        default=50, ge=1,
        description="Alert compliance above this many distinct holders revealed in an hour.",
    )  # fmt: skip
    guard_block_holders_per_hour: int = Field(
        default=200, ge=1,
        description="Refuse, end the staff member's sessions and alert compliance above this "
        "many distinct holders revealed in an hour.",
    )  # fmt: skip
    guard_alert_holders_per_day: int = Field(
        default=200, ge=1, description="Alert above this many distinct holders revealed in 24 h."
    )
    guard_block_holders_per_day: int = Field(
        default=500, ge=1, description="Block above this many distinct holders revealed in 24 h."
    )
    break_glass_per_day: int = Field(
        default=3, ge=0,
        description="Most break-glass reveals (no case) per staff member in 24 h; more blocks.",
    )  # fmt: skip
    break_glass_review_hours: int = Field(
        default=72, ge=1, description="Compliance reviews each break-glass reveal within this."
    )
    business_hours: str = Field(
        default="08:00-20:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$",
        description="Staff working hours (HH:MM-HH:MM, in ANXIN_BUSINESS_TIMEZONE); reveals "
        "outside them count as off-hours.",
    )  # fmt: skip
    business_days: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        default=[1, 2, 3, 4, 5], description="Working days, ISO numbers (1 = Monday), as JSON."
    )
    business_timezone: str = Field(
        default="Asia/Shanghai", description="Time zone of the business hours (IANA name)."
    )
    off_hours_alert_reveals: int = Field(
        default=5, ge=1,
        description="Alert compliance when a staff member makes more off-hours reveals in an hour.",
    )  # fmt: skip
    audit_checkpoint_interval_seconds: float = Field(
        default=3600, ge=0,
        description="How often the server signs an audit checkpoint (0: never; then run "
        "`anxin audit checkpoint`).",
    )  # fmt: skip
    # -- data rights, staff exports and breaches (docs/privacy-rights.md) --------------------
    export_max_holders: int = Field(
        default=100, ge=1, le=10_000, description="Most holders in one staff export of data."
    )
    export_approval_ttl_seconds: int = Field(
        default=86_400, ge=300, description="An export nobody approved within this expires."
    )
    export_available_seconds: int = Field(
        default=86_400, ge=300,
        description="After its approval, how long download links can be made for an export.",
    )  # fmt: skip
    export_link_ttl_seconds: int = Field(
        default=600, ge=30, le=86_400, description="Lifetime of a single-use export download link."
    )
    export_canary_domain: str = Field(
        default="anxin.example",
        description="Email domain (one the operator controls) of the made-up canary holder "
        "in every export.",
    )
    closure_retention_days: int = Field(
        default=1827, ge=0,
        description="How long a closed account's pseudonymised ledger records are kept before "
        "the purge anonymises them (default 5 years).",
    )  # fmt: skip
    breach_notification_hours: int = Field(
        default=72, ge=1, description="Deadline to notify a breach, counted from its discovery."
    )
    breach_warning_hours: int = Field(
        default=24, ge=1,
        description="Alert compliance when a breach's deadline is this close and it is not "
        "notified yet.",
    )  # fmt: skip
    breach_approval_ttl_seconds: int = Field(
        default=14_400, ge=300,
        description="Time for a second compliance officer to approve a breach's notices.",
    )  # fmt: skip
    # -- care desk intake (docs/care.md) ------------------------------------------------------
    care_smtp_port: int = Field(
        default=0, ge=0, le=65535,
        description="Loopback port (127.0.0.1) of the inbound complaint-email listener, "
        "started by `anxin serve` or `anxin care smtp` behind the operator's mail server "
        "(0: no listener).",
    )  # fmt: skip
    care_smtp_max_bytes: int = Field(
        default=10_485_760, ge=1024,
        description="Largest complaint email accepted (SMTP 552 and a bounce above).",
    )  # fmt: skip
    care_chat_heartbeat_seconds: float = Field(
        default=15.0, gt=0, le=300,
        description="How often a care chat's event stream sends a keep-alive comment.",
    )  # fmt: skip
    # -- care desk tickets (docs/care.md) -----------------------------------------------------
    care_reopen_days: int = Field(
        default=7, ge=1, le=90,
        description="Days after resolution in which a customer's reply reopens a ticket; "
        "after them the ticket closes and a new message opens a new ticket.",
    )  # fmt: skip
    # -- care desk SLA clocks (docs/care.md) --------------------------------------------------
    care_sla_tick_seconds: float = Field(
        default=60.0, ge=0,
        description="How often the server checks SLA clocks for warnings, breaches and "
        "escalation, and closes resolved tickets past their reopen window (0: never; then "
        "run `anxin care sla-tick` and `anxin care close-resolved`, e.g. from cron).",
    )  # fmt: skip

    # -- collective complaints and incidents (docs/collective.md, docs/incidents.md) --------
    incidents_detect_seconds: float = Field(
        default=10.0, ge=0,
        description="How often the server feeds new complaints to the collective-complaint "
        "detector, which opens incidents (0: never; then run `anxin incident detect`).",
    )  # fmt: skip
    collective_detector: dict[str, float | int | str] = Field(
        default_factory=dict,
        description="The detector's thresholds that differ from the defaults, as JSON, e.g. "
        '`{"threshold": 13, "min_holders": 8}` (names in docs/collective.md; tune them '
        "with `anxin care replay --labels`).",
    )  # fmt: skip

    @field_validator("collective_detector")
    @classmethod
    def _valid_detector(cls, value: dict[str, float | int | str]) -> dict[str, float | int | str]:
        # Imported here: the detector's package pulls in numpy, which most commands never need.
        from anxin.collective.settings import DetectorSettings

        try:
            DetectorSettings(**value)  # type: ignore[arg-type]
        except (TypeError, ValueError) as error:
            raise ValueError(f"invalid collective detector settings: {error}") from error
        return value

    @property
    def detector_settings(self) -> DetectorSettings:
        from anxin.collective.settings import DetectorSettings

        return DetectorSettings(**self.collective_detector)  # type: ignore[arg-type]

    @field_validator("business_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

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
