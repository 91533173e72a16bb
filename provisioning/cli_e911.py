"""``switchctl site ...``, ``location ...`` and ``e911 settings``: registered E911 locations.

The account's E911 settings live under ``e911 settings ACCOUNT`` rather than
``account update`` so that every E911 option is found in one place; the option
names are the same either way.
"""

from __future__ import annotations

import argparse
from enum import StrEnum
from typing import Any, TypeVar

from provisioning.cli_common import CliContext, command_parser
from provisioning.common import KEEP
from provisioning.e911_models import ContactKind, SiteStatus
from provisioning.errors import InvalidInput
from provisioning.locations import (
    NEEDS_ATTENTION,
    LocationRequest,
    account_e911_view,
    confirm_location,
    current_row,
    list_device_locations,
    location_history,
    location_view,
    set_account_e911,
    set_location,
)
from provisioning.lookup import find_account, find_device
from provisioning.models import E911Enforcement, MovedDeviceAction, Transfer911Action
from provisioning.sites import (
    add_contact,
    contact_view,
    create_site,
    find_site,
    list_contacts,
    list_sites,
    remove_contact,
    site_view,
    update_site,
)
from switch.core.locations import LocationState

SITE_COLUMNS = ("id", "account", "name", "multi_unit", "networks", "status", "address")
CONTACT_COLUMNS = ("kind", "target", "name", "created_at")
LOCATION_COLUMNS = ("username", "account", "extension", "state", "site", "address")
# The current row is the one without valid_to.
HISTORY_COLUMNS = (
    "location_id",
    "state",
    "site",
    "floor",
    "unit",
    "room",
    "valid_from",
    "valid_to",
)
ON_OFF = ("on", "off")
_E = TypeVar("_E", bound=StrEnum)


# -- location options shared with ``device create`` -----------------------------------------


def add_location_options(parser: argparse.ArgumentParser, *, pending: bool) -> None:
    """--site or --address, with --floor, --unit, --room (and --location-pending)."""
    group = parser.add_argument_group("registered location (E911)")
    group.add_argument("--site", metavar="SITE", help="a site of the device's account")
    group.add_argument(
        "--address",
        metavar="TEXT",
        help='own address of a remote worker: "123 Main St, Springfield, IL 62704"',
    )
    group.add_argument("--floor", metavar="F")
    group.add_argument("--unit", metavar="U", help="suite, apartment or unit")
    group.add_argument("--room", metavar="R")
    if pending:
        group.add_argument(
            "--location-pending",
            action="store_true",
            help="no location yet (with --site: somewhere at that site); lists as pending",
        )


def location_request(args: argparse.Namespace) -> LocationRequest:
    """The location the options describe; one line telling what to give when none is."""
    return LocationRequest(
        site=args.site,
        address=args.address,
        floor=args.floor or None,
        unit=args.unit or None,
        room=args.room or None,
        pending=bool(getattr(args, "location_pending", False)),
    )


# -- site ------------------------------------------------------------------------------------


def _site_create(ctx: CliContext) -> int:
    args = ctx.args
    with ctx.writing() as session:
        site = create_site(
            session,
            ctx.actor(),
            args.account,
            args.name,
            args.address,
            multi_unit=args.multi_unit,
            networks=args.network or (),
            backup_networks=args.backup_network or (),
        )
        view = site_view(site)
    ctx.emit_record(view, f"created site {view['name']} in account {view['account']}")
    return 0


def _site_list(ctx: CliContext) -> int:
    with ctx.reading() as session:
        rows = [site_view(s) for s in list_sites(session, ctx.args.account)]
    ctx.emit_rows(rows, SITE_COLUMNS)
    return 0


def _site_show(ctx: CliContext) -> int:
    args = ctx.args
    with ctx.reading() as session:
        site = find_site(session, find_account(session, args.account), args.name)
        view = site_view(site) | {"contacts": [contact_view(c) for c in site.contacts]}
    ctx.emit_record(view)
    return 0


def _networks(values: list[str] | None, clear: bool, option: str) -> list[str] | None:
    if clear and values:
        raise InvalidInput(f"give --{option} or --clear-{option}s, not both")
    return [] if clear else values


def _site_update(ctx: CliContext) -> int:
    args = ctx.args
    with ctx.writing() as session:
        site = update_site(
            session,
            ctx.actor(),
            args.account,
            args.name,
            new_name=args.new_name,
            address=args.address,
            multi_unit=None if args.multi_unit is None else args.multi_unit == "on",
            networks=_networks(args.network, args.clear_networks, "network"),
            backup_networks=_networks(
                args.backup_network, args.clear_backup_networks, "backup-network"
            ),
            status=SiteStatus(args.status) if args.status else None,
        )
        view = site_view(site)
    ctx.emit_record(view, f"updated site {view['name']} in account {view['account']}")
    return 0


