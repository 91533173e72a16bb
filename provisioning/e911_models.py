"""E911 tables: sites, their notification contacts, each device's registered location
(with history), and the two tables the switch writes: Kari's Law notifications and
transfers to 911.

Addresses are stored as ``CivicAddress.to_dict()`` JSON: RFC 5139 element names as
keys, the same shape the PIDF-LO carries. The switch-written tables copy ids without
foreign keys, like ``call_records``: an emergency-call record must never be refused
because the directory changed meanwhile.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from provisioning.models import (
    DEFAULT_TRANSFER_911_FEE,
    Account,
    Base,
    Device,
    UTCDateTime,
    _enum,
    check_in,
    utcnow,
)

CURRENT_WHERE = "valid_to IS NULL"
DEFAULT_CURRENCY = "USD"


class SiteStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class ContactKind(StrEnum):
    """How a site's contact is told about an emergency call (also the notification channel)."""

    WEBHOOK = "webhook"  # HTTP POST of a JSON document
    EMAIL = "email"
    SIP = "sip"  # SIP MESSAGE to a front-desk extension


class LocationStatus(StrEnum):
    VALIDATED = "validated"  # registered and confirmed where the device is
    PENDING = "pending"  # created without a location; the operator owes one
    UNCONFIRMED = "unconfirmed"  # the device registered from a network it was not seen on


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class TransferKind(StrEnum):
    BLIND_REFER = "blind_refer"  # REFER whose Refer-To is an emergency number
    ATTENDED_REFER = "attended_refer"  # REFER with Replaces of a dialog to an emergency number
    REDIRECT = "redirect"  # 3xx whose Contact is an emergency number
    REFERRED_BY = "referred_by"  # INVITE to an emergency number carrying Referred-By


def _address() -> Mapped[dict[str, str] | None]:
    # none_as_null: a missing address is SQL NULL, so "IS NULL" checks work.
    return mapped_column(JSON(none_as_null=True))


class Site(Base):
    """A place an account's phones are: a validated address and the networks found there."""

    __tablename__ = "sites"
    __table_args__ = (
        UniqueConstraint("account_id", "name", name="uq_sites_account_id_name"),
        check_in("status", SiteStatus, "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    address: Mapped[dict[str, str]] = mapped_column(JSON)
    # Several suites, floors or rooms: a location here must say which.
    multi_unit: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    networks: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Failover paths (an LTE router) that still mean "on site".
    backup_networks: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[SiteStatus] = mapped_column(
        _enum(SiteStatus), default=SiteStatus.ACTIVE, server_default="active"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[Account] = relationship()
    contacts: Mapped[list[SiteContact]] = relationship(
        back_populates="site", order_by="SiteContact.id", cascade="all, delete-orphan"
    )


class SiteContact(Base):
    """Who is told on site when a 911 call is made from it (Kari's Law)."""

    __tablename__ = "site_contacts"
    __table_args__ = (
        UniqueConstraint("site_id", "kind", "target", name="uq_site_contacts_site_id_kind"),
        check_in("kind", ContactKind, "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ContactKind] = mapped_column(_enum(ContactKind))
    target: Mapped[str] = mapped_column(String(512))  # URL, e-mail address or extension
    name: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    site: Mapped[Site] = relationship(back_populates="contacts")


class DeviceLocationRow(Base):
    """One registered location of a device over a period of time.

    The row with ``valid_to`` NULL is the current one; a change closes it and opens
    a new row, so a call record can name the location in force when it was made.
    A location is a site (plus floor, unit, room) or the device's own address.
    """

    __tablename__ = "device_locations"
    __table_args__ = (
        check_in("status", LocationStatus, "status"),
        CheckConstraint("site_id IS NULL OR address IS NULL", name="site_or_address"),
        # At most one current row per device.
        Index(
            "uq_device_locations_current",
            "device_id",
            unique=True,
            postgresql_where=text(CURRENT_WHERE),
            sqlite_where=text(CURRENT_WHERE),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    address: Mapped[dict[str, str] | None] = _address()
    floor: Mapped[str | None] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(String(32))
    room: Mapped[str | None] = mapped_column(String(32))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[LocationStatus] = mapped_column(_enum(LocationStatus))
    # Public addresses or prefixes a remote user confirmed the location from.
    confirmed_networks: Mapped[list[str]] = mapped_column(JSON, default=list)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_by: Mapped[str | None] = mapped_column(String(128))

    device: Mapped[Device] = relationship()
    site: Mapped[Site | None] = relationship()


class EmergencyNotification(Base):
    """One Kari's Law notification delivery (47 CFR 9.16(b)(2)); the switch writes these."""

    __tablename__ = "emergency_notifications"
    __table_args__ = (
        check_in("channel", ContactKind, "channel"),
        check_in("status", NotificationStatus, "status"),
        Index("ix_emergency_notifications_call_id", "call_id"),
        Index("ix_emergency_notifications_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(Text)
    device_id: Mapped[int | None] = mapped_column(Integer)
    site_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[ContactKind] = mapped_column(_enum(ContactKind))
    target: Mapped[str] = mapped_column(Text)
    status: Mapped[NotificationStatus] = mapped_column(
        _enum(NotificationStatus), default=NotificationStatus.PENDING, server_default="pending"
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TransferIncident(Base):
    """A call transferred or forwarded to an emergency number, and the fee it carries."""

    __tablename__ = "transfer_incidents"
    __table_args__ = (
        check_in("kind", TransferKind, "kind"),
        Index("ix_transfer_incidents_account_id_created_at", "account_id", "created_at"),
        Index("ix_transfer_incidents_call_id", "call_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(Text)
    account_id: Mapped[int | None] = mapped_column(Integer)
    device_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[TransferKind] = mapped_column(_enum(TransferKind))
    fee: Mapped[str] = mapped_column(String(16), default=DEFAULT_TRANSFER_911_FEE)
    currency: Mapped[str] = mapped_column(String(3), default=DEFAULT_CURRENCY)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
