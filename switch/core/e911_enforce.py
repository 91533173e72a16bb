"""E911 rules for devices: a registered location before ordinary calls, moved devices.

Emergency calls never pass through here: they are routed before these checks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from provisioning.audit import Actor, AuditAction, Entity, record
from provisioning.db import Database
from provisioning.e911_models import DeviceLocationRow, LocationStatus
from provisioning.locations import confirm_location
from provisioning.models import Device

from .directory import DeviceRecord, Directory
from .locations import LocationState
from .targets import Rejection

log = logging.getLogger(__name__)

SWITCH_ACTOR = Actor("softswitch", "registered from a network its location was not confirmed on")


@dataclass(frozen=True, slots=True)
class LocationVerdict:
    rejection: Rejection | None = None
    flag: str | None = None  # CDR flag when a call goes on without a good location


def check_location(
    device: DeviceRecord, directory: Directory, *, internal: bool = False
) -> LocationVerdict:
    """May this device make a non-emergency call, as far as E911 goes?

    A phone with no address yet may still call other extensions; a phone that moved is
    held to emergency calls only (per account setting) until its address is confirmed.
    """
    location = directory.locations.get(device.id)
    account = directory.accounts.get(device.account_id)
    if account is None:
        return LocationVerdict()
    settings = account.e911
    if location is None or location.status in (LocationState.PENDING, LocationState.MISSING):
        if internal:
            return LocationVerdict()
        if settings.enforcement == "enforce":
            return LocationVerdict(Rejection(403, "E911 Address Required", _warning("required")))
        return LocationVerdict(flag="e911-address-missing")
    if location.status is LocationState.UNCONFIRMED:
        if settings.moved_device_action == "restrict":
            return LocationVerdict(
                Rejection(403, "E911 Location Unconfirmed", _warning("unconfirmed"))
            )
        return LocationVerdict(flag="e911-location-unconfirmed")
    return LocationVerdict()


def _warning(kind: str) -> tuple[tuple[str, str], ...]:
    text = {
        "required": "register this phone's address for 911 before making calls",
        "unconfirmed": "this phone moved: confirm its 911 address before making calls",
    }[kind]
    return (("Warning", f'399 softswitch "{text}"'),)


def has_moved(device: DeviceRecord, directory: Directory, source_host: str) -> bool:
    """A registration from a network the device's location was never confirmed on."""
    location = directory.locations.get(device.id)
    if location is None or location.status is not LocationState.VALIDATED:
        return False
    return location.confirmed_from(source_host) is False


def mark_unconfirmed(engine: Engine, device_id: int) -> bool:
    """Blocking: the device's current location becomes unconfirmed (audited)."""
    # A write transaction from the start: on SQLite, reading first and then writing
    # fails at once when a registration was stored meanwhile (a stale WAL snapshot).
    with Database(engine).writing() as session:
        row = session.scalar(
            select(DeviceLocationRow).where(
                DeviceLocationRow.device_id == device_id, DeviceLocationRow.valid_to.is_(None)
            )
        )
        if row is None or row.status is not LocationStatus.VALIDATED:
            return False
        row.status = LocationStatus.UNCONFIRMED
        change = {"old": "validated", "new": "unconfirmed"}
        details = {"location": {"location_id": row.id, "status": change}}
        # record() also bumps the provisioning version, so the switch reloads the location.
        record(session, SWITCH_ACTOR, AuditAction.UPDATE, Entity.DEVICE, device_id, details)
    return True


def confirm_from_phone(engine: Engine, device_id: int, source_host: str) -> bool:
    """Blocking: the user confirmed by feature code; remember the network they are on."""
    with Database(engine).writing() as session:
        username = session.scalar(select(Device.username).where(Device.id == device_id))
        if username is None:
            return False
        network = f"{source_host}/32" if ":" not in source_host else f"{source_host}/128"
        actor = Actor(f"phone:{username}", "location confirmed with the feature code")
        try:
            confirm_location(session, actor, username, network=network)
        except Exception as exc:  # e.g. a pending location: nothing to confirm
            log.info("location confirmation refused: %s", exc)
            return False
    return True
