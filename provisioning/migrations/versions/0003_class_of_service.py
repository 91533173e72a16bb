"""Class of service: permissions and locks on accounts and extensions, caller-ID
handling and dialling habits of accounts, and verified caller numbers.

Revision ID: 0003
Revises: 0002
Create Date: 2024-07-15

Every new column has a default that keeps today's behaviour for existing rows:
permissions off, no locks, foreign caller IDs replaced, extensions inheriting.
Enumerated columns get their CHECK as a column constraint of ADD COLUMN, which
SQLite accepts in place; a separate ALTER ... ADD CONSTRAINT it does not, and
batch mode would have to copy ``accounts``, which other tables reference.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_ACCOUNT_FLAGS = ("international", "high_risk", "premium", "operator_assisted", "fraud_lock")
_EXTENSION_FLAGS = ("suspended", "fraud_lock")
_OVERRIDES = ("international", "high_risk", "premium", "operator_assisted")
_OVERRIDE_VALUES = "'inherit', 'allow', 'deny'"
_CALLER_ID_MODES = "'replace', 'reject'"


def _flag(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean, nullable=False, server_default=sa.false())


def _add_checked(table: str, column: str, length: int, default: str, values: str) -> None:
    op.execute(
        f"ALTER TABLE {table} ADD COLUMN {column} VARCHAR({length}) "
        f"DEFAULT '{default}' NOT NULL "
        f"CONSTRAINT ck_{table}_{column} CHECK ({column} IN ({values}))"
    )


def upgrade() -> None:
    for name in _ACCOUNT_FLAGS:
        op.add_column("accounts", _flag(name))
    _add_checked("accounts", "caller_id_mode", 16, "replace", _CALLER_ID_MODES)
    op.add_column("accounts", sa.Column("outside_line_prefix", sa.String(2), nullable=True))
    op.add_column("accounts", sa.Column("home_area_code", sa.String(3), nullable=True))

    for name in _OVERRIDES:
        _add_checked("extensions", name, 8, "inherit", _OVERRIDE_VALUES)
    for name in _EXTENSION_FLAGS:
        op.add_column("extensions", _flag(name))

    op.create_table(
        "account_verified_numbers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_account_verified_numbers"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_account_verified_numbers_account_id_accounts",
        ),
        sa.UniqueConstraint(
            "account_id", "number", name="uq_account_verified_numbers_account_id_number"
        ),
    )


def downgrade() -> None:
    op.drop_table("account_verified_numbers")
    for name in (*_EXTENSION_FLAGS, *_OVERRIDES):
        op.drop_column("extensions", name)
    for name in ("home_area_code", "outside_line_prefix", "caller_id_mode", *_ACCOUNT_FLAGS):
        op.drop_column("accounts", name)
