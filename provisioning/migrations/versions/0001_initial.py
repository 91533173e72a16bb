"""Initial provisioning schema: accounts, extensions, devices, DIDs, audit log,
registrations and the provisioning version row.

Revision ID: 0001
Revises:
Create Date: 2024-06-01

A migration is a frozen snapshot: it spells values out instead of importing
the models, which will keep changing after it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_STATUS = "'active', 'disabled'"
_ACCOUNT_STATUS = "'active', 'suspended', 'disabled'"
_DEVICE_TYPES = (
    "'desk_phone', 'softphone', 'ata', 'conference_phone', 'door_phone', 'paging', 'other'"
)
_TRANSPORTS = "'udp', 'tcp', 'tls', 'ws', 'wss', 'sctp'"

_PG_APPEND_ONLY = [
    """
    CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
    END
    $$
    """,
    """
    CREATE TRIGGER audit_log_append_only_rows BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
    """,
    """
    CREATE TRIGGER audit_log_append_only_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()
    """,
]
# SQLite has no TRUNCATE; DELETE without WHERE still fires the row trigger.
_SQLITE_APPEND_ONLY = [
    """
    CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (UPDATE refused)'); END
    """,
    """
    CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (DELETE refused)'); END
    """,
]


def _ts(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _status(table: str, values: str = _STATUS) -> tuple[sa.Column[str], sa.CheckConstraint]:
    column = sa.Column("status", sa.String(16), nullable=False, server_default="active")
    return column, sa.CheckConstraint(f"status IN ({values})", name=f"ck_{table}_status")


def _create_directory_tables() -> None:
    status, check = _status("accounts", _ACCOUNT_STATUS)
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        status,
        sa.Column("main_number", sa.String(16), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("name", name="uq_accounts_name"),
        check,
    )
    status, check = _status("extensions")
    op.create_table(
        "extensions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("number", sa.String(15), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=True),
        status,
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_extensions"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_extensions_account_id_accounts"
        ),
        sa.UniqueConstraint("account_id", "number", name="uq_extensions_account_id_number"),
        check,
    )
    op.create_index("ix_extensions_account_id", "extensions", ["account_id"])


def _create_device_tables() -> None:
    status, check = _status("devices")
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("extension_id", sa.Integer, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("realm", sa.String(255), nullable=False),
        sa.Column("ha1_md5", sa.String(32), nullable=False),
        sa.Column("ha1_sha256", sa.String(64), nullable=False),
        sa.Column("device_type", sa.String(32), nullable=False),
        sa.Column("user_agent_hint", sa.String(255), nullable=True),
        sa.Column("max_contacts", sa.Integer, nullable=False, server_default="3"),
        status,
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
        sa.ForeignKeyConstraint(
            ["extension_id"], ["extensions.id"], name="fk_devices_extension_id_extensions"
        ),
        check,
        sa.CheckConstraint(f"device_type IN ({_DEVICE_TYPES})", name="ck_devices_device_type"),
        sa.CheckConstraint("max_contacts BETWEEN 1 AND 100", name="ck_devices_max_contacts"),
    )
    op.create_index("ix_devices_username", "devices", ["username"], unique=True)
    op.create_index("ix_devices_extension_id", "devices", ["extension_id"])

    status, check = _status("dids")
    op.create_table(
        "dids",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("extension_id", sa.Integer, nullable=True),
        status,
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_dids"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_dids_account_id_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["extension_id"], ["extensions.id"], name="fk_dids_extension_id_extensions"
        ),
        check,
    )
    op.create_index("ix_dids_number", "dids", ["number"], unique=True)
    op.create_index("ix_dids_account_id", "dids", ["account_id"])
    op.create_index("ix_dids_extension_id", "dids", ["extension_id"])


def _create_registrations() -> None:
    op.create_table(
        "registrations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("device_id", sa.Integer, nullable=False),
        sa.Column("aor", sa.Text, nullable=False),
        sa.Column("contact", sa.Text, nullable=False),
        sa.Column("instance_id", sa.String(255), nullable=True),
        sa.Column("reg_id", sa.Integer, nullable=True),
        sa.Column("q", sa.Float, nullable=True),
        sa.Column("call_id", sa.String(255), nullable=False),
        sa.Column("cseq", sa.Integer, nullable=False),
        _ts("expires_at"),
        sa.Column("source_transport", sa.String(8), nullable=False),
        sa.Column("source_host", sa.String(255), nullable=False),
        sa.Column("source_port", sa.Integer, nullable=False),
        sa.Column("user_agent", sa.Text, nullable=True),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_registrations"),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name="fk_registrations_device_id_devices",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("device_id", "contact", name="uq_registrations_device_id_contact"),
        sa.CheckConstraint(
            f"source_transport IN ({_TRANSPORTS})", name="ck_registrations_source_transport"
        ),
    )
    op.create_index("ix_registrations_expires_at", "registrations", ["expires_at"])


def _create_audit_and_state() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        _ts("at"),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.Integer, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("details", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"])
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for statement in _PG_APPEND_ONLY:
            op.execute(statement)
    elif dialect == "sqlite":
        for statement in _SQLITE_APPEND_ONLY:
            op.execute(statement)

    op.create_table(
        "provisioning_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        _ts("updated_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_provisioning_state"),
        sa.CheckConstraint("id = 1", name="ck_provisioning_state_single_row"),
    )
    op.execute("INSERT INTO provisioning_state (id, version) VALUES (1, 0)")


def upgrade() -> None:
    _create_directory_tables()
    _create_device_tables()
    _create_registrations()
    _create_audit_and_state()


def downgrade() -> None:
    op.drop_table("provisioning_state")
    op.drop_table("audit_log")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_table("registrations")
    op.drop_table("dids")
    op.drop_table("devices")
    op.drop_table("extensions")
    op.drop_table("accounts")