def _contact(args: argparse.Namespace) -> tuple[ContactKind, str]:
    for kind in ContactKind:
        value = getattr(args, kind.value)
        if value is not None:
            return kind, value
    raise InvalidInput("give --webhook URL, --email ADDRESS or --sip EXTENSION")  # pragma: no cover


def _contact_add(ctx: CliContext) -> int:
    args = ctx.args
    kind, target = _contact(args)
    with ctx.writing() as session:
        contact = add_contact(
            session, ctx.actor(), args.account, args.site, kind, target, name=args.name
        )
        view = contact_view(contact)
    ctx.emit_record(view, f"site {view['site']} now notifies {view['kind']} {view['target']}")
    return 0


def _contact_remove(ctx: CliContext) -> int:
    args = ctx.args
    kind, target = _contact(args)
    with ctx.writing() as session:
        remove_contact(session, ctx.actor(), args.account, args.site, kind, target)
    if ctx.as_json:
        ctx.emit_json({"site": args.site, "kind": kind.value, "target": target, "removed": True})
    else:
        ctx.out.write(f"removed {kind.value} contact {target} from site {args.site}\n")
    return 0


def _contact_list(ctx: CliContext) -> int:
    args = ctx.args
    with ctx.reading() as session:
        rows = [contact_view(c) for c in list_contacts(session, args.account, args.site)]
    ctx.emit_rows(rows, CONTACT_COLUMNS)
    return 0


# -- location --------------------------------------------------------------------------------


def _location_set(ctx: CliContext) -> int:
    args = ctx.args
    if args.site is None and args.address is None:
        raise InvalidInput('give --site SITE [--floor F] [--unit U] [--room R] or --address "..."')
    with ctx.writing() as session:
        row = set_location(session, ctx.actor(), args.username, location_request(args))
        view = location_view(session, row.device, row)
    ctx.emit_record(view, f"registered location of device {view['username']}")
    return 0


def _location_show(ctx: CliContext) -> int:
    args = ctx.args
    with ctx.reading() as session:
        device = find_device(session, args.username)
        if args.history:
            rows = [location_view(session, device, r) for r in location_history(session, device)]
        else:
            view = location_view(session, device, current_row(session, device))
    if args.history:
        ctx.emit_rows(rows, HISTORY_COLUMNS)
    else:
        ctx.emit_record(view)
    return 0


def _location_confirm(ctx: CliContext) -> int:
    args = ctx.args
    with ctx.writing() as session:
        row = confirm_location(session, ctx.actor(), args.username, network=args.network)
        view = location_view(session, row.device, row)
    ctx.emit_record(view, f"confirmed location of device {view['username']}")
    return 0


def _location_list(ctx: CliContext) -> int:
    args = ctx.args
    asked = {
        state
        for state, flag in (
            (LocationState.MISSING, args.missing),
            (LocationState.PENDING, args.pending),
            (LocationState.UNCONFIRMED, args.unconfirmed),
        )
        if flag
    }
    states = frozenset(LocationState) if args.all else frozenset(asked) or NEEDS_ATTENTION
    with ctx.reading() as session:
        rows = [
            location_view(session, item.device, item.row)
            for item in list_device_locations(session, args.account, states)
        ]
    ctx.emit_rows(rows, LOCATION_COLUMNS)
    return 0


# -- e911 settings ---------------------------------------------------------------------------


def _choice(kind: type[_E], value: str | None) -> _E | None:
    return kind(value) if value else None


def _settings(ctx: CliContext) -> int:
    args = ctx.args
    options: dict[str, Any] = {
        "enforcement": _choice(E911Enforcement, args.e911_enforcement),
        "moved_device_action": _choice(MovedDeviceAction, args.moved_device_action),
        "transfer_911_action": _choice(Transfer911Action, args.transfer_911_action),
        "transfer_911_fee": args.transfer_911_fee,
    }
    fallback = KEEP if args.fallback_address is None else (args.fallback_address or None)
    changing = any(v is not None for v in options.values()) or fallback is not KEEP
    if not changing:
        with ctx.reading() as session:
            view = account_e911_view(find_account(session, args.account))
        ctx.emit_record(view)
        return 0
    with ctx.writing() as session:
        account = set_account_e911(
            session, ctx.actor(), args.account, fallback_address=fallback, **options
        )
        view = account_e911_view(account)
    ctx.emit_record(view, f"updated E911 settings of account {view['account']}")
    return 0


# -- registration ----------------------------------------------------------------------------


