"""care desk: tickets from every channel, their messages, history and links, business
calendars and SLA policies and clocks, macros, CSAT, disputes, and contact-form requests

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import anxin.kit.types

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC = anxin.kit.types.UTCDateTime(timezone=True)

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "care_calendars",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("hours", JSON, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_calendars")),
        sa.UniqueConstraint("name", name=op.f("uq_care_calendars_name")),
    )
    op.create_table(
        "care_macros",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=True),
        sa.Column("body", sa.String(length=4000), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_macros")),
        sa.UniqueConstraint("name", "language", name=op.f("uq_care_macros_name_language")),
    )
    op.create_table(
        "care_calendar_days",
        sa.Column("calendar_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("works_as", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.CheckConstraint(
            "kind IN ('holiday', 'workday')", name=op.f("ck_care_calendar_days_kind_known")
        ),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["care_calendars.id"],
            name=op.f("fk_care_calendar_days_calendar_id_care_calendars"),
        ),
        sa.PrimaryKeyConstraint("calendar_id", "day", name=op.f("pk_care_calendar_days")),
    )
    op.create_table(
        "care_sla_policies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=True),
        sa.Column("priority", sa.String(length=8), nullable=True),
        sa.Column("calendar_id", sa.Uuid(), nullable=False),
        sa.Column("resolution_calendar_id", sa.Uuid(), nullable=True),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("next_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("warn_at_percent", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint(
            "first_response_minutes > 0 AND next_response_minutes > 0 AND resolution_minutes > 0",
            name=op.f("ck_care_sla_policies_targets_positive"),
        ),
        sa.CheckConstraint(
            "warn_at_percent > 0 AND warn_at_percent < 100",
            name=op.f("ck_care_sla_policies_warn_in_range"),
        ),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["care_calendars.id"],
            name=op.f("fk_care_sla_policies_calendar_id_care_calendars"),
        ),
        sa.ForeignKeyConstraint(
            ["resolution_calendar_id"],
            ["care_calendars.id"],
            name=op.f("fk_care_sla_policies_resolution_calendar_id_care_calendars"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_sla_policies")),
    )
    op.create_table(
        "care_tickets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("holder_id", sa.Uuid(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("contact_kind", sa.String(length=8), nullable=True),
        sa.Column("contact_enc", sa.LargeBinary(), nullable=True),
        sa.Column("contact_lookup", sa.String(length=64), nullable=True),
        sa.Column("subject_enc", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("category_source", sa.String(length=8), nullable=False),
        sa.Column("category_confidence", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("merged_into_id", sa.Uuid(), nullable=True),
        sa.Column("external_ref", sa.String(length=200), nullable=True),
        sa.Column("sla_policy_id", sa.Uuid(), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("first_response_at", UTC, nullable=True),
        sa.Column("last_customer_at", UTC, nullable=True),
        sa.Column("last_agent_at", UTC, nullable=True),
        sa.Column("resolved_at", UTC, nullable=True),
        sa.Column("closed_at", UTC, nullable=True),
        sa.Column("reopen_until", UTC, nullable=True),
        sa.CheckConstraint(
            "category IN ('unauthorized_debit', 'funds_frozen', 'topup_withdrawal', 'verification_login', 'fees', 'points', 'refund', 'service_quality', 'privacy', 'feature_request', 'other')",
            name=op.f("ck_care_tickets_category_known"),
        ),
        sa.CheckConstraint(
            "category_source IN ('auto', 'agent')",
            name=op.f("ck_care_tickets_category_source_known"),
        ),
        sa.CheckConstraint(
            "channel IN ('app', 'email', 'web_form', 'chat', 'phone', 'social')",
            name=op.f("ck_care_tickets_channel_known"),
        ),
        sa.CheckConstraint(
            "contact_kind IS NULL OR contact_kind IN ('email', 'phone')",
            name=op.f("ck_care_tickets_contact_kind_known"),
        ),
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')",
            name=op.f("ck_care_tickets_priority_known"),
        ),
        sa.CheckConstraint(
            "status IN ('new', 'open', 'pending_customer', 'resolved', 'closed')",
            name=op.f("ck_care_tickets_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["identity_users.id"],
            name=op.f("fk_care_tickets_assignee_id_identity_users"),
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["identity_users.id"],
            name=op.f("fk_care_tickets_holder_id_identity_users"),
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["care_tickets.id"],
            name=op.f("fk_care_tickets_merged_into_id_care_tickets"),
        ),
        sa.ForeignKeyConstraint(
            ["sla_policy_id"],
            ["care_sla_policies.id"],
            name=op.f("fk_care_tickets_sla_policy_id_care_sla_policies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_tickets")),
        sa.UniqueConstraint("external_ref", name=op.f("uq_care_tickets_external_ref")),
        sa.UniqueConstraint("reference", name=op.f("uq_care_tickets_reference")),
    )
    with op.batch_alter_table("care_tickets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_tickets_assignee_id"), ["assignee_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_care_tickets_contact_lookup"), ["contact_lookup"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_care_tickets_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_care_tickets_holder_id"), ["holder_id"], unique=False)
        batch_op.create_index(
            "ix_care_tickets_queue", ["status", "category", "language"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_care_tickets_reopen_until"), ["reopen_until"], unique=False
        )

    op.create_table(
        "care_contact_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("contact_kind", sa.String(length=8), nullable=False),
        sa.Column("contact_enc", sa.LargeBinary(), nullable=False),
        sa.Column("contact_lookup", sa.String(length=64), nullable=False),
        sa.Column("subject_enc", sa.LargeBinary(), nullable=False),
        sa.Column("body_enc", sa.LargeBinary(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("verified_at", UTC, nullable=True),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint(
            "contact_kind IN ('email', 'phone')",
            name=op.f("ck_care_contact_requests_contact_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["care_tickets.id"],
            name=op.f("fk_care_contact_requests_ticket_id_care_tickets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_contact_requests")),
    )
    with op.batch_alter_table("care_contact_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_contact_requests_contact_lookup"), ["contact_lookup"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_care_contact_requests_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "care_csat",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("requested_at", UTC, nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("comment_enc", sa.LargeBinary(), nullable=True),
        sa.Column("answered_at", UTC, nullable=True),
        sa.CheckConstraint(
            "rating IS NULL OR (rating BETWEEN 1 AND 5)", name=op.f("ck_care_csat_rating_range")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["care_tickets.id"], name=op.f("fk_care_csat_ticket_id_care_tickets")
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_care_csat")),
    )
    op.create_table(
        "care_disputes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("holder_id", sa.Uuid(), nullable=False),
        sa.Column("transfer_id", sa.Uuid(), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provisional_transfer_id", sa.Uuid(), nullable=True),
        sa.Column("outcome_transfer_id", sa.Uuid(), nullable=True),
        sa.Column("recovery_refund_id", sa.Uuid(), nullable=True),
        sa.Column("unrecovered_amount", sa.BigInteger(), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decision_note", sa.String(length=1000), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("decided_at", UTC, nullable=True),
        sa.CheckConstraint(
            "status IN ('investigating', 'upheld', 'rejected', 'withdrawn')",
            name=op.f("ck_care_disputes_status_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_care_disputes_amount_positive")),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["identity_users.id"],
            name=op.f("fk_care_disputes_holder_id_identity_users"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["care_tickets.id"], name=op.f("fk_care_disputes_ticket_id_care_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["ledger_transfers.id"],
            name=op.f("fk_care_disputes_transfer_id_ledger_transfers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_disputes")),
        sa.UniqueConstraint("transfer_id", name=op.f("uq_care_disputes_transfer_id")),
    )
    with op.batch_alter_table("care_disputes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_disputes_holder_id"), ["holder_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_care_disputes_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "care_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("data", JSON, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["care_tickets.id"], name=op.f("fk_care_events_ticket_id_care_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_events")),
    )
    with op.batch_alter_table("care_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_events_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "care_links",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint(
            "kind IN ('holder', 'account', 'transfer', 'ticket', 'incident', 'freeze')",
            name=op.f("ck_care_links_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["care_tickets.id"], name=op.f("fk_care_links_ticket_id_care_tickets")
        ),
        sa.PrimaryKeyConstraint("ticket_id", "kind", "ref", name=op.f("pk_care_links")),
    )
    with op.batch_alter_table("care_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_links_ref"), ["ref"], unique=False)

    op.create_table(
        "care_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("author_kind", sa.String(length=8), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("visibility", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("body_enc", sa.LargeBinary(), nullable=False),
        sa.Column("email_message_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint(
            "author_kind IN ('customer', 'agent', 'system')",
            name=op.f("ck_care_messages_author_known"),
        ),
        sa.CheckConstraint(
            "channel IN ('app', 'email', 'web_form', 'chat', 'phone', 'social')",
            name=op.f("ck_care_messages_channel_known"),
        ),
        sa.CheckConstraint(
            "visibility IN ('public', 'internal')", name=op.f("ck_care_messages_visibility_known")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["care_tickets.id"], name=op.f("fk_care_messages_ticket_id_care_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_messages")),
    )
    with op.batch_alter_table("care_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_messages_email_message_id"), ["email_message_id"], unique=False
        )
        batch_op.create_index(
            "ix_care_messages_ticket_at", ["ticket_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_care_messages_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "care_sla_clocks",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_seconds", sa.BigInteger(), nullable=False),
        sa.Column("used_seconds", sa.BigInteger(), nullable=False),
        sa.Column("running_since", UTC, nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("due_at", UTC, nullable=True),
        sa.Column("warned_at", UTC, nullable=True),
        sa.Column("breached_at", UTC, nullable=True),
        sa.Column("met_at", UTC, nullable=True),
        sa.CheckConstraint(
            "kind IN ('first_response', 'next_response', 'resolution')",
            name=op.f("ck_care_sla_clocks_kind_known"),
        ),
        sa.CheckConstraint(
            "status IN ('running', 'paused', 'met')", name=op.f("ck_care_sla_clocks_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["care_tickets.id"],
            name=op.f("fk_care_sla_clocks_ticket_id_care_tickets"),
        ),
        sa.PrimaryKeyConstraint("ticket_id", "kind", name=op.f("pk_care_sla_clocks")),
    )
    with op.batch_alter_table("care_sla_clocks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_sla_clocks_due_at"), ["due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("care_sla_clocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_sla_clocks_due_at"))

    op.drop_table("care_sla_clocks")
    with op.batch_alter_table("care_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_messages_ticket_id"))
        batch_op.drop_index("ix_care_messages_ticket_at")
        batch_op.drop_index(batch_op.f("ix_care_messages_email_message_id"))

    op.drop_table("care_messages")
    with op.batch_alter_table("care_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_links_ref"))

    op.drop_table("care_links")
    with op.batch_alter_table("care_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_events_ticket_id"))

    op.drop_table("care_events")
    with op.batch_alter_table("care_disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_disputes_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_care_disputes_holder_id"))

    op.drop_table("care_disputes")
    op.drop_table("care_csat")
    with op.batch_alter_table("care_contact_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_contact_requests_created_at"))
        batch_op.drop_index(batch_op.f("ix_care_contact_requests_contact_lookup"))

    op.drop_table("care_contact_requests")
    with op.batch_alter_table("care_tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_tickets_reopen_until"))
        batch_op.drop_index("ix_care_tickets_queue")
        batch_op.drop_index(batch_op.f("ix_care_tickets_holder_id"))
        batch_op.drop_index(batch_op.f("ix_care_tickets_created_at"))
        batch_op.drop_index(batch_op.f("ix_care_tickets_contact_lookup"))
        batch_op.drop_index(batch_op.f("ix_care_tickets_assignee_id"))

    op.drop_table("care_tickets")
    op.drop_table("care_sla_policies")
    op.drop_table("care_calendar_days")
    op.drop_table("care_macros")
    op.drop_table("care_calendars")
