"""Device location operations: every device has one registered location, kept with history;
and the account's E911 settings, which decide what happens to devices without one.

A change closes the current row (``valid_to``) and opens a new one, so a call record
can name the location that was in force. Changes are audited on the device. A
remote worker's own address is personal data: the audit trail records that it was
set, not what it is (the location rows hold it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from e911.civic import CivicAddress
from e911.dispatchable import dispatchable_location
from e911.errors import AddressError
from e911.msag import ExternalValidator
from provisioning.audit import Actor, AuditAction, Entity, apply_changes, record
from provisioning.common import KEEP, Keep, save_changes
from provisioning.e911_models import DeviceLocationRow, LocationStatus, Site, SiteStatus
from provisioning.errors import InvalidInput
from provisioning.lookup import find_account, find_device
from provisioning.models import (
    Account,
    Device,
    E911Enforcement,
    Extension,
    MovedDeviceAction,
    Status,
    Transfer911Action,
    utcnow,
)
from provisioning.sites import (
    complete_address,
    find_site,
    parse_networks,
    read_address,
    stored_address,
)
from switch.core.locations import LocationState, location_address

LOCATION_NEEDED = (
    "a device needs a location: give --site SITE [--floor F] [--unit U] [--room R], "
    '--address "123 Main St, Springfield, IL 62704" [--unit U], or --location-pending'
)


# What ``location list`` shows when no state is asked for.
NEEDS_ATTENTION = frozenset(
    {LocationState.MISSING, LocationState.PENDING, LocationState.UNCONFIRMED}
)


@dataclass(frozen=True, slots=True)
class LocationRequest:
    """A location as the operator gives it: a site, an own address, or "pending".

    ``pending`` may name the site the device will be at (its address is then the
    emergency fallback until the floor or room is known).
    """

    site: str | None = None
    address: str | None = None
    floor: str | None = None
    unit: str | None = None
    room: str | None = None
    pending: bool = False

    def __post_init__(self) -> None:
        if self.site is not None and self.address is not None:
            raise InvalidInput("give either --site or --address, not both")
        in_building = self.floor or self.unit or self.room
        if self.pending and (self.address is not None or in_building):
            raise InvalidInput(
                "--location-pending takes no address, floor, unit or room (only --site)"
            )
        if not self.pending and self.site is None and self.address is None:
            raise InvalidInput(LOCATION_NEEDED)


@dataclass(frozen=True, slots=True)
class DeviceLocationState:
    device: Device
    row: DeviceLocationRow | None

    @property
    def state(self) -> LocationState:
        return LocationState.MISSING if self.row is None else LocationState(self.row.status.value)


# -- reading -------------------------------------------------------------------------------


def current_row(session: Session, device: Device) -> DeviceLocationRow | None:
    return session.scalar(
        select(DeviceLocationRow).where(
            DeviceLocationRow.device_id == device.id, DeviceLocationRow.valid_to.is_(None)
        )
    )


def location_history(session: Session, device: Device) -> list[DeviceLocationRow]:
    """Oldest first."""
    return list(
        session.scalars(
            select(DeviceLocationRow)
            .where(DeviceLocationRow.device_id == device.id)
            .order_by(DeviceLocationRow.valid_from, DeviceLocationRow.id)
        )
    )


def list_device_locations(
    session: Session,
    account_ref: str | None = None,
    states: frozenset[LocationState] = NEEDS_ATTENTION,
) -> list[DeviceLocationState]:
    """Active devices whose location is in one of ``states``, by account and extension."""
    query = (
        select(Device, DeviceLocationRow)
        .join(Device.extension)
        .join(Extension.account)
        .outerjoin(
            DeviceLocationRow,
            and_(
                DeviceLocationRow.device_id == Device.id,
                DeviceLocationRow.valid_to.is_(None),
            ),
        )
        .where(Device.status == Status.ACTIVE)
        .order_by(Account.name, Extension.number, Device.username)
    )
    if account_ref is not None:
        query = query.where(Extension.account_id == find_account(session, account_ref).id)
    found = [DeviceLocationState(device, row) for device, row in session.execute(query)]
    return [item for item in found if item.state in states]


# -- writing -------------------------------------------------------------------------------


def _new_row(
    session: Session,
    device: Device,
    request: LocationRequest,
    validator: ExternalValidator | None,
) -> DeviceLocationRow:
    account = device.extension.account
    if request.pending:
        site = _usable_site(session, account, request.site) if request.site else None
        return DeviceLocationRow(
            device_id=device.id, site_id=site.id if site else None, status=LocationStatus.PENDING
        )
    if request.site is not None:
        site = _usable_site(session, account, request.site)
        base = stored_address(site.address)
        if base is None:  # pragma: no cover - sites are created with a validated address
            raise InvalidInput(f"site {site.name!r} has no address")
        full = complete_address(
            base,
            floor=request.floor,
            unit=request.unit,
            room=request.room,
            multi_unit=site.multi_unit,
        )
        return DeviceLocationRow(
            device_id=device.id,
            site_id=site.id,
            floor=_given(request.floor, full.flr),
            unit=_given(request.unit, full.unit),
            room=_given(request.room, full.room),
            status=LocationStatus.VALIDATED,
        )
    own = read_address(
        request.address or "",
        floor=request.floor,
        unit=request.unit,
        room=request.room,
        validator=validator,
    )
    return DeviceLocationRow(
        device_id=device.id,
        address=own.to_dict(),
        floor=own.flr,
        unit=own.unit,
        room=own.room,
        status=LocationStatus.VALIDATED,
    )


def _given(requested: str | None, normalized: str | None) -> str | None:
    # Only what the operator gave for this device; the site's own unit stays the site's.
    return normalized if requested else None


def _usable_site(session: Session, account: Account, name: str) -> Site:
    site = find_site(session, account, name)
    if site.status is not SiteStatus.ACTIVE:
        raise InvalidInput(f"site {site.name!r} is disabled")
    return site


def open_location(
    session: Session,
    device: Device,
    request: LocationRequest,
    *,
    now: datetime | None = None,
    validator: ExternalValidator | None = None,
) -> tuple[DeviceLocationRow | None, DeviceLocationRow]:
    """Close the device's current location and open ``request``; returns (old, new).

    Not audited: :func:`set_location` and device creation record it with their change.
    """
    new = _new_row(session, device, request, validator)
    now = now or utcnow()
    old = current_row(session, device)
    if old is not None:
        old.valid_to = now
        session.flush()  # closed before the new current row exists (unique index)
    new.valid_from = now
    new.confirmed_networks = []
    session.add(new)
    session.flush()
    return old, new


def audit_summary(session: Session, row: DeviceLocationRow | None) -> dict[str, Any] | None:
    """A location as the audit trail keeps it (an own address is only said to be set)."""
    if row is None:
        return None
    site = session.get(Site, row.site_id) if row.site_id is not None else None
    summary: dict[str, Any] = {"id": row.id, "status": row.status.value}
    if site is not None:
        summary["site"] = site.name
    if row.address is not None:
        summary["address"] = "own address"
    for name in ("floor", "unit", "room"):
        if getattr(row, name):
            summary[name] = getattr(row, name)
    return summary


def set_location(
    session: Session,
    actor: Actor,
    username: str,
    request: LocationRequest,
    *,
    validator: ExternalValidator | None = None,
) -> DeviceLocationRow:
    """Register a new location for the device (validated); the old one goes to history."""
    if request.pending:
        raise InvalidInput("a location is set with --site or --address")
    device = find_device(session, username)
    old, new = open_location(session, device, request, validator=validator)
    change = {"old": audit_summary(session, old), "new": audit_summary(session, new)}
    record(session, actor, AuditAction.UPDATE, Entity.DEVICE, device.id, {"location": change})
    return new


def confirm_location(
    session: Session, actor: Actor, username: str, *, network: str | None = None
) -> DeviceLocationRow:
    """The location is right where the device is now: mark it validated and, if given,
    remember the network it was confirmed from."""
    device = find_device(session, username)
    row = current_row(session, device)
    if row is None or row.status is LocationStatus.PENDING:
        raise InvalidInput(
            f"device {device.username!r} has no registered location to confirm; "
            "register one with 'switchctl location set'"
        )
    details: dict[str, Any] = {"location_id": row.id}
    if row.status is not LocationStatus.VALIDATED:
        details["status"] = {"old": row.status.value, "new": LocationStatus.VALIDATED.value}
        row.status = LocationStatus.VALIDATED
    if network is not None:
        added = [n for n in parse_networks([network]) if n not in row.confirmed_networks]
        if added:
            details["confirmed_networks"] = {"added": added}
            row.confirmed_networks = [*row.confirmed_networks, *added]
    row.confirmed_at = utcnow()
    row.confirmed_by = actor.name
    session.flush()
    record(session, actor, AuditAction.UPDATE, Entity.DEVICE, device.id, {"confirmed": details})
    return row


# -- account settings ----------------------------------------------------------------------

MAX_FEE = Decimal("100000")
_CENT = Decimal("0.01")


def parse_fee(text: str) -> str:
    """A non-negative amount with at most two decimals, stored as "150.00"."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidInput(f"invalid fee {text!r}: give an amount such as 150.00") from None
    if not value.is_finite() or value < 0 or value >= MAX_FEE or value != value.quantize(_CENT):
        raise InvalidInput(f"invalid fee {text!r}: 0 to {MAX_FEE - _CENT}, at most two decimals")
    return f"{value.quantize(_CENT)}"