def _contact_target_options(parser: argparse.ArgumentParser) -> None:
    choice = parser.add_mutually_exclusive_group(required=True)
    choice.add_argument("--webhook", metavar="URL", help="HTTP(S) URL that gets a JSON POST")
    choice.add_argument("--email", metavar="ADDRESS")
    choice.add_argument("--sip", metavar="EXTENSION", help="front-desk extension (SIP MESSAGE)")


def _register_site(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("site", help="E911 sites: address, networks, on-site contacts")
    sub = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    account_help = "account name or id"

    p = command_parser(sub, "create", _site_create, "create a site with a validated address")
    p.add_argument("account", metavar="ACCOUNT", help=account_help)
    p.add_argument("name", metavar="NAME")
    p.add_argument("--address", metavar="TEXT", required=True, help="one-line street address")
    p.add_argument(
        "--multi-unit", action="store_true", help="floor, unit or room required per device"
    )
    p.add_argument("--network", metavar="CIDR", action="append", help="repeatable")
    p.add_argument("--backup-network", metavar="CIDR", action="append", help="e.g. LTE failover")

    p = command_parser(sub, "list", _site_list, "list sites")
    p.add_argument("--account", metavar="A", help="only this account's sites")

    p = command_parser(sub, "show", _site_show, "show one site and its contacts")
    p.add_argument("account", metavar="ACCOUNT", help=account_help)
    p.add_argument("name", metavar="NAME")

    p = command_parser(sub, "update", _site_update, "change a site")
    p.add_argument("account", metavar="ACCOUNT", help=account_help)
    p.add_argument("name", metavar="NAME")
    p.add_argument("--name", dest="new_name", metavar="NEW", help="new name")
    p.add_argument("--address", metavar="TEXT", help="new address (devices' history is kept)")
    p.add_argument("--multi-unit", choices=ON_OFF)
    p.add_argument("--network", metavar="CIDR", action="append", help="replaces the list")
    p.add_argument("--clear-networks", action="store_true")
    p.add_argument("--backup-network", metavar="CIDR", action="append", help="replaces the list")
    p.add_argument("--clear-backup-networks", action="store_true")
    p.add_argument("--status", choices=[s.value for s in SiteStatus])

    contact = sub.add_parser("contact", help="who is told on site about 911 calls")
    contact_sub = contact.add_subparsers(dest="contact_action", required=True, metavar="ACTION")
    for name, handler, text in (
        ("add", _contact_add, "notify this contact of 911 calls from the site"),
        ("remove", _contact_remove, "stop notifying this contact"),
        ("list", _contact_list, "list the site's contacts"),
    ):
        p = command_parser(contact_sub, name, handler, text)
        p.add_argument("account", metavar="ACCOUNT", help=account_help)
        p.add_argument("site", metavar="SITE")
        if name != "list":
            _contact_target_options(p)
        if name == "add":
            p.add_argument("--name", metavar="TEXT", help="who this is (front desk, security)")


def _register_location(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("location", help="registered E911 locations of devices")
    sub = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = command_parser(sub, "set", _location_set, "register a device's location (keeps history)")
    p.add_argument("username", metavar="USERNAME")
    add_location_options(p, pending=False)

    p = command_parser(sub, "show", _location_show, "show a device's registered location")
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--history", action="store_true", help="every location, oldest first")

    p = command_parser(
        sub, "confirm", _location_confirm, "confirm a device is at its registered location"
    )
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--network", metavar="CIDR", help="public address it was confirmed from")

    p = command_parser(sub, "list", _location_list, "active devices whose location needs attention")
    p.add_argument("--account", metavar="A", help="only this account's devices")
    p.add_argument("--missing", action="store_true", help="no location at all")
    p.add_argument("--pending", action="store_true", help="created as location pending")
    p.add_argument("--unconfirmed", action="store_true", help="seen on another network")
    p.add_argument("--all", action="store_true", help="every active device, validated too")


def _register_settings(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("e911", help="an account's E911 settings")
    sub = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = command_parser(sub, "settings", _settings, "show or change an account's E911 settings")
    p.add_argument("account", metavar="ACCOUNT", help="account name or id")
    p.add_argument(
        "--e911-enforcement",
        choices=[e.value for e in E911Enforcement],
        help="calls of devices without a validated location: refused, or warned about",
    )
    p.add_argument("--moved-device-action", choices=[m.value for m in MovedDeviceAction])
    p.add_argument("--transfer-911-action", choices=[t.value for t in Transfer911Action])
    p.add_argument("--transfer-911-fee", metavar="AMOUNT", help="per incident, e.g. 150.00")
    p.add_argument(
        "--fallback-address",
        metavar="TEXT",
        help="sent when a device has no location ('' clears it)",
    )


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _register_site(commands)
    _register_location(commands)
    _register_settings(commands)
