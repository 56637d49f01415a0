"""delivery outbox: extra email headers (sealed JSON), for the status emails'
List-Unsubscribe and List-Unsubscribe-Post (RFC 8058 one-click unsubscribe)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Additive and nullable: messages queued before it have no extra headers.
    with op.batch_alter_table("delivery_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("headers_enc", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery_outbox", schema=None) as batch_op:
        batch_op.drop_column("headers_enc")
