"""incidents: collective-complaint groups and members, incidents with their timeline, public
updates and status subscribers, affected-holder queries and holders, remediation plans and items

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import anxin.kit.types

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC = anxin.kit.types.UTCDateTime(timezone=True)

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_subscribers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("email_enc", sa.LargeBinary(), nullable=False),
        sa.Column("email_lookup", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("confirmed_at", UTC, nullable=True),
        sa.Column("unsubscribed_at", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_subscribers")),
        sa.UniqueConstraint("email_lookup", name=op.f("uq_status_subscribers_email_lookup")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_status_subscribers_token_hash")),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("cause_key", sa.String(length=200), nullable=True),
        sa.Column("category", sa.String(length=24), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=True),
        sa.Column("opened_by", sa.Uuid(), nullable=True),
        sa.Column("root_cause", sa.String(length=4000), nullable=True),
        sa.Column("started_at", UTC, nullable=True),
        sa.Column("detected_at", UTC, nullable=False),
        sa.Column("identified_at", UTC, nullable=True),
        sa.Column("monitoring_at", UTC, nullable=True),
        sa.Column("resolved_at", UTC, nullable=True),
        sa.Column("reviewed_at", UTC, nullable=True),
        sa.Column("first_announced_at", UTC, nullable=True),
        sa.Column("first_notified_at", UTC, nullable=True),
        sa.Column("compensated_at", UTC, nullable=True),
        sa.CheckConstraint(
            "severity IN ('minor', 'major', 'critical')", name=op.f("ck_incidents_severity_known")
        ),
        sa.CheckConstraint(
            "status IN ('investigating', 'identified', 'monitoring', 'resolved', 'reviewed')",
            name=op.f("ck_incidents_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["identity_users.id"], name=op.f("fk_incidents_lead_id_identity_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("reference", name=op.f("uq_incidents_reference")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incidents_cause_key"), ["cause_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_detected_at"), ["detected_at"], unique=False)

    op.create_table(
        "collective_groups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("detected_at", UTC, nullable=False),
        sa.Column("first_complaint_at", UTC, nullable=False),
        sa.Column("distinct_holders", sa.Integer(), nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_collective_groups_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collective_groups")),
    )
    with op.batch_alter_table("collective_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_collective_groups_detected_at"), ["detected_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_collective_groups_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_collective_groups_key"), ["key"], unique=False)

    op.create_table(
        "incident_affected",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("holder_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("facts", JSON, nullable=False),
        sa.Column("added_at", UTC, nullable=False),
        sa.Column("notified_at", UTC, nullable=True),
        sa.Column("resolution_notified_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["identity_users.id"],
            name=op.f("fk_incident_affected_holder_id_identity_users"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_affected_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("incident_id", "holder_id", name=op.f("pk_incident_affected")),
    )
    with op.batch_alter_table("incident_affected", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_affected_holder_id"), ["holder_id"], unique=False
        )

    op.create_table(
        "incident_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("data", JSON, nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_events_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_events")),
    )
    with op.batch_alter_table("incident_events", schema=None) as batch_op:
        batch_op.create_index("ix_incident_events_incident_at", ["incident_id", "at"], unique=False)

    op.create_table(
        "incident_queries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_queries_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_queries")),
    )
    with op.batch_alter_table("incident_queries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_queries_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "incident_updates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=True),
        sa.Column("texts", JSON, nullable=False),
        sa.Column("published_by", sa.Uuid(), nullable=True),
        sa.Column("published_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_updates_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_updates")),
    )
    with op.batch_alter_table("incident_updates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_updates_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_incident_updates_published_at"), ["published_at"], unique=False
        )

    op.create_table(
        "remediation_plans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("totals", JSON, nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("paid_count", sa.Integer(), nullable=False),
        sa.Column("prepared_by", sa.Uuid(), nullable=False),
        sa.Column("prepared_at", UTC, nullable=False),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column("approved_at", UTC, nullable=True),
        sa.Column("started_at", UTC, nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'approved', 'rejected', 'executing', 'done')",
            name=op.f("ck_remediation_plans_status_known"),
        ),
        sa.CheckConstraint(
            "approved_by IS NULL OR approved_by <> prepared_by",
            name=op.f("ck_remediation_plans_four_eyes"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_remediation_plans_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remediation_plans")),
    )
    with op.batch_alter_table("remediation_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_remediation_plans_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "collective_members",
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["collective_groups.id"],
            name=op.f("fk_collective_members_group_id_collective_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["care_tickets.id"],
            name=op.f("fk_collective_members_ticket_id_care_tickets"),
        ),
        sa.PrimaryKeyConstraint("group_id", "ticket_id", name=op.f("pk_collective_members")),
    )
    with op.batch_alter_table("collective_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_collective_members_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "remediation_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("holder_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=False),
        sa.Column("transfer_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("transfer_id", sa.Uuid(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("done_at", UTC, nullable=True),
        sa.CheckConstraint(
            "kind IN ('refund', 'goodwill', 'fee_waiver', 'unfreeze')",
            name=op.f("ck_remediation_items_kind_known"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'done', 'failed')",
            name=op.f("ck_remediation_items_status_known"),
        ),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_remediation_items_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["identity_users.id"],
            name=op.f("fk_remediation_items_holder_id_identity_users"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["remediation_plans.id"],
            name=op.f("fk_remediation_items_plan_id_remediation_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remediation_items")),
        sa.UniqueConstraint(
            "plan_id",
            "holder_id",
            "kind",
            "ref",
            name=op.f("uq_remediation_items_plan_id_holder_id_kind_ref"),
        ),
        sa.UniqueConstraint("transfer_key", name=op.f("uq_remediation_items_transfer_key")),
    )
    with op.batch_alter_table("remediation_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_remediation_items_holder_id"), ["holder_id"], unique=False
        )
        batch_op.create_index(
            "ix_remediation_items_plan_status", ["plan_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("remediation_items", schema=None) as batch_op:
        batch_op.drop_index("ix_remediation_items_plan_status")
        batch_op.drop_index(batch_op.f("ix_remediation_items_holder_id"))

    op.drop_table("remediation_items")
    with op.batch_alter_table("collective_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collective_members_ticket_id"))

    op.drop_table("collective_members")
    with op.batch_alter_table("remediation_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remediation_plans_incident_id"))

    op.drop_table("remediation_plans")
    with op.batch_alter_table("incident_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_updates_published_at"))
        batch_op.drop_index(batch_op.f("ix_incident_updates_incident_id"))

    op.drop_table("incident_updates")
    with op.batch_alter_table("incident_queries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_queries_incident_id"))

    op.drop_table("incident_queries")
    with op.batch_alter_table("incident_events", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_events_incident_at")

    op.drop_table("incident_events")
    with op.batch_alter_table("incident_affected", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_affected_holder_id"))

    op.drop_table("incident_affected")
    with op.batch_alter_table("collective_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collective_groups_key"))
        batch_op.drop_index(batch_op.f("ix_collective_groups_incident_id"))
        batch_op.drop_index(batch_op.f("ix_collective_groups_detected_at"))

    op.drop_table("collective_groups")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_detected_at"))
        batch_op.drop_index(batch_op.f("ix_incidents_cause_key"))

    op.drop_table("incidents")
    op.drop_table("status_subscribers")
