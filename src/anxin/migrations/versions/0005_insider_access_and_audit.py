"""insider access and audit: the tamper-evident audit log and its signed checkpoints, the
holders' access log, purpose-bound reveals, cases, compliance alerts and honeytokens

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import anxin.kit.types

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC = anxin.kit.types.UTCDateTime(timezone=True)

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The audit log and its checkpoints are append-only. The hash chain and the signed
# checkpoints catch anyone who gets around the triggers (e.g. by dropping them).
_APPEND_ONLY = ("audit_log", "audit_checkpoints")
_PG_FUNCTION = """
CREATE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def _pg_trigger(table: str) -> str:
    return (
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
    )


def _sqlite_triggers(table: str) -> list[str]:
    return [
        f"""CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"""
        for verb in ("UPDATE", "DELETE")
    ]


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at", UTC, nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_role", sa.String(length=32), nullable=True),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("data", JSON, nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_subject_id"), ["subject_id"], unique=False)

    # No row yet: the first append creates it (see anxin.audit.service.lock_head).
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("last_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_checkpoints_seq"), ["seq"], unique=False)

    op.create_table(
        "compliance_alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=True),
        sa.Column("holder_id", sa.Uuid(), nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("acknowledged_by", sa.Uuid(), nullable=True),
        sa.Column("acknowledged_at", UTC, nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.CheckConstraint(
            "severity IN ('warning', 'critical')",
            name=op.f("ck_compliance_alerts_severity_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_alerts")),
    )
    with op.batch_alter_table("compliance_alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_compliance_alerts_open", ["acknowledged_at", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_compliance_alerts_staff_id"), ["staff_id"], unique=False
        )

    op.create_table(
        "privacy_honeytokens",
        sa.Column("marker", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("marker", name=op.f("pk_privacy_honeytokens")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("holder_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=True),
        sa.Column("opened_by", sa.Uuid(), nullable=True),
        sa.Column("opened_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("closed_at", UTC, nullable=True),
        sa.CheckConstraint(
            "kind IN ('ticket', 'dispute', 'incident', 'risk_case')",
            name=op.f("ck_cases_kind_known"),
        ),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_cases_status_known")),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["identity_users.id"], name=op.f("fk_cases_assignee_id_identity_users")
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["identity_users.id"], name=op.f("fk_cases_holder_id_identity_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("kind", "reference", name=op.f("uq_cases_kind_reference")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_assignee_id"), ["assignee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_holder_id"), ["holder_id"], unique=False)

    op.create_table(
        "privacy_access_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("holder_id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("staff_pseudonym", sa.String(length=32), nullable=False),
        sa.Column("staff_role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("purpose", JSON, nullable=False),
        sa.Column("break_glass", sa.Boolean(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["identity_users.id"],
            name=op.f("fk_privacy_access_log_holder_id_identity_users"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["identity_users.id"],
            name=op.f("fk_privacy_access_log_staff_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_access_log")),
    )
    with op.batch_alter_table("privacy_access_log", schema=None) as batch_op:
        batch_op.create_index("ix_privacy_access_log_holder_at", ["holder_id", "at"], unique=False)
        batch_op.create_index("ix_privacy_access_log_staff_at", ["staff_id", "at"], unique=False)

    op.create_table(
        "privacy_reveals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("holder_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("break_glass_reason", sa.String(length=1000), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("review_status", sa.String(length=16), nullable=True),
        sa.Column("review_due_at", UTC, nullable=True),
        sa.Column("reviewed_by", sa.Uuid(), nullable=True),
        sa.Column("reviewed_at", UTC, nullable=True),
        sa.Column("review_note", sa.String(length=1000), nullable=True),
        sa.CheckConstraint(
            "review_status IS NULL OR review_status IN "
            "('pending', 'overdue', 'justified', 'unjustified')",
            name=op.f("ck_privacy_reveals_review_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_privacy_reveals_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["identity_users.id"],
            name=op.f("fk_privacy_reveals_holder_id_identity_users"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["identity_users.id"],
            name=op.f("fk_privacy_reveals_staff_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_reveals")),
    )
    with op.batch_alter_table("privacy_reveals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_privacy_reveals_review", ["review_status", "review_due_at"], unique=False
        )
        batch_op.create_index(
            "ix_privacy_reveals_staff_created", ["staff_id", "created_at"], unique=False
        )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for table in _APPEND_ONLY:
            op.execute(_pg_trigger(table))
    else:
        for table in _APPEND_ONLY:
            for statement in _sqlite_triggers(table):
                op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION audit_append_only()")
    else:
        for table in _APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_no_update")
            op.execute(f"DROP TRIGGER {table}_no_delete")

    with op.batch_alter_table("privacy_reveals", schema=None) as batch_op:
        batch_op.drop_index("ix_privacy_reveals_staff_created")
        batch_op.drop_index("ix_privacy_reveals_review")
    op.drop_table("privacy_reveals")
    with op.batch_alter_table("privacy_access_log", schema=None) as batch_op:
        batch_op.drop_index("ix_privacy_access_log_staff_at")
        batch_op.drop_index("ix_privacy_access_log_holder_at")
    op.drop_table("privacy_access_log")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_holder_id"))
        batch_op.drop_index(batch_op.f("ix_cases_assignee_id"))
    op.drop_table("cases")
    op.drop_table("privacy_honeytokens")
    with op.batch_alter_table("compliance_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compliance_alerts_staff_id"))
        batch_op.drop_index("ix_compliance_alerts_open")
    op.drop_table("compliance_alerts")
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_checkpoints_seq"))
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_subject_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor_id"))
    op.drop_table("audit_log")
