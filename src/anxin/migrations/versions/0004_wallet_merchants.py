"""wallet merchants: merchants and their keys, payment intents, refunds, mandates, webhook
deliveries, person-to-person transfers, and the answers kept for idempotent requests

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import anxin.kit.types

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "wallet_merchant_requests",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", JSON, nullable=False),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_wallet_merchant_requests")),
    )
    with op.batch_alter_table("wallet_merchant_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_merchant_requests_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "wallet_merchants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("webhook_secret_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'suspended')", name=op.f("ck_wallet_merchants_status_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_merchants")),
    )
    op.create_table(
        "wallet_mandates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("holder_id", sa.Uuid(), nullable=True),
        sa.Column("currency", sa.String(length=16), nullable=False),
        sa.Column("max_per_debit", sa.BigInteger(), nullable=False),
        sa.Column("frequency", sa.String(length=16), nullable=False),
        sa.Column("debits_per_period", sa.Integer(), nullable=False),
        sa.Column("ends_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(length=16), nullable=True),
        sa.CheckConstraint(
            "frequency IN ('daily', 'weekly', 'monthly')",
            name=op.f("ck_wallet_mandates_frequency_known"),
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'active', 'cancelled')",
            name=op.f("ck_wallet_mandates_status_known"),
        ),
        sa.CheckConstraint(
            "max_per_debit > 0 AND debits_per_period > 0",
            name=op.f("ck_wallet_mandates_terms_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["identity_users.id"],
            name=op.f("fk_wallet_mandates_holder_id_identity_users"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["wallet_merchants.id"],
            name=op.f("fk_wallet_mandates_merchant_id_wallet_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_mandates")),
    )
    with op.batch_alter_table("wallet_mandates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_mandates_holder_id"), ["holder_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_wallet_mandates_merchant_id"), ["merchant_id"], unique=False
        )

    op.create_table(
        "wallet_merchant_keys",
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_wallet_merchant_keys_api_key_id_api_keys"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["wallet_merchants.id"],
            name=op.f("fk_wallet_merchant_keys_merchant_id_wallet_merchants"),
        ),
        sa.PrimaryKeyConstraint("api_key_id", name=op.f("pk_wallet_merchant_keys")),
    )
    with op.batch_alter_table("wallet_merchant_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_merchant_keys_merchant_id"), ["merchant_id"], unique=False
        )

    op.create_table(
        "wallet_p2p_transfers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("payer_id", sa.Uuid(), nullable=False),
        sa.Column("payee_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=16), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("note_enc", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("transfer_id", sa.Uuid(), nullable=True),
        sa.Column("fee_transfer_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('quoted', 'completed')", name=op.f("ck_wallet_p2p_transfers_status_known")
        ),
        sa.CheckConstraint(
            "amount > 0 AND fee >= 0", name=op.f("ck_wallet_p2p_transfers_amounts_valid")
        ),
        sa.CheckConstraint(
            "payer_id <> payee_id", name=op.f("ck_wallet_p2p_transfers_distinct_people")
        ),
        sa.ForeignKeyConstraint(
            ["payee_id"],
            ["identity_users.id"],
            name=op.f("fk_wallet_p2p_transfers_payee_id_identity_users"),
        ),
        sa.ForeignKeyConstraint(
            ["payer_id"],
            ["identity_users.id"],
            name=op.f("fk_wallet_p2p_transfers_payer_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_p2p_transfers")),
    )
    with op.batch_alter_table("wallet_p2p_transfers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_p2p_transfers_payee_id"), ["payee_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_wallet_p2p_transfers_payer_id"), ["payer_id"], unique=False
        )

    op.create_table(
        "wallet_webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')",
            name=op.f("ck_wallet_webhook_deliveries_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["wallet_merchants.id"],
            name=op.f("fk_wallet_webhook_deliveries_merchant_id_wallet_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_webhook_deliveries")),
    )
    with op.batch_alter_table("wallet_webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_wallet_webhook_deliveries_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_wallet_webhook_deliveries_merchant_id"), ["merchant_id"], unique=False
        )

    op.create_table(
        "wallet_payment_intents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("holder_id", sa.Uuid(), nullable=True),
        sa.Column("mandate_id", sa.Uuid(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=16), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("captured_amount", sa.BigInteger(), nullable=False),
        sa.Column("captured_fee", sa.BigInteger(), nullable=False),
        sa.Column("refunded_amount", sa.BigInteger(), nullable=False),
        sa.Column("refunded_fee", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("hold_id", sa.Uuid(), nullable=True),
        sa.Column("fee_hold_id", sa.Uuid(), nullable=True),
        sa.Column("capture_id", sa.Uuid(), nullable=True),
        sa.Column("fee_capture_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("captured_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("canceled_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('requires_confirmation', 'confirmed', 'captured', 'refunded', 'canceled', 'expired')",
            name=op.f("ck_wallet_payment_intents_status_known"),
        ),
        sa.CheckConstraint(
            "amount > 0 AND fee >= 0", name=op.f("ck_wallet_payment_intents_amounts_valid")
        ),
        sa.CheckConstraint(
            "captured_amount <= amount AND refunded_amount <= captured_amount AND refunded_fee <= captured_fee",
            name=op.f("ck_wallet_payment_intents_never_more_than_paid"),
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["identity_users.id"],
            name=op.f("fk_wallet_payment_intents_holder_id_identity_users"),
        ),
        sa.ForeignKeyConstraint(
            ["mandate_id"],
            ["wallet_mandates.id"],
            name=op.f("fk_wallet_payment_intents_mandate_id_wallet_mandates"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["wallet_merchants.id"],
            name=op.f("fk_wallet_payment_intents_merchant_id_wallet_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_payment_intents")),
    )
    with op.batch_alter_table("wallet_payment_intents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_payment_intents_holder_id"), ["holder_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_wallet_payment_intents_mandate_id"), ["mandate_id"], unique=False
        )
        batch_op.create_index(
            "ix_wallet_payment_intents_mandate_time", ["mandate_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_wallet_payment_intents_merchant_id"), ["merchant_id"], unique=False
        )

    op.create_table(
        "wallet_refunds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("intent_id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("transfer_id", sa.Uuid(), nullable=False),
        sa.Column("fee_transfer_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", anxin.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0 AND fee >= 0", name=op.f("ck_wallet_refunds_amounts_valid")),
        sa.ForeignKeyConstraint(
            ["intent_id"],
            ["wallet_payment_intents.id"],
            name=op.f("fk_wallet_refunds_intent_id_wallet_payment_intents"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["wallet_merchants.id"],
            name=op.f("fk_wallet_refunds_merchant_id_wallet_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_refunds")),
    )
    with op.batch_alter_table("wallet_refunds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_refunds_intent_id"), ["intent_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("wallet_refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_refunds_intent_id"))

    op.drop_table("wallet_refunds")
    with op.batch_alter_table("wallet_payment_intents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_payment_intents_merchant_id"))
        batch_op.drop_index("ix_wallet_payment_intents_mandate_time")
        batch_op.drop_index(batch_op.f("ix_wallet_payment_intents_mandate_id"))
        batch_op.drop_index(batch_op.f("ix_wallet_payment_intents_holder_id"))

    op.drop_table("wallet_payment_intents")
    with op.batch_alter_table("wallet_webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_webhook_deliveries_merchant_id"))
        batch_op.drop_index("ix_wallet_webhook_deliveries_due")

    op.drop_table("wallet_webhook_deliveries")
    with op.batch_alter_table("wallet_p2p_transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_p2p_transfers_payer_id"))
        batch_op.drop_index(batch_op.f("ix_wallet_p2p_transfers_payee_id"))

    op.drop_table("wallet_p2p_transfers")
    with op.batch_alter_table("wallet_merchant_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_merchant_keys_merchant_id"))

    op.drop_table("wallet_merchant_keys")
    with op.batch_alter_table("wallet_mandates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_mandates_merchant_id"))
        batch_op.drop_index(batch_op.f("ix_wallet_mandates_holder_id"))

    op.drop_table("wallet_mandates")
    op.drop_table("wallet_merchants")
    with op.batch_alter_table("wallet_merchant_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_merchant_requests_created_at"))

    op.drop_table("wallet_merchant_requests")
