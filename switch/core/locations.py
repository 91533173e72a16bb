"""Registered E911 locations and on-site notification contacts, loaded for the switch.

The loaders block (call them from a worker thread, like ``load_directory``); what
they return is plain frozen data the packet path reads without queries. A stored
address that no longer parses is logged and treated as missing: loading must never
fail because of one row, since emergency calls depend on the rest.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from e911.civic import CivicAddress
from e911.errors import AddressError
from provisioning.e911_models import ContactKind, DeviceLocationRow, Site, SiteContact
from provisioning.models import Account, Device, Extension

from .e911_types import EmergencyLocation, LocationSource

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class LocationState(StrEnum):
    """A device's location as enforcement sees it; the first three are stored statuses."""

    VALIDATED = "validated"
    PENDING = "pending"
    UNCONFIRMED = "unconfirmed"  # registered from a network it was not confirmed on
    MISSING = "missing"  # no location row at all (devices older than E911 provisioning)


class AddressOrigin(StrEnum):
    DEVICE = "device"  # the device's own address (a remote worker)
    SITE = "site"  # its site's address plus floor, unit and room
    NONE = "none"


class FallbackOrigin(StrEnum):
    SITE = "site"
    ACCOUNT = "account"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class DeviceLocation:
    """Where a device is registered to be, and where that was confirmed."""

    device_id: int
    account_id: int
    status: LocationState
    address: CivicAddress | None  # the dispatchable address, floor/unit/room included
    origin: AddressOrigin
    location_id: int | None  # the device_locations row in force
    site_id: int | None
    # Networks the location counts as confirmed on: the site's (backup ones included)
    # and the public addresses where a remote user confirmed it.
    networks: tuple[Network, ...]
    fallback: CivicAddress | None  # the site's address, else the account's
    fallback_origin: FallbackOrigin

    @property
    def validated(self) -> bool:
        return self.status is LocationState.VALIDATED and self.address is not None

    def confirmed_from(self, host: str) -> bool | None:
        """Whether ``host`` lies in a confirmed network; None when that cannot be told
        (no networks known, or ``host`` is not an IP address)."""
        if not self.networks:
            return None
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return None
        return any(ip in network for network in self.networks if network.version == ip.version)

    def for_emergency(self) -> EmergencyLocation | None:
        """The address to send with an emergency call: the registered one, else the fallback."""
        if self.address is not None:
            return EmergencyLocation(self.address, LocationSource.DEVICE, self.location_id)
        if self.fallback is None:
            return None
        source = (
            LocationSource.SITE
            if self.fallback_origin is FallbackOrigin.SITE
            else LocationSource.ACCOUNT
        )
        return EmergencyLocation(self.fallback, source, self.location_id)


@dataclass(frozen=True, slots=True)
class SiteContacts:
    """Who is told on site about an emergency call (Kari's Law)."""

    site_id: int
    account_id: int
    site_name: str
    webhooks: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    sip_extensions: tuple[str, ...] = ()  # front-desk extension numbers of the account

    @property
    def empty(self) -> bool:
        return not (self.webhooks or self.emails or self.sip_extensions)


@dataclass(frozen=True, slots=True)
class SiteData:
    """What location building needs of a site."""

    id: int
    address: Mapping[str, Any] | None
    networks: Sequence[str] = ()
    backup_networks: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class RowData:
    """What location building needs of a current device_locations row."""

    id: int
    status: str
    site_id: int | None
    address: Mapping[str, Any] | None
    floor: str | None = None
    unit: str | None = None
    room: str | None = None
    confirmed_networks: Sequence[str] = ()


# -- pure building -------------------------------------------------------------------------


def location_address(
    site_address: CivicAddress | None,
    own_address: CivicAddress | None,
    floor: str | None,
    unit: str | None,
    room: str | None,
) -> CivicAddress | None:
    """The dispatchable address of a location row: its own address, else the site's
    with the row's floor, unit and room put in."""
    if own_address is not None:
        return own_address
    if site_address is None:
        return None
    return replace(
        site_address,
        flr=floor or site_address.flr,
        unit=unit or site_address.unit,
        room=room or site_address.room,
    )


def parse_stored_address(data: Mapping[str, Any] | None, what: str) -> CivicAddress | None:
    if not data:
        return None
    try:
        return CivicAddress.from_dict(data)
    except AddressError as exc:
        log.error("stored address of %s is unusable (%s); treated as missing", what, exc.field)
        return None


