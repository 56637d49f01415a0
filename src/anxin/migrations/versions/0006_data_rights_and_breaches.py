"""data rights and breaches: four-eyes approvals, staff exports, account closures and
their payouts, breaches with the holders they affect, and public status announcements

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import anxin.kit.types

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC = anxin.kit.types.UTCDateTime(timezone=True)

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_announcements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source_ref", sa.String(length=100), nullable=True),
        sa.Column("texts", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("published_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("resolved_at", UTC, nullable=True),
        sa.CheckConstraint(
            "status IN ('published', 'resolved')", name=op.f("ck_status_announcements_status_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_announcements")),
        sa.UniqueConstraint("source_ref", name=op.f("uq_status_announcements_source_ref")),
    )
    with op.batch_alter_table("status_announcements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_status_announcements_published_at"), ["published_at"], unique=False
        )

    op.create_table(
        "privacy_approvals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject_ref", sa.String(length=200), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", UTC, nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'expired', 'cancelled')",
            name=op.f("ck_privacy_approvals_status_known"),
        ),
        sa.CheckConstraint(
            "decided_by IS NULL OR decided_by <> requested_by",
            name=op.f("ck_privacy_approvals_four_eyes"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["identity_users.id"],
            name=op.f("fk_privacy_approvals_decided_by_identity_users"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["identity_users.id"],
            name=op.f("fk_privacy_approvals_requested_by_identity_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_approvals")),
    )
    with op.batch_alter_table("privacy_approvals", schema=None) as batch_op:
        batch_op.create_index("ix_privacy_approvals_open", ["status", "expires_at"], unique=False)
        batch_op.create_index("ix_privacy_approvals_subject", ["kind", "subject_ref"], unique=False)

    op.create_table(
        "privacy_closure_payouts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("transfer_id", sa.Uuid(), nullable=False),
        sa.Column("destination_enc", sa.LargeBinary(), nullable=True),
        sa.Column("destination_masked", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider_ref", sa.String(length=100), nullable=True),
        sa.Column("settled_transfer_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("settled_at", UTC, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'paid', 'failed')",
            name=op.f("ck_privacy_closure_payouts_status_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_privacy_closure_payouts_amount_positive")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_users.id"],
            name=op.f("fk_privacy_closure_payouts_user_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_closure_payouts")),
    )
    with op.batch_alter_table("privacy_closure_payouts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_privacy_closure_payouts_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "privacy_closures",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("closed_at", UTC, nullable=False),
        sa.Column("retain_until", UTC, nullable=False),
        sa.Column("notice_owner_id", sa.Uuid(), nullable=True),
        sa.Column("notice_shredded_at", UTC, nullable=True),
        sa.Column("purged_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_users.id"],
            name=op.f("fk_privacy_closures_user_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_privacy_closures")),
    )
    with op.batch_alter_table("privacy_closures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_privacy_closures_retain_until"), ["retain_until"], unique=False
        )

    op.create_table(
        "privacy_breaches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=4000), nullable=False),
        sa.Column("data_categories", JSON, nullable=False),
        sa.Column("facts", JSON, nullable=False),
        sa.Column("holders_query", JSON, nullable=True),
        sa.Column("affected_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("discovered_at", UTC, nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("deadline_at", UTC, nullable=False),
        sa.Column("texts", JSON, nullable=True),
        sa.Column("texts_hash", sa.String(length=64), nullable=True),
        sa.Column("approval_id", sa.Uuid(), nullable=True),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column("approved_at", UTC, nullable=True),
        sa.Column("announcement_id", sa.Uuid(), nullable=True),
        sa.Column("authority_notified_at", UTC, nullable=True),
        sa.Column("holders_notified_at", UTC, nullable=True),
        sa.Column("near_alerted_at", UTC, nullable=True),
        sa.Column("overdue_alerted_at", UTC, nullable=True),
        sa.Column("closed_at", UTC, nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'notified', 'closed')",
            name=op.f("ck_privacy_breaches_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["privacy_approvals.id"],
            name=op.f("fk_privacy_breaches_approval_id_privacy_approvals"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["identity_users.id"],
            name=op.f("fk_privacy_breaches_recorded_by_identity_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_breaches")),
        sa.UniqueConstraint("reference", name=op.f("uq_privacy_breaches_reference")),
    )
    with op.batch_alter_table("privacy_breaches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_privacy_breaches_deadline_at"), ["deadline_at"], unique=False
        )

    op.create_table(
        "privacy_exports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("approval_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("purpose", JSON, nullable=False),
        sa.Column("holder_count", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column("approved_at", UTC, nullable=True),
        sa.Column("available_until", UTC, nullable=True),
        sa.Column("link_hash", sa.String(length=64), nullable=True),
        sa.Column("link_expires_at", UTC, nullable=True),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("last_downloaded_at", UTC, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending_approval', 'approved', 'rejected', 'expired', 'cancelled')",
            name=op.f("ck_privacy_exports_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["privacy_approvals.id"],
            name=op.f("fk_privacy_exports_approval_id_privacy_approvals"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["identity_users.id"],
            name=op.f("fk_privacy_exports_requested_by_identity_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_exports")),
        sa.UniqueConstraint("link_hash", name=op.f("uq_privacy_exports_link_hash")),
    )
    with op.batch_alter_table("privacy_exports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_privacy_exports_requested_by"), ["requested_by"], unique=False
        )

    op.create_table(
        "privacy_breach_holders",
        sa.Column("breach_id", sa.Uuid(), nullable=False),
        sa.Column("holder_id", sa.Uuid(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("notification_id", sa.Uuid(), nullable=True),
        sa.Column("notified_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["breach_id"],
            ["privacy_breaches.id"],
            name=op.f("fk_privacy_breach_holders_breach_id_privacy_breaches"),
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["identity_users.id"],
            name=op.f("fk_privacy_breach_holders_holder_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("breach_id", "holder_id", name=op.f("pk_privacy_breach_holders")),
    )
    with op.batch_alter_table("privacy_breach_holders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_privacy_breach_holders_holder_id"), ["holder_id"], unique=False
        )

    op.create_table(
        "privacy_export_holders",
        sa.Column("export_id", sa.Uuid(), nullable=False),
        sa.Column("holder_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["export_id"],
            ["privacy_exports.id"],
            name=op.f("fk_privacy_export_holders_export_id_privacy_exports"),
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["identity_users.id"],
            name=op.f("fk_privacy_export_holders_holder_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("export_id", "holder_id", name=op.f("pk_privacy_export_holders")),
    )
    with op.batch_alter_table("privacy_export_holders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_privacy_export_holders_holder_id"), ["holder_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("privacy_export_holders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_export_holders_holder_id"))
    op.drop_table("privacy_export_holders")
    with op.batch_alter_table("privacy_breach_holders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_breach_holders_holder_id"))
    op.drop_table("privacy_breach_holders")
    with op.batch_alter_table("privacy_exports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_exports_requested_by"))
    op.drop_table("privacy_exports")
    with op.batch_alter_table("privacy_breaches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_breaches_deadline_at"))
    op.drop_table("privacy_breaches")
    with op.batch_alter_table("privacy_closures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_closures_retain_until"))
    op.drop_table("privacy_closures")
    with op.batch_alter_table("privacy_closure_payouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_closure_payouts_user_id"))
    op.drop_table("privacy_closure_payouts")
    with op.batch_alter_table("privacy_approvals", schema=None) as batch_op:
        batch_op.drop_index("ix_privacy_approvals_subject")
        batch_op.drop_index("ix_privacy_approvals_open")
    op.drop_table("privacy_approvals")
    with op.batch_alter_table("status_announcements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_announcements_published_at"))
    op.drop_table("status_announcements")
