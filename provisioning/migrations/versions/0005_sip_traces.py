"""Per-device SIP traces: the ``sip_traces`` table.

Revision ID: 0005
Revises: 0004
Create Date: 2024-08-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "sip_traces",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sip_traces"),
    )
    op.create_index("ix_sip_traces_username_until", "sip_traces", ["username", "until"])


def downgrade() -> None:
    op.drop_table("sip_traces")