def parse_networks(values: Iterable[str], what: str) -> list[Network]:
    found: list[Network] = []
    for value in values:
        try:
            found.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            log.error("stored network of %s is not a CIDR prefix; ignored", what)
    return found


def build_location(
    device_id: int,
    account_id: int,
    row: RowData | None,
    site: SiteData | None,
    account_fallback: CivicAddress | None,
) -> DeviceLocation:
    """One device's location from its current row (None: missing) and that row's site."""
    site_address = parse_stored_address(site.address, f"site {site.id}") if site else None
    fallback, fallback_origin = (
        (site_address, FallbackOrigin.SITE)
        if site_address is not None
        else (account_fallback, FallbackOrigin.ACCOUNT if account_fallback else FallbackOrigin.NONE)
    )
    if row is None:
        status = LocationState.MISSING
        address, origin, networks = None, AddressOrigin.NONE, []
    else:
        status = _state(row.status)
        own = parse_stored_address(row.address, f"location {row.id}")
        address = None
        if status is not LocationState.PENDING:
            address = location_address(site_address, own, row.floor, row.unit, row.room)
        origin = AddressOrigin.NONE
        if address is not None:
            origin = AddressOrigin.DEVICE if own is not None else AddressOrigin.SITE
        prefixes = [*row.confirmed_networks]
        if site is not None:
            prefixes = [*site.networks, *site.backup_networks, *prefixes]
        networks = parse_networks(dict.fromkeys(prefixes), f"location {row.id}")
    return DeviceLocation(
        device_id=device_id,
        account_id=account_id,
        status=status,
        address=address,
        origin=origin,
        location_id=row.id if row else None,
        site_id=row.site_id if row else None,
        networks=tuple(networks),
        fallback=fallback,
        fallback_origin=fallback_origin,
    )


def _state(stored: str) -> LocationState:
    try:
        return LocationState(stored)
    except ValueError:
        return LocationState.PENDING


# -- loading -------------------------------------------------------------------------------


def load_locations(engine: Engine) -> dict[int, DeviceLocation]:
    """Device id -> current location, for every device (MISSING when it has none)."""
    with Session(engine) as session:
        devices = session.execute(
            select(Device.id, Extension.account_id).join(
                Extension, Device.extension_id == Extension.id
            )
        ).all()
        fallbacks = {
            account_id: parse_stored_address(data, f"account {account_id}")
            for account_id, data in session.execute(select(Account.id, Account.fallback_address))
        }
        sites = {
            s.id: SiteData(s.id, s.address, tuple(s.networks), tuple(s.backup_networks))
            for s in session.scalars(select(Site))
        }
        rows = {
            r.device_id: RowData(
                id=r.id,
                status=str(r.status),
                site_id=r.site_id,
                address=r.address,
                floor=r.floor,
                unit=r.unit,
                room=r.room,
                confirmed_networks=tuple(r.confirmed_networks or ()),
            )
            for r in session.scalars(
                select(DeviceLocationRow).where(DeviceLocationRow.valid_to.is_(None))
            )
        }
    result: dict[int, DeviceLocation] = {}
    for device_id, account_id in devices:
        row = rows.get(device_id)
        site = sites.get(row.site_id) if row is not None and row.site_id is not None else None
        result[device_id] = build_location(
            device_id, account_id, row, site, fallbacks.get(account_id)
        )
    return result


def load_notification_targets(engine: Engine) -> dict[int, SiteContacts]:
    """Site id -> its contacts, for every site (with empty tuples when it has none)."""
    with Session(engine) as session:
        sites = session.execute(select(Site.id, Site.account_id, Site.name)).all()
        contacts = session.execute(
            select(SiteContact.site_id, SiteContact.kind, SiteContact.target).order_by(
                SiteContact.id
            )
        ).all()
    by_site: dict[int, dict[ContactKind, list[str]]] = {}
    for site_id, kind, target in contacts:
        by_site.setdefault(site_id, {}).setdefault(ContactKind(kind), []).append(target)
    result: dict[int, SiteContacts] = {}
    for site_id, account_id, name in sites:
        found = by_site.get(site_id, {})
        result[site_id] = SiteContacts(
            site_id=site_id,
            account_id=account_id,
            site_name=name,
            webhooks=tuple(found.get(ContactKind.WEBHOOK, ())),
            emails=tuple(found.get(ContactKind.EMAIL, ())),
            sip_extensions=tuple(found.get(ContactKind.SIP, ())),
        )
    return result
