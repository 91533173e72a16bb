"""Call detail records: the ``call_records`` table.

Revision ID: 0002
Revises: 0001
Create Date: 2024-07-01

Values of the enumerated columns are spelled out here (a migration is a frozen
snapshot, like 0001).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_DIRECTIONS = "'inbound', 'outbound', 'internal'"
_DISPOSITIONS = "'answered', 'busy', 'no-answer', 'cancelled', 'failed', 'rejected'"
_HANGUP_BY = "'caller', 'callee', 'switch', ''"
_CLOSED_BY = "'signalling', 'timeout', 'recovery', 'command'"
_OPEN = "end_time IS NULL"


def _ts(name: str, nullable: bool = True) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.Text, nullable=True)


def _check(column: str, values: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN ({values})", name=f"ck_call_records_{column}")


def upgrade() -> None:
    op.create_table(
        "call_records",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("call_id", sa.Text, nullable=False),
        _text("parent_call_id"),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("account_id", sa.Integer, nullable=True),
        sa.Column("extension_id", sa.Integer, nullable=True),
        sa.Column("device_id", sa.Integer, nullable=True),
        _text("caller_presented"),
        _text("caller_asserted"),
        _text("dialled"),
        _text("destination"),
        _text("destination_class"),
        _ts("start_time", nullable=False),
        _ts("answer_time"),
        _ts("end_time"),
        sa.Column("duration_seconds", sa.Float, nullable=False, server_default="0"),
        sa.Column("billable_seconds", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sip_status", sa.Integer, nullable=True),
        sa.Column("disposition", sa.String(16), nullable=True),
        sa.Column("hangup_by", sa.String(16), nullable=False, server_default=""),
        _text("policy_verdict"),
        _text("policy_rule"),
        _text("policy_reason"),
        _text("trunk"),
        _text("source_address"),
        _text("user_agent"),
        sa.Column("closed_by", sa.String(16), nullable=True),
        sa.Column("flags", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_call_records"),
        _check("direction", _DIRECTIONS),
        _check("disposition", _DISPOSITIONS),
        _check("hangup_by", _HANGUP_BY),
        _check("closed_by", _CLOSED_BY),
    )
    op.create_index(
        "ix_call_records_account_id_start_time", "call_records", ["account_id", "start_time"]
    )
    op.create_index("ix_call_records_call_id", "call_records", ["call_id"])
    op.create_index(
        "ix_call_records_open",
        "call_records",
        ["start_time"],
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
    )


def downgrade() -> None:
    op.drop_table("call_records")
