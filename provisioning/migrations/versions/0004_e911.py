"""E911: sites and their notification contacts, device locations with history, the
account's E911 settings, and the notification and transfer-incident tables.

Revision ID: 0004
Revises: 0003
Create Date: 2024-08-01

Existing accounts get the safe defaults: enforce, restrict moved devices, let a
transfer to 911 through and charge 150.00. Existing devices get no location row:
they show up as "missing" in ``switchctl location list`` until one is registered.
Enumerated values are spelled out (a migration is a frozen snapshot).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_ACTIVE_DISABLED = "'active', 'disabled'"
_CONTACT_KINDS = "'webhook', 'email', 'sip'"
_LOCATION_STATUS = "'validated', 'pending', 'unconfirmed'"
_NOTIFICATION_STATUS = "'pending', 'sent', 'failed'"
_TRANSFER_KINDS = "'blind_refer', 'attended_refer', 'redirect', 'referred_by'"
_CURRENT = "valid_to IS NULL"
# (column, length, default, allowed values) of the CHECKed account settings.
_ACCOUNT_SETTINGS = (
    ("e911_enforcement", 16, "enforce", "'enforce', 'warn'"),
    ("moved_device_action", 16, "restrict", "'restrict', 'alert'"),
    ("transfer_911_action", 24, "allow_and_charge", "'allow_and_charge', 'refuse'"),
)
_NEW_TABLES = (
    "transfer_incidents",
    "emergency_notifications",
    "device_locations",
    "site_contacts",
    "sites",
)


def _ts(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _check(table: str, column: str, values: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN ({values})", name=f"ck_{table}_{column}")


def _add_account_settings() -> None:
    # CHECK as a column constraint of ADD COLUMN: SQLite accepts it in place (see 0003).
    for column, length, default, values in _ACCOUNT_SETTINGS:
        op.execute(
            f"ALTER TABLE accounts ADD COLUMN {column} VARCHAR({length}) "
            f"DEFAULT '{default}' NOT NULL "
            f"CONSTRAINT ck_accounts_{column} CHECK ({column} IN ({values}))"
        )
    op.add_column(
        "accounts",
        sa.Column("transfer_911_fee", sa.String(16), nullable=False, server_default="150.00"),
    )
    op.add_column("accounts", sa.Column("fallback_address", sa.JSON, nullable=True))


def _create_sites() -> None:
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("address", sa.JSON, nullable=False),
        sa.Column("multi_unit", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("networks", sa.JSON, nullable=False),
        sa.Column("backup_networks", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_sites"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_sites_account_id_accounts"
        ),
        sa.UniqueConstraint("account_id", "name", name="uq_sites_account_id_name"),
        _check("sites", "status", _ACTIVE_DISABLED),
    )
    op.create_index("ix_sites_account_id", "sites", ["account_id"])

    op.create_table(
        "site_contacts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(512), nullable=False),
        sa.Column("name", sa.String(128), nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_site_contacts"),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name="fk_site_contacts_site_id_sites", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("site_id", "kind", "target", name="uq_site_contacts_site_id_kind"),
        _check("site_contacts", "kind", _CONTACT_KINDS),
    )
    op.create_index("ix_site_contacts_site_id", "site_contacts", ["site_id"])


def _create_device_locations() -> None:
    op.create_table(
        "device_locations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("device_id", sa.Integer, nullable=False),
        sa.Column("site_id", sa.Integer, nullable=True),
        sa.Column("address", sa.JSON, nullable=True),
        sa.Column("floor", sa.String(32), nullable=True),
        sa.Column("unit", sa.String(32), nullable=True),
        sa.Column("room", sa.String(32), nullable=True),
        _ts("valid_from"),
        _ts("valid_to", nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("confirmed_networks", sa.JSON, nullable=False),
        _ts("confirmed_at", nullable=True),
        sa.Column("confirmed_by", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_device_locations"),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name="fk_device_locations_device_id_devices"
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name="fk_device_locations_site_id_sites"
        ),
        _check("device_locations", "status", _LOCATION_STATUS),
        sa.CheckConstraint(
            "site_id IS NULL OR address IS NULL", name="ck_device_locations_site_or_address"
        ),
    )
    op.create_index("ix_device_locations_device_id", "device_locations", ["device_id"])
    op.create_index("ix_device_locations_site_id", "device_locations", ["site_id"])
    op.create_index(
        "uq_device_locations_current",
        "device_locations",
        ["device_id"],
        unique=True,
        postgresql_where=sa.text(_CURRENT),
        sqlite_where=sa.text(_CURRENT),
    )


def _create_switch_tables() -> None:
    op.create_table(
        "emergency_notifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("call_id", sa.Text, nullable=False),
        sa.Column("device_id", sa.Integer, nullable=True),
        sa.Column("site_id", sa.Integer, nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("payload", sa.JSON, nullable=False),
        _ts("created_at"),
        _ts("sent_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_emergency_notifications"),
        _check("emergency_notifications", "channel", _CONTACT_KINDS),
        _check("emergency_notifications", "status", _NOTIFICATION_STATUS),
    )
    op.create_index("ix_emergency_notifications_call_id", "emergency_notifications", ["call_id"])
    op.create_index(
        "ix_emergency_notifications_created_at", "emergency_notifications", ["created_at"]
    )

    op.create_table(
        "transfer_incidents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("call_id", sa.Text, nullable=False),
        sa.Column("account_id", sa.Integer, nullable=True),
        sa.Column("device_id", sa.Integer, nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("fee", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        _ts("created_at"),
        sa.Column("details", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_transfer_incidents"),
        _check("transfer_incidents", "kind", _TRANSFER_KINDS),
    )
    op.create_index(
        "ix_transfer_incidents_account_id_created_at",
        "transfer_incidents",
        ["account_id", "created_at"],
    )
    op.create_index("ix_transfer_incidents_call_id", "transfer_incidents", ["call_id"])


def upgrade() -> None:
    _add_account_settings()
    _create_sites()
    _create_device_locations()
    _create_switch_tables()


def downgrade() -> None:
    for table in _NEW_TABLES:
        op.drop_table(table)
    columns = ("fallback_address", "transfer_911_fee", *(c[0] for c in _ACCOUNT_SETTINGS))
    for column in columns:
        op.drop_column("accounts", column)