def set_account_e911(
    session: Session,
    actor: Actor,
    account_ref: str,
    *,
    enforcement: E911Enforcement | None = None,
    moved_device_action: MovedDeviceAction | None = None,
    transfer_911_action: Transfer911Action | None = None,
    transfer_911_fee: str | None = None,
    fallback_address: str | Keep | None = KEEP,
    validator: ExternalValidator | None = None,
) -> Account:
    """Change an account's E911 settings; ``fallback_address=None`` clears the fallback."""
    account = find_account(session, account_ref)
    values: dict[str, object] = {}
    if enforcement is not None:
        values["e911_enforcement"] = enforcement
    if moved_device_action is not None:
        values["moved_device_action"] = moved_device_action
    if transfer_911_action is not None:
        values["transfer_911_action"] = transfer_911_action
    if transfer_911_fee is not None:
        values["transfer_911_fee"] = parse_fee(transfer_911_fee)
    if not isinstance(fallback_address, Keep):
        values["fallback_address"] = (
            read_address(fallback_address, validator=validator).to_dict()
            if fallback_address
            else None
        )
    save_changes(session, actor, Entity.ACCOUNT, account, apply_changes(account, values))
    return account


def account_e911_view(account: Account) -> dict[str, Any]:
    fallback = stored_address(account.fallback_address)
    return {
        "account": account.name,
        "account_id": account.id,
        "e911_enforcement": account.e911_enforcement.value,
        "moved_device_action": account.moved_device_action.value,
        "transfer_911_action": account.transfer_911_action.value,
        "transfer_911_fee": account.transfer_911_fee,
        "fallback_address": dispatchable_location(fallback) if fallback else None,
        "fallback_civic_address": account.fallback_address,
    }


