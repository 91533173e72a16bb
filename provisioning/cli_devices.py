"""``switchctl device ...``: SIP credentials of phones and softphones."""

from __future__ import annotations

import argparse

from provisioning.cli_common import CliContext, command_parser, positive_int
from provisioning.cli_e911 import add_location_options, location_request
from provisioning.common import KEEP
from provisioning.devices import (
    DEFAULT_MAX_CONTACTS,
    create_device,
    disable_device,
    list_devices,
    update_device,
)
from provisioning.lookup import find_device
from provisioning.models import DeviceType, Status
from provisioning.validation import generate_password
from provisioning.views import device_view

COLUMNS = ("id", "username", "account", "extension", "device_type", "max_contacts", "status")
_SHOWN_ONCE = "(shown once: only its digest is stored)"


def _emit_with_password(
    ctx: CliContext, view: dict[str, object], headline: str, generated: str | None
) -> None:
    if generated is not None:
        view = {**view, "password": generated}
    ctx.emit_record(view, headline)
    if generated is not None and not ctx.as_json:
        ctx.out.write(f"generated password {_SHOWN_ONCE}\n")


def _create(ctx: CliContext) -> int:
    args = ctx.args
    password = ctx.read_password(args.password)
    generated: str | None = None
    if password is None:
        generated = password = generate_password(args.username, args.extension)
    location = location_request(args)  # checked before anything else: no location, no device
    realm = ctx.settings().sip.realm
    with ctx.writing() as session:
        device = create_device(
            session,
            ctx.actor(),
            args.account,
            args.extension,
            args.username,
            password,
            realm=realm,
            device_type=DeviceType(args.type),
            max_contacts=args.max_contacts,
            user_agent_hint=args.user_agent_hint,
            location=location,
        )
        view = device_view(device)
    _emit_with_password(ctx, view, f"created device {view['username']}", generated)
    return 0


def _list(ctx: CliContext) -> int:
    with ctx.reading() as session:
        rows = [device_view(d) for d in list_devices(session, ctx.args.account)]
    ctx.emit_rows(rows, COLUMNS)
    return 0


def _show(ctx: CliContext) -> int:
    with ctx.reading() as session:
        view = device_view(find_device(session, ctx.args.username))
    ctx.emit_record(view)
    return 0


def _update(ctx: CliContext) -> int:
    args = ctx.args
    password = ctx.read_password(args.password)
    generated: str | None = None
    realm: str | None = None
    with ctx.writing() as session:
        if args.generate_password:
            device = find_device(session, args.username)
            generated = password = generate_password(device.username, device.extension.number)
        if password is not None:
            realm = ctx.settings().sip.realm
        hint = KEEP if args.user_agent_hint is None else (args.user_agent_hint or None)
        device = update_device(
            session,
            ctx.actor(),
            args.username,
            password=password,
            realm=realm,
            device_type=DeviceType(args.type) if args.type else None,
            max_contacts=args.max_contacts,
            user_agent_hint=hint,
            status=Status(args.status) if args.status else None,
        )
        view = device_view(device)
    _emit_with_password(ctx, view, f"updated device {view['username']}", generated)
    return 0


def _disable(ctx: CliContext) -> int:
    with ctx.writing() as session:
        view = device_view(disable_device(session, ctx.actor(), ctx.args.username))
    ctx.emit_record(view, f"disabled device {view['username']}")
    return 0


def _password_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    choice = parser.add_mutually_exclusive_group(required=required)
    choice.add_argument(
        "--password", metavar="P", help="the SIP password ('-' reads it from standard input)"
    )
    choice.add_argument(
        "--generate-password", action="store_true", help="pick a random password and print it"
    )


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("device", help="phones and softphones (SIP credentials)")
    sub = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    types = [t.value for t in DeviceType]

    p = command_parser(sub, "create", _create, "create a device for an extension")
    p.add_argument("account", metavar="ACCOUNT", help="account name or id")
    p.add_argument("extension", metavar="EXTENSION", help="extension number")
    p.add_argument("username", metavar="USERNAME", help="SIP authentication user name")
    _password_options(p, required=True)
    p.add_argument("--type", choices=types, default=DeviceType.DESK_PHONE.value)
    p.add_argument(
        "--max-contacts",
        type=positive_int,
        default=DEFAULT_MAX_CONTACTS,
        help="registrations the device may hold at once",
    )
    p.add_argument("--user-agent-hint", metavar="TEXT", help="expected User-Agent (free text)")
    add_location_options(p, pending=True)

    p = command_parser(sub, "list", _list, "list devices")
    p.add_argument("--account", metavar="A", help="only this account's devices")

    p = command_parser(sub, "show", _show, "show one device")
    p.add_argument("username", metavar="USERNAME")

    p = command_parser(sub, "update", _update, "change a device or reset its password")
    p.add_argument("username", metavar="USERNAME")
    _password_options(p, required=False)
    p.add_argument("--type", choices=types)
    p.add_argument("--max-contacts", type=positive_int)
    p.add_argument("--user-agent-hint", metavar="TEXT", help="('' clears it)")
    p.add_argument("--status", choices=[s.value for s in Status])

    p = command_parser(sub, "disable", _disable, "disable a device")
    p.add_argument("username", metavar="USERNAME")
