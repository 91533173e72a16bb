"""Tables of the provisioning database.

The switch's registrar and call-detail code read these tables directly, so
table and column names are a contract. Enumerated columns are stored as plain
strings guarded by CHECK constraints (no native database enums), which keeps
SQLite and PostgreSQL identical and makes adding a value a one-line migration.
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DISABLED = "disabled"


class Status(StrEnum):
    """Status of extensions, devices and DIDs."""

    ACTIVE = "active"
    DISABLED = "disabled"


class CallerIdMode(StrEnum):
    """What the switch does with an outbound caller ID the account does not own."""

    REPLACE = "replace"  # send the account's main number instead
    REJECT = "reject"  # refuse the call


class E911Enforcement(StrEnum):
    """What happens to non-emergency calls of a device without a validated location."""

    ENFORCE = "enforce"  # refused with 403 E911 Address Required
    WARN = "warn"  # allowed, with an alert


class MovedDeviceAction(StrEnum):
    """What happens when a device registers from a network its location was not confirmed on."""

    RESTRICT = "restrict"  # emergency calls only until the location is confirmed
    ALERT = "alert"  # calls go on; the site is alerted


class Transfer911Action(StrEnum):
    """What the switch does with a transfer or forward of a call to an emergency number."""

    ALLOW_AND_CHARGE = "allow_and_charge"  # the call goes through; an incident fee is recorded
    REFUSE = "refuse"  # the REFER is refused: callers must hang up and dial 911 themselves


class CosOverride(StrEnum):
    """An extension's class-of-service setting over its account's."""

    INHERIT = "inherit"
    ALLOW = "allow"
    DENY = "deny"


class DeviceType(StrEnum):
    DESK_PHONE = "desk_phone"
    SOFTPHONE = "softphone"
    ATA = "ata"
    CONFERENCE_PHONE = "conference_phone"
    DOOR_PHONE = "door_phone"
    PAGING = "paging"
    OTHER = "other"


class Transport(StrEnum):
    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"
    WS = "ws"
    WSS = "wss"
    SCTP = "sctp"


DEFAULT_TRANSFER_911_FEE = "150.00"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no time zone support and hands back naive values; they were
    written as UTC, so reading re-attaches UTC instead of guessing local time.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC values")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _enum(cls: type[StrEnum], length: int = 16) -> Enum:
    # Stored by value; the CHECK constraint is declared explicitly on each table
    # (and in the migration) so that it has a stable, portable name.
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def _flag() -> Mapped[bool]:
    # Class-of-service switches and locks: off unless an operator turns them on.
    return mapped_column(Boolean, default=False, server_default=false())


def _override() -> Mapped[CosOverride]:
    return mapped_column(
        _enum(CosOverride, 8), default=CosOverride.INHERIT, server_default="inherit"
    )


def check_in(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{member.value}'" for member in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def all_tables() -> MetaData:
    """The metadata with every table of the package registered.

    Tables live in several ``*models`` modules of this package; importing them
    all is what lets schema comparisons and autogenerate see the whole schema.
    """
    package = importlib.import_module(__package__ or "provisioning")
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.endswith("models"):
            importlib.import_module(f"{package.__name__}.{module.name}")
    return Base.metadata


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        check_in("status", AccountStatus, "status"),
        check_in("caller_id_mode", CallerIdMode, "caller_id_mode"),
        check_in("e911_enforcement", E911Enforcement, "e911_enforcement"),
        check_in("moved_device_action", MovedDeviceAction, "moved_device_action"),
        check_in("transfer_911_action", Transfer911Action, "transfer_911_action"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[AccountStatus] = mapped_column(
        _enum(AccountStatus), default=AccountStatus.ACTIVE, server_default="active"
    )
    main_number: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Class of service (revision 0003): every permission is off for a new account.
    international: Mapped[bool] = _flag()
    high_risk: Mapped[bool] = _flag()
    premium: Mapped[bool] = _flag()
    operator_assisted: Mapped[bool] = _flag()
    # Refuses every call but emergency ones, whatever ``status`` says.
    fraud_lock: Mapped[bool] = _flag()
    caller_id_mode: Mapped[CallerIdMode] = mapped_column(
        _enum(CallerIdMode), default=CallerIdMode.REPLACE, server_default="replace"
    )
    outside_line_prefix: Mapped[str | None] = mapped_column(String(2))
    # NULL: the area code of the main number, when it is a NANP number.
    home_area_code: Mapped[str | None] = mapped_column(String(3))
    # E911 (revision 0004).
    e911_enforcement: Mapped[E911Enforcement] = mapped_column(
        _enum(E911Enforcement), default=E911Enforcement.ENFORCE, server_default="enforce"
    )
    moved_device_action: Mapped[MovedDeviceAction] = mapped_column(
        _enum(MovedDeviceAction), default=MovedDeviceAction.RESTRICT, server_default="restrict"
    )
    transfer_911_action: Mapped[Transfer911Action] = mapped_column(
        _enum(Transfer911Action, 24),
        default=Transfer911Action.ALLOW_AND_CHARGE,
        server_default="allow_and_charge",
    )
    # A decimal string ("150.00"): exact on every backend, no float rounding.
    transfer_911_fee: Mapped[str] = mapped_column(
        String(16), default=DEFAULT_TRANSFER_911_FEE, server_default=DEFAULT_TRANSFER_911_FEE
    )
    # CivicAddress.to_dict() of the address used when a device has no location at all.
    fallback_address: Mapped[dict[str, str] | None] = mapped_column(JSON(none_as_null=True))

    extensions: Mapped[list[Extension]] = relationship(back_populates="account")
    # Loaded with the account ("selectin") so the switch's directory gets them in one pass.
    verified_numbers: Mapped[list[VerifiedNumber]] = relationship(
        lazy="selectin", order_by="VerifiedNumber.number", back_populates="account"
    )


class Extension(Base):
    __tablename__ = "extensions"
    __table_args__ = (
        UniqueConstraint("account_id", "number", name="uq_extensions_account_id_number"),
        check_in("status", Status, "status"),
        check_in("international", CosOverride, "international"),
        check_in("high_risk", CosOverride, "high_risk"),
        check_in("premium", CosOverride, "premium"),
        check_in("operator_assisted", CosOverride, "operator_assisted"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    number: Mapped[str] = mapped_column(String(15))
    display_name: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[Status] = mapped_column(
        _enum(Status), default=Status.ACTIVE, server_default="active"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # Class of service over the account's (revision 0003). ``status`` disabled stops
    # registration altogether; ``suspended`` keeps the phones registered for 911 and
    # call-backs but refuses other calls; ``fraud_lock`` does the same and wins.
    international: Mapped[CosOverride] = _override()
    high_risk: Mapped[CosOverride] = _override()
    premium: Mapped[CosOverride] = _override()
    operator_assisted: Mapped[CosOverride] = _override()
    suspended: Mapped[bool] = _flag()
    fraud_lock: Mapped[bool] = _flag()

    account: Mapped[Account] = relationship(back_populates="extensions")
    devices: Mapped[list[Device]] = relationship(back_populates="extension")


class VerifiedNumber(Base):
    """A number an account may present as caller ID without owning it as a DID."""

    __tablename__ = "account_verified_numbers"
    __table_args__ = (
        UniqueConstraint(
            "account_id", "number", name="uq_account_verified_numbers_account_id_number"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    number: Mapped[str] = mapped_column(String(16))  # E.164
    note: Mapped[str | None] = mapped_column(Text)  # how ownership was checked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[Account] = relationship(back_populates="verified_numbers")


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (
        check_in("status", Status, "status"),
        check_in("device_type", DeviceType, "device_type"),
        CheckConstraint("max_contacts BETWEEN 1 AND 100", name="max_contacts"),
        Index("ix_devices_username", "username", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    extension_id: Mapped[int] = mapped_column(ForeignKey("extensions.id"), index=True)
    username: Mapped[str] = mapped_column(String(64))
    realm: Mapped[str] = mapped_column(String(255))
    ha1_md5: Mapped[str] = mapped_column(String(32))
    ha1_sha256: Mapped[str] = mapped_column(String(64))
    device_type: Mapped[DeviceType] = mapped_column(_enum(DeviceType, 32))
    user_agent_hint: Mapped[str | None] = mapped_column(String(255))
    max_contacts: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    status: Mapped[Status] = mapped_column(
        _enum(Status), default=Status.ACTIVE, server_default="active"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    extension: Mapped[Extension] = relationship(back_populates="devices")


class Did(Base):
    __tablename__ = "dids"
    __table_args__ = (
        check_in("status", Status, "status"),
        Index("ix_dids_number", "number", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    extension_id: Mapped[int | None] = mapped_column(ForeignKey("extensions.id"), index=True)
    status: Mapped[Status] = mapped_column(
        _enum(Status), default=Status.ACTIVE, server_default="active"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[Account] = relationship()
    extension: Mapped[Extension | None] = relationship()


class AuditEntry(Base):
    """One provisioning change. Rows are only ever inserted (triggers refuse the rest)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Registration(Base):
    """A contact binding persisted by the registrar (RFC 3261 §10, RFC 5626 instance/reg-id)."""

    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("device_id", "contact", name="uq_registrations_device_id_contact"),
        check_in("source_transport", Transport, "source_transport"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    aor: Mapped[str] = mapped_column(Text)
    contact: Mapped[str] = mapped_column(Text)
    instance_id: Mapped[str | None] = mapped_column(String(255))
    reg_id: Mapped[int | None] = mapped_column(Integer)
    q: Mapped[float | None] = mapped_column(Float)
    call_id: Mapped[str] = mapped_column(String(255))
    cseq: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    source_transport: Mapped[Transport] = mapped_column(_enum(Transport, 8))
    source_host: Mapped[str] = mapped_column(String(255))
    source_port: Mapped[int] = mapped_column(Integer)
    user_agent: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    device: Mapped[Device] = relationship()


class ProvisioningState(Base):
    """The single row whose ``version`` changes with every provisioning change."""

    __tablename__ = "provisioning_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
