"""``switchctl did ...``: inbound telephone numbers."""

from __future__ import annotations

import argparse

from provisioning.cli_common import CliContext, command_parser
from provisioning.common import KEEP
from provisioning.dids import create_did, disable_did, list_dids, update_did
from provisioning.lookup import find_did
from provisioning.models import Status
from provisioning.views import did_view

COLUMNS = ("id", "number", "account", "extension", "status")


def _create(ctx: CliContext) -> int:
    args = ctx.args
    with ctx.writing() as session:
        did = create_did(session, ctx.actor(), args.number, args.account, extension=args.extension)
        view = did_view(did)
    ctx.emit_record(view, f"created DID {view['number']}")
    return 0


def _list(ctx: CliContext) -> int:
    with ctx.reading() as session:
        rows = [did_view(d) for d in list_dids(session, ctx.args.account)]
    ctx.emit_rows(rows, COLUMNS)
    return 0


def _show(ctx: CliContext) -> int:
    with ctx.reading() as session:
        view = did_view(find_did(session, ctx.args.number))
    ctx.emit_record(view)
    return 0


def _update(ctx: CliContext) -> int:
    args = ctx.args
    extension = KEEP if args.extension is None else (args.extension or None)
    with ctx.writing() as session:
        did = update_did(
            session,
            ctx.actor(),
            args.number,
            account_ref=args.account,
            extension=extension,
            status=Status(args.status) if args.status else None,
        )
        view = did_view(did)
    ctx.emit_record(view, f"updated DID {view['number']}")
    return 0


def _disable(ctx: CliContext) -> int:
    with ctx.writing() as session:
        view = did_view(disable_did(session, ctx.actor(), ctx.args.number))
    ctx.emit_record(view, f"disabled DID {view['number']}")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("did", help="inbound telephone numbers (DIDs)")
    sub = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    number_help = "telephone number; national numbers are read as US numbers"

    p = command_parser(sub, "create", _create, "add a DID to an account")
    p.add_argument("number", metavar="NUMBER", help=number_help)
    p.add_argument("account", metavar="ACCOUNT", help="account name or id")
    p.add_argument("--extension", metavar="EXT", help="route calls to this extension")

    p = command_parser(sub, "list", _list, "list DIDs")
    p.add_argument("--account", metavar="A", help="only this account's DIDs")

    p = command_parser(sub, "show", _show, "show one DID")
    p.add_argument("number", metavar="NUMBER", help=number_help)

    p = command_parser(sub, "update", _update, "re-route a DID")
    p.add_argument("number", metavar="NUMBER", help=number_help)
    p.add_argument("--account", metavar="A", help="move the DID to this account")
    p.add_argument(
        "--extension", metavar="EXT", help="route to this extension ('' routes to the account)"
    )
    p.add_argument("--status", choices=[s.value for s in Status])

    p = command_parser(sub, "disable", _disable, "disable a DID")
    p.add_argument("number", metavar="NUMBER", help=number_help)