# -- views ---------------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def row_address(session: Session, row: DeviceLocationRow | None) -> CivicAddress | None:
    """The dispatchable address of a row: own address, else site plus floor/unit/room."""
    if row is None or row.status is LocationStatus.PENDING:
        return None
    site = session.get(Site, row.site_id) if row.site_id is not None else None
    return location_address(
        stored_address(site.address) if site else None,
        stored_address(row.address),
        row.floor,
        row.unit,
        row.room,
    )


def _one_line(address: CivicAddress | None) -> str | None:
    if address is None:
        return None
    try:
        return dispatchable_location(address)
    except AddressError:  # stored before a rule got stricter: still show what is there
        return ", ".join(value for _, value in address.elements())


def location_view(
    session: Session, device: Device, row: DeviceLocationRow | None
) -> dict[str, Any]:
    address = row_address(session, row)
    site = session.get(Site, row.site_id) if row is not None and row.site_id else None
    state = LocationState.MISSING if row is None else LocationState(row.status.value)
    return {
        "username": device.username,
        "account": device.extension.account.name,
        "extension": device.extension.number,
        "location_id": row.id if row else None,
        "state": state.value,
        "site": site.name if site else None,
        "own_address": bool(row is not None and row.address),
        "floor": row.floor if row else None,
        "unit": row.unit if row else None,
        "room": row.room if row else None,
        "address": _one_line(address),
        "civic_address": address.to_dict() if address else None,
        "valid_from": _time(row.valid_from) if row else None,
        "valid_to": _time(row.valid_to) if row else None,
        "confirmed_networks": list(row.confirmed_networks) if row else [],
        "confirmed_at": _time(row.confirmed_at) if row else None,
        "confirmed_by": row.confirmed_by if row else None,
    }
