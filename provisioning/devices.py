"""Device operations: SIP credentials, stored only as digest HA1 values."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioning.audit import (
    PASSWORD_CHANGED,
    Actor,
    AuditAction,
    Entity,
    apply_changes,
    record,
)
from provisioning.common import KEEP, Keep, created_fields, flush_unique, save_changes
from provisioning.errors import AlreadyExists, InvalidInput
from provisioning.locations import LocationRequest, audit_summary, open_location
from provisioning.lookup import find_account, find_device, find_extension
from provisioning.models import Account, Device, DeviceType, Extension, Status, utcnow
from provisioning.sites import refuse_emergency_target
from provisioning.validation import check_password, validate_username

MIN_CONTACTS = 1
MAX_CONTACTS = 100
DEFAULT_MAX_CONTACTS = 3
_CREATED_FIELDS = (
    "extension_id",
    "username",
    "realm",
    "device_type",
    "user_agent_hint",
    "max_contacts",
    "status",
)


@dataclass(frozen=True, slots=True)
class Ha1Pair:
    md5: str
    sha256: str


def derive_ha1(username: str, realm: str, password: str) -> Ha1Pair:
    """Both stored digests; the password itself is never kept."""
    # Imported here so that commands which never touch credentials do not load the SIP stack.
    from switch.sip.digest import compute_ha1

    return Ha1Pair(
        md5=compute_ha1(username, realm, password, "MD5"),
        sha256=compute_ha1(username, realm, password, "SHA-256"),
    )


def _check_max_contacts(value: int) -> int:
    if not MIN_CONTACTS <= value <= MAX_CONTACTS:
        raise InvalidInput(f"max contacts must be between {MIN_CONTACTS} and {MAX_CONTACTS}")
    return value


def _exists_message(username: str) -> str:
    return f"device username {username!r} is already taken"


def create_device(
    session: Session,
    actor: Actor,
    account_ref: str,
    extension_number: str,
    username: str,
    password: str,
    *,
    realm: str,
    device_type: DeviceType = DeviceType.DESK_PHONE,
    max_contacts: int = DEFAULT_MAX_CONTACTS,
    user_agent_hint: str | None = None,
    location: LocationRequest | None = None,
) -> Device:
    """Create a device; ``location`` opens its first registered location in the same
    transaction (None leaves it without one: ``location list --missing`` shows it)."""
    extension = find_extension(session, find_account(session, account_ref), extension_number)
    validate_username(username)
    # A device may register its username as an address of record: never a 911 alias.
    refuse_emergency_target(username, "a device username")
    check_password(password, username, extension.number)
    _check_max_contacts(max_contacts)
    if session.scalar(select(Device.id).where(Device.username == username)) is not None:
        raise AlreadyExists(_exists_message(username))
    ha1 = derive_ha1(username, realm, password)
    now = utcnow()
    device = Device(
        extension=extension,
        username=username,
        realm=realm,
        ha1_md5=ha1.md5,
        ha1_sha256=ha1.sha256,
        device_type=device_type,
        user_agent_hint=user_agent_hint or None,
        max_contacts=max_contacts,
        status=Status.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    session.add(device)
    flush_unique(session, _exists_message(username))
    details = created_fields(device, _CREATED_FIELDS)
    if location is not None:
        _, row = open_location(session, device, location, now=now)
        details["location"] = {"old": None, "new": audit_summary(session, row)}
    record(session, actor, AuditAction.CREATE, Entity.DEVICE, device.id, details)
    return device


def list_devices(session: Session, account_ref: str | None = None) -> list[Device]:
    query = (
        select(Device)
        .join(Device.extension)
        .join(Extension.account)
        .order_by(Account.name, Extension.number, Device.username)
    )
    if account_ref is not None:
        query = query.where(Extension.account_id == find_account(session, account_ref).id)
    return list(session.scalars(query))


def update_device(
    session: Session,
    actor: Actor,
    username: str,
    *,
    password: str | None = None,
    realm: str | None = None,
    device_type: DeviceType | None = None,
    max_contacts: int | None = None,
    user_agent_hint: str | Keep | None = KEEP,
    status: Status | None = None,
) -> Device:
    """Change the given fields. A new password is hashed for ``realm`` (default: the
    device's current realm), which also moves the device to that realm."""
    device = find_device(session, username)
    values: dict[str, object] = {}
    if device_type is not None:
        values["device_type"] = device_type
    if max_contacts is not None:
        values["max_contacts"] = _check_max_contacts(max_contacts)
    if not isinstance(user_agent_hint, Keep):
        values["user_agent_hint"] = user_agent_hint or None
    if status is not None:
        values["status"] = status
    if password is not None:
        check_password(password, device.username, device.extension.number)
        target_realm = realm or device.realm
        ha1 = derive_ha1(device.username, target_realm, password)
        values.update(realm=target_realm, ha1_md5=ha1.md5, ha1_sha256=ha1.sha256)
    changes = apply_changes(device, values)
    # HA1 values are secrets: the audit trail only learns that the password changed.
    changes.pop("ha1_md5", None)
    changes.pop("ha1_sha256", None)
    if password is not None:
        changes["password"] = PASSWORD_CHANGED
    save_changes(session, actor, Entity.DEVICE, device, changes)
    return device


def disable_device(session: Session, actor: Actor, username: str) -> Device:
    device = find_device(session, username)
    changes = apply_changes(device, {"status": Status.DISABLED})
    save_changes(session, actor, Entity.DEVICE, device, changes, action=AuditAction.DISABLE)
    return device
