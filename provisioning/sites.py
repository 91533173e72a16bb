"""Site operations: a validated address, the networks found there, and the on-site
contacts told about emergency calls (Kari's Law).

Changes are audited under the site's account (``entity=account``, ``details.site``),
in the caller's transaction, and bump the provisioning version like every change.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from e911.civic import CivicAddress
from e911.dispatchable import dispatchable_location
from e911.errors import AddressError
from e911.msag import DisabledValidator, ExternalStatus, ExternalValidator
from e911.normalize import normalize_address, normalize_line
from e911.validate import require_valid
from provisioning.audit import Actor, AuditAction, Entity, apply_changes, record
from provisioning.common import flush_unique
from provisioning.e911_models import (
    ContactKind,
    DeviceLocationRow,
    Site,
    SiteContact,
    SiteStatus,
)
from provisioning.errors import AlreadyExists, InvalidInput, NotFound
from provisioning.lookup import find_account, find_extension
from provisioning.models import Account, utcnow
from switch.policy.emergency import ShortCodeKind, match_short_code

_SITE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\.[A-Za-z]{2,}")
_WEBHOOK_SCHEMES: Final = ("http", "https")
MAX_TARGET_LENGTH: Final = 512
HANG_UP_AND_DIAL = "instruct callers to hang up and dial 911 themselves"


class InvalidAddress(InvalidInput):
    """An address the E911 rules refuse; ``field`` is the RFC 5139 element to blame."""

    def __init__(self, error: AddressError) -> None:
        listed = "; ".join(str(problem) for problem in error.problems)
        super().__init__(f"invalid address: {listed}")
        self.field = error.field


class AddressNotVerified(InvalidInput):
    """The configured external validator (MSAG, geocoder) did not accept the address."""


# -- addresses -----------------------------------------------------------------------------


def read_address(
    text: str,
    *,
    floor: str | None = None,
    unit: str | None = None,
    room: str | None = None,
    multi_unit: bool = False,
    validator: ExternalValidator | None = None,
) -> CivicAddress:
    """A one-line address, normalized (USPS Pub 28) and validated for E911 registration.

    ``floor``, ``unit`` and ``room`` replace what the line said about them.
    """
    try:
        address = normalize_line(text)
    except AddressError as exc:
        raise InvalidAddress(exc) from None
    return complete_address(
        address, floor=floor, unit=unit, room=room, multi_unit=multi_unit, validator=validator
    )


def complete_address(
    address: CivicAddress,
    *,
    floor: str | None = None,
    unit: str | None = None,
    room: str | None = None,
    multi_unit: bool = False,
    validator: ExternalValidator | None = None,
) -> CivicAddress:
    """``address`` with the given in-building parts, normalized and validated."""
    merged = replace(
        address,
        flr=floor if floor is not None else address.flr,
        unit=unit if unit is not None else address.unit,
        room=room if room is not None else address.room,
    )
    try:
        checked = require_valid(normalize_address(merged), multi_unit=multi_unit)
    except AddressError as exc:
        raise InvalidAddress(exc) from None
    return _verify_externally(checked, validator or DisabledValidator())


def _verify_externally(address: CivicAddress, validator: ExternalValidator) -> CivicAddress:
    result = validator.validate(address)
    if result.status in (ExternalStatus.NOT_CHECKED, ExternalStatus.VALID):
        return address
    if result.status is ExternalStatus.CORRECTED and result.address is not None:
        return result.address
    detail = f": {result.detail}" if result.detail else ""
    if result.status is ExternalStatus.UNAVAILABLE:
        raise AddressNotVerified(f"address validation service unavailable, try again{detail}")
    raise AddressNotVerified(f"address not found by the address validation service{detail}")


def stored_address(data: dict[str, Any] | None) -> CivicAddress | None:
    return CivicAddress.from_dict(data) if data else None


# -- networks ------------------------------------------------------------------------------


def parse_networks(values: Iterable[str], option: str = "--network") -> list[str]:
    """CIDR prefixes in canonical form ("192.0.2.7/24" -> "192.0.2.0/24"), without repeats."""
    found: list[str] = []
    for value in values:
        try:
            network = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise InvalidInput(
                f"invalid {option} {value!r}: give an address or CIDR prefix"
            ) from None
        if str(network) not in found:
            found.append(str(network))
    return found


# -- sites ---------------------------------------------------------------------------------


def _validate_site_name(name: str) -> str:
    if not _SITE_NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid site name {name!r}: letters, digits, '.', '_', '-' only; "
            "at most 64 characters"
        )
    return name


def _exists_message(account: Account, name: str) -> str:
    return f"site {name!r} already exists in account {account.name!r}"


def find_site(session: Session, account: Account, name: str) -> Site:
    site = session.scalar(select(Site).where(Site.account_id == account.id, Site.name == name))
    if site is None:
        raise NotFound(f"unknown site {name!r} in account {account.name!r}")
    return site


def _audit_site(
    session: Session,
    actor: Actor,
    action: AuditAction,
    site: Site,
    details: dict[str, Any],
) -> None:
    record(session, actor, action, Entity.ACCOUNT, site.account_id, {"site": site.name, **details})


def create_site(
    session: Session,
    actor: Actor,
    account_ref: str,
    name: str,
    address: str,
    *,
    multi_unit: bool = False,
    networks: Iterable[str] = (),
    backup_networks: Iterable[str] = (),
    validator: ExternalValidator | None = None,
) -> Site:
    account = find_account(session, account_ref)
    _validate_site_name(name)
    civic = read_address(address, validator=validator)
    if (
        session.scalar(select(Site.id).where(Site.account_id == account.id, Site.name == name))
        is not None
    ):
        raise AlreadyExists(_exists_message(account, name))
    now = utcnow()
    site = Site(
        account=account,
        name=name,
        address=civic.to_dict(),
        multi_unit=multi_unit,
        networks=parse_networks(networks),
        backup_networks=parse_networks(backup_networks, "--backup-network"),
        status=SiteStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    session.add(site)
    flush_unique(session, _exists_message(account, name))
    fields = ("address", "multi_unit", "networks", "backup_networks", "status")
    created = {f: {"old": None, "new": getattr(site, f)} for f in fields}
    _audit_site(session, actor, AuditAction.CREATE, site, created)
    return site


def list_sites(session: Session, account_ref: str | None = None) -> list[Site]:
    query = select(Site).join(Site.account).order_by(Account.name, Site.name)
    if account_ref is not None:
        query = query.where(Site.account_id == find_account(session, account_ref).id)
    return list(session.scalars(query))


def current_locations_at(session: Session, site: Site) -> list[DeviceLocationRow]:
    return list(
        session.scalars(
            select(DeviceLocationRow)
            .where(DeviceLocationRow.site_id == site.id, DeviceLocationRow.valid_to.is_(None))
            .order_by(DeviceLocationRow.device_id)
        )
    )


def update_site(
    session: Session,
    actor: Actor,
    account_ref: str,
    name: str,
    *,
    new_name: str | None = None,
    address: str | None = None,
    multi_unit: bool | None = None,
    networks: Iterable[str] | None = None,
    backup_networks: Iterable[str] | None = None,
    status: SiteStatus | None = None,
    validator: ExternalValidator | None = None,
) -> Site:
    """Change the given fields. A new address closes the location rows of the site's
    devices and opens new ones, so call records keep pointing at what was in force."""
    account = find_account(session, account_ref)
    site = find_site(session, account, name)
    values: dict[str, object] = {}
    if new_name is not None and new_name != site.name:
        _validate_site_name(new_name)
        values["name"] = new_name
    if address is not None:
        values["address"] = read_address(address, validator=validator).to_dict()
    if networks is not None:
        values["networks"] = parse_networks(networks)
    if backup_networks is not None:
        values["backup_networks"] = parse_networks(backup_networks, "--backup-network")
    if multi_unit is not None:
        values["multi_unit"] = multi_unit
    if status is not None:
        values["status"] = status
    _check_site_change(session, site, multi_unit, status)
    changes = apply_changes(site, values)
    if not changes:
        return site
    now = utcnow()
    site.updated_at = now
    flush_unique(session, _exists_message(account, new_name or name))
    if "address" in changes:
        _roll_locations(session, site, now)
    _audit_site(session, actor, AuditAction.UPDATE, site, changes)
    return site


def _check_site_change(
    session: Session, site: Site, multi_unit: bool | None, status: SiteStatus | None
) -> None:
    located = current_locations_at(session, site)
    if status is SiteStatus.DISABLED and located:
        raise InvalidInput(
            f"site {site.name!r} is the registered location of {len(located)} device(s); "
            "move them first ('switchctl location set')"
        )
    if multi_unit and not site.multi_unit:
        vague = [row for row in located if not (row.floor or row.unit or row.room)]
        if vague:
            raise InvalidInput(
                f"{len(vague)} device(s) at site {site.name!r} have no floor, unit or room; "
                "set them first ('switchctl location set USERNAME --site ... --floor ...')"
            )


def _roll_locations(session: Session, site: Site, now: datetime) -> None:
    rows = current_locations_at(session, site)
    for row in rows:
        row.valid_to = now
    session.flush()  # the old rows must be closed before the new current ones exist
    for row in rows:
        session.add(
            DeviceLocationRow(
                device_id=row.device_id,
                site_id=row.site_id,
                floor=row.floor,
                unit=row.unit,
                room=row.room,
                valid_from=now,
                status=row.status,
                confirmed_networks=list(row.confirmed_networks),
                confirmed_at=row.confirmed_at,
                confirmed_by=row.confirmed_by,
            )
        )
    session.flush()


# -- contacts ------------------------------------------------------------------------------


def check_contact_target(session: Session, account: Account, kind: ContactKind, target: str) -> str:
    """The target in stored form; refuses malformed ones and emergency numbers."""
    target = target.strip()
    if not target or len(target) > MAX_TARGET_LENGTH:
        raise InvalidInput(f"invalid {kind.value} contact: empty or too long")
    if kind is ContactKind.WEBHOOK:
        parts = urlsplit(target)
        if parts.scheme.lower() not in _WEBHOOK_SCHEMES or not parts.hostname:
            raise InvalidInput(f"invalid webhook URL {target!r}: give an http:// or https:// URL")
    elif kind is ContactKind.EMAIL:
        if not _EMAIL.fullmatch(target):
            raise InvalidInput(f"invalid e-mail address {target!r}")
    else:
        refuse_emergency_target(target, "a notification target")
        find_extension(session, account, target)  # front desks are extensions of the account
    return target


def refuse_emergency_target(value: str, what: str) -> None:
    """Refuse ``value`` if people would dial it to reach emergency services."""
    compact = re.sub(r"[\s().-]", "", value)
    match = match_short_code(compact, "US", None)
    if match is not None and match.kind is not ShortCodeKind.N11:
        raise InvalidInput(
            f"{value!r} is an emergency number and cannot be {what}; {HANG_UP_AND_DIAL}"
        )


def add_contact(
    session: Session,
    actor: Actor,
    account_ref: str,
    site_name: str,
    kind: ContactKind,
    target: str,
    *,
    name: str | None = None,
) -> SiteContact:
    account = find_account(session, account_ref)
    site = find_site(session, account, site_name)
    stored = check_contact_target(session, account, kind, target)
    conflict = f"site {site.name!r} already has {kind.value} contact {stored!r}"
    if any(c.kind is kind and c.target == stored for c in site.contacts):
        raise AlreadyExists(conflict)
    contact = SiteContact(site=site, kind=kind, target=stored, name=name or None)
    session.add(contact)
    flush_unique(session, conflict)
    added = {"kind": kind.value, "target": stored, "name": contact.name}
    _audit_site(session, actor, AuditAction.UPDATE, site, {"contact_added": added})
    return contact


def remove_contact(
    session: Session,
    actor: Actor,
    account_ref: str,
    site_name: str,
    kind: ContactKind,
    target: str,
) -> Site:
    account = find_account(session, account_ref)
    site = find_site(session, account, site_name)
    found = next((c for c in site.contacts if c.kind is kind and c.target == target.strip()), None)
    if found is None:
        raise NotFound(f"site {site.name!r} has no {kind.value} contact {target.strip()!r}")
    site.contacts.remove(found)
    session.flush()
    removed = {"kind": kind.value, "target": found.target}
    _audit_site(session, actor, AuditAction.UPDATE, site, {"contact_removed": removed})
    return site


def list_contacts(session: Session, account_ref: str, site_name: str) -> list[SiteContact]:
    return list(find_site(session, find_account(session, account_ref), site_name).contacts)


# -- views ---------------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def site_view(site: Site) -> dict[str, Any]:
    address = CivicAddress.from_dict(site.address)
    return {
        "id": site.id,
        "account": site.account.name,
        "account_id": site.account_id,
        "name": site.name,
        "address": dispatchable_location(address),
        "civic_address": site.address,
        "multi_unit": site.multi_unit,
        "networks": list(site.networks),
        "backup_networks": list(site.backup_networks),
        "status": site.status.value,
        "created_at": _time(site.created_at),
        "updated_at": _time(site.updated_at),
    }


def contact_view(contact: SiteContact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "site": contact.site.name,
        "kind": contact.kind.value,
        "target": contact.target,
        "name": contact.name,
        "created_at": _time(contact.created_at),
    }
