"""wallet money: holders' accounts, funding orders, fees and waivers, points, freezes,
reconciliation, notification preferences and the simulated bank rail

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import anxin.kit.types

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wallet_fee_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("basis_points", sa.Integer(), nullable=False),
        sa.Column("fixed", sa.BigInteger(), nullable=False),
        sa.Column("minimum", sa.BigInteger(), nullable=True),
        sa.Column("maximum", sa.BigInteger(), nullable=True),
        sa.Column("rounding", sa.String(length=16), nullable=False),
        sa.Column("valid_from", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", anxin.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "rounding IN ('half_up', 'up', 'down')", name=op.f("ck_wallet_fee_rules_rounding_known")
        ),
        sa.CheckConstraint(
            "basis_points >= 0 AND basis_points <= 10000",
            name=op.f("ck_wallet_fee_rules_bps_range"),
        ),
        sa.CheckConstraint("fixed >= 0", name=op.f("ck_wallet_fee_rules_fixed_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_fee_rules")),
    )
    with op.batch_alter_table("wallet_fee_rules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_wallet_fee_rules_lookup", ["operation", "asset", "valid_from"], unique=False
        )

    op.create_table(
        "wallet_points_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("earn_points", sa.Integer(), nullable=False),
        sa.Column("earn_per", sa.BigInteger(), nullable=False),
        sa.Column("max_points_per_payment", sa.BigInteger(), nullable=True),
        sa.Column("redeem_points", sa.Integer(), nullable=False),
        sa.Column("redeem_value", sa.BigInteger(), nullable=False),
        sa.Column("expiry_days", sa.Integer(), nullable=False),
        sa.Column("valid_from", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", anxin.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "earn_points >= 0 AND earn_per > 0 AND redeem_points > 0 AND redeem_value > 0 AND expiry_days > 0",
            name=op.f("ck_wallet_points_rules_values_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_points_rules")),
    )
    with op.batch_alter_table("wallet_points_rules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_wallet_points_rules_lookup", ["asset", "valid_from"], unique=False
        )

    op.create_table(
        "wallet_recon_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("since", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("until", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("records_checked", sa.Integer(), nullable=False),
        sa.Column("orders_checked", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("exceptions_found", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_recon_runs")),
    )
    op.create_table(
        "wallet_requests",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", JSON, nullable=False),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_wallet_requests")),
    )
    with op.batch_alter_table("wallet_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_requests_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "wallet_sim_bank_records",
        sa.Column("provider_ref", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("customer_ref", sa.String(length=64), nullable=True),
        sa.Column("instrument", sa.String(length=32), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("settled_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("provider_ref", name=op.f("pk_wallet_sim_bank_records")),
        sa.UniqueConstraint(
            "direction", "reference", name=op.f("uq_wallet_sim_bank_records_direction_reference")
        ),
    )
    with op.batch_alter_table("wallet_sim_bank_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_wallet_sim_bank_records_status", ["status", "settled_at"], unique=False
        )

    op.create_table(
        "wallet_accounts",
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_wallet_accounts_account_id_ledger_accounts"),
        ),
        sa.PrimaryKeyConstraint("owner", "asset", name=op.f("pk_wallet_accounts")),
        sa.UniqueConstraint("account_id", name=op.f("uq_wallet_accounts_account_id")),
    )
    with op.batch_alter_table("wallet_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wallet_accounts_user_id"), ["user_id"], unique=False)

    op.create_table(
        "wallet_fee_waivers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("operation", sa.String(length=32), nullable=True),
        sa.Column("asset", sa.String(length=16), nullable=True),
        sa.Column("discount_bps", sa.Integer(), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("starts_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "(kind IN ('holder', 'compensation')) = (user_id IS NOT NULL)",
            name=op.f("ck_wallet_fee_waivers_holder_scope"),
        ),
        sa.CheckConstraint(
            "kind <> 'campaign' OR campaign IS NOT NULL",
            name=op.f("ck_wallet_fee_waivers_campaign_named"),
        ),
        sa.CheckConstraint(
            "kind IN ('campaign', 'holder', 'time_window', 'compensation')",
            name=op.f("ck_wallet_fee_waivers_kind_known"),
        ),
        sa.CheckConstraint(
            "discount_bps > 0 AND discount_bps <= 10000",
            name=op.f("ck_wallet_fee_waivers_discount_range"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_users.id"],
            name=op.f("fk_wallet_fee_waivers_user_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_fee_waivers")),
    )
    with op.batch_alter_table("wallet_fee_waivers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_fee_waivers_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "wallet_freezes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("reason_code", sa.String(length=48), nullable=False),
        sa.Column("note_enc", sa.LargeBinary(), nullable=False),
        sa.Column("review_by", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lifted_by", sa.Uuid(), nullable=True),
        sa.Column("lifted_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lift_note_enc", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(
            "scope IN ('all', 'outgoing')", name=op.f("ck_wallet_freezes_scope_known")
        ),
        sa.CheckConstraint(
            "status IN ('active', 'lifted')", name=op.f("ck_wallet_freezes_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_users.id"],
            name=op.f("fk_wallet_freezes_user_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_freezes")),
    )
    with op.batch_alter_table("wallet_freezes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wallet_freezes_user_id"), ["user_id"], unique=False)

    op.create_table(
        "wallet_funding_sources",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("number_enc", sa.LargeBinary(), nullable=False),
        sa.Column("lookup", sa.String(length=64), nullable=False),
        sa.Column("masked", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('card', 'bank_account')", name=op.f("ck_wallet_funding_sources_kind_known")
        ),
        sa.CheckConstraint(
            "status IN ('active', 'removed')", name=op.f("ck_wallet_funding_sources_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_users.id"],
            name=op.f("fk_wallet_funding_sources_user_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_funding_sources")),
        sa.UniqueConstraint(
            "user_id", "kind", "lookup", name=op.f("uq_wallet_funding_sources_user_id_kind_lookup")
        ),
    )
    with op.batch_alter_table("wallet_funding_sources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_funding_sources_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "wallet_notification_prefs",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("sms", sa.Boolean(), nullable=False),
        sa.Column("updated_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_users.id"],
            name=op.f("fk_wallet_notification_prefs_user_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_wallet_notification_prefs")),
    )
    op.create_table(
        "wallet_points_lots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("transfer_id", sa.Uuid(), nullable=False),
        sa.Column("earned_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "remaining >= 0 AND remaining <= points",
            name=op.f("ck_wallet_points_lots_remaining_range"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_users.id"],
            name=op.f("fk_wallet_points_lots_user_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_points_lots")),
    )
    with op.batch_alter_table("wallet_points_lots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_wallet_points_lots_due", ["expires_at", "remaining"], unique=False
        )
        batch_op.create_index("ix_wallet_points_lots_user", ["user_id", "expires_at"], unique=False)

    op.create_table(
        "wallet_recon_exceptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("match_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("provider_ref", sa.String(length=100), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("ledger_amount", sa.BigInteger(), nullable=False),
        sa.Column("bank_amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("resolution_note", sa.String(length=2000), nullable=True),
        sa.Column("resolved_by", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("transfer_id", sa.Uuid(), nullable=True),
        sa.Column("detected_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'resolved')", name=op.f("ck_wallet_recon_exceptions_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["wallet_recon_runs.id"],
            name=op.f("fk_wallet_recon_exceptions_run_id_wallet_recon_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_recon_exceptions")),
        sa.UniqueConstraint("match_key", name=op.f("uq_wallet_recon_exceptions_match_key")),
    )
    with op.batch_alter_table("wallet_recon_exceptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_wallet_recon_exceptions_status", ["status", "detected_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_wallet_recon_exceptions_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "wallet_fee_charges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=True),
        sa.Column("gross_fee", sa.BigInteger(), nullable=False),
        sa.Column("waiver_id", sa.Uuid(), nullable=True),
        sa.Column("waived", sa.BigInteger(), nullable=False),
        sa.Column("points_used", sa.BigInteger(), nullable=False),
        sa.Column("points_discount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("transfer_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "fee = gross_fee - waived - points_discount",
            name=op.f("ck_wallet_fee_charges_fee_adds_up"),
        ),
        sa.CheckConstraint(
            "fee >= 0 AND waived >= 0 AND points_discount >= 0",
            name=op.f("ck_wallet_fee_charges_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["wallet_fee_rules.id"],
            name=op.f("fk_wallet_fee_charges_rule_id_wallet_fee_rules"),
        ),
        sa.ForeignKeyConstraint(
            ["waiver_id"],
            ["wallet_fee_waivers.id"],
            name=op.f("fk_wallet_fee_charges_waiver_id_wallet_fee_waivers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_fee_charges")),
    )
    with op.batch_alter_table("wallet_fee_charges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_fee_charges_reference"), ["reference"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_wallet_fee_charges_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "wallet_freeze_appeals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("freeze_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("message_enc", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("care_ticket_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["freeze_id"],
            ["wallet_freezes.id"],
            name=op.f("fk_wallet_freeze_appeals_freeze_id_wallet_freezes"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_users.id"],
            name=op.f("fk_wallet_freeze_appeals_user_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_freeze_appeals")),
    )
    with op.batch_alter_table("wallet_freeze_appeals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_freeze_appeals_freeze_id"), ["freeze_id"], unique=False
        )

    op.create_table(
        "wallet_funding_orders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("hold_id", sa.Uuid(), nullable=False),
        sa.Column("fee_hold_id", sa.Uuid(), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_ref", sa.String(length=100), nullable=True),
        sa.Column("failure_reason", sa.String(length=300), nullable=True),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("settled_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "direction IN ('topup', 'withdrawal')",
            name=op.f("ck_wallet_funding_orders_direction_known"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'completed', 'failed', 'blocked')",
            name=op.f("ck_wallet_funding_orders_status_known"),
        ),
        sa.CheckConstraint(
            "amount > 0 AND fee >= 0", name=op.f("ck_wallet_funding_orders_amounts_valid")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["wallet_funding_sources.id"],
            name=op.f("fk_wallet_funding_orders_source_id_wallet_funding_sources"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_users.id"],
            name=op.f("fk_wallet_funding_orders_user_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_funding_orders")),
        sa.UniqueConstraint("provider_ref", name=op.f("uq_wallet_funding_orders_provider_ref")),
    )
    with op.batch_alter_table("wallet_funding_orders", schema=None) as batch_op:
        batch_op.create_index("ix_wallet_funding_orders_settled", ["settled_at"], unique=False)
        batch_op.create_index(
            "ix_wallet_funding_orders_status", ["status", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_wallet_funding_orders_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("wallet_funding_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_funding_orders_user_id"))
        batch_op.drop_index("ix_wallet_funding_orders_status")
        batch_op.drop_index("ix_wallet_funding_orders_settled")

    op.drop_table("wallet_funding_orders")
    with op.batch_alter_table("wallet_freeze_appeals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_freeze_appeals_freeze_id"))

    op.drop_table("wallet_freeze_appeals")
    with op.batch_alter_table("wallet_fee_charges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_fee_charges_user_id"))
        batch_op.drop_index(batch_op.f("ix_wallet_fee_charges_reference"))

    op.drop_table("wallet_fee_charges")
    with op.batch_alter_table("wallet_recon_exceptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_recon_exceptions_user_id"))
        batch_op.drop_index("ix_wallet_recon_exceptions_status")

    op.drop_table("wallet_recon_exceptions")
    with op.batch_alter_table("wallet_points_lots", schema=None) as batch_op:
        batch_op.drop_index("ix_wallet_points_lots_user")
        batch_op.drop_index("ix_wallet_points_lots_due")

    op.drop_table("wallet_points_lots")
    op.drop_table("wallet_notification_prefs")
    with op.batch_alter_table("wallet_funding_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_funding_sources_user_id"))

    op.drop_table("wallet_funding_sources")
    with op.batch_alter_table("wallet_freezes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_freezes_user_id"))

    op.drop_table("wallet_freezes")
    with op.batch_alter_table("wallet_fee_waivers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_fee_waivers_user_id"))

    op.drop_table("wallet_fee_waivers")
    with op.batch_alter_table("wallet_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_accounts_user_id"))

    op.drop_table("wallet_accounts")
    with op.batch_alter_table("wallet_sim_bank_records", schema=None) as batch_op:
        batch_op.drop_index("ix_wallet_sim_bank_records_status")

    op.drop_table("wallet_sim_bank_records")
    with op.batch_alter_table("wallet_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_requests_created_at"))

    op.drop_table("wallet_requests")
    op.drop_table("wallet_recon_runs")
    with op.batch_alter_table("wallet_points_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_wallet_points_rules_lookup")

    op.drop_table("wallet_points_rules")
    with op.batch_alter_table("wallet_fee_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_wallet_fee_rules_lookup")

    op.drop_table("wallet_fee_rules")
