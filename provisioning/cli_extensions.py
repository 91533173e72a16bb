"""``switchctl extension ...``"""

from __future__ import annotations

import argparse

from provisioning.cli_common import CliContext, command_parser
from provisioning.common import KEEP
from provisioning.extensions import (
    create_extension,
    disable_extension,
    list_extensions,
    update_extension,
)
from provisioning.lookup import find_account, find_extension
from provisioning.models import Status
from provisioning.views import extension_view

COLUMNS = ("id", "account", "number", "display_name", "status")


def _create(ctx: CliContext) -> int:
    args = ctx.args
    with ctx.writing() as session:
        extension = create_extension(
            session, ctx.actor(), args.account, args.number, display_name=args.display_name
        )
        view = extension_view(extension)
    ctx.emit_record(view, f"created extension {view['number']} in account {view['account']}")
    return 0


def _list(ctx: CliContext) -> int:
    with ctx.reading() as session:
        rows = [extension_view(e) for e in list_extensions(session, ctx.args.account)]
    ctx.emit_rows(rows, COLUMNS)
    return 0


def _show(ctx: CliContext) -> int:
    args = ctx.args
    with ctx.reading() as session:
        view = extension_view(
            find_extension(session, find_account(session, args.account), args.number)
        )
    ctx.emit_record(view)
    return 0


def _update(ctx: CliContext) -> int:
    args = ctx.args
    status = Status(args.status) if args.status else None
    display_name = KEEP if args.display_name is None else (args.display_name or None)
    with ctx.writing() as session:
        extension = update_extension(
            session,
            ctx.actor(),
            args.account,
            args.number,
            new_number=args.new_number,
            display_name=display_name,
            status=status,
        )
        view = extension_view(extension)
    ctx.emit_record(view, f"updated extension {view['number']} in account {view['account']}")
    return 0


def _disable(ctx: CliContext) -> int:
    args = ctx.args
    with ctx.writing() as session:
        view = extension_view(disable_extension(session, ctx.actor(), args.account, args.number))
    ctx.emit_record(view, f"disabled extension {view['number']} in account {view['account']}")
    return 0


def _target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("account", metavar="ACCOUNT", help="account name or id")
    parser.add_argument("number", metavar="NUMBER", help="extension number")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("extension", help="extensions (internal numbers) of an account")
    sub = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = command_parser(sub, "create", _create, "create an extension")
    _target(p)
    p.add_argument("--display-name", metavar="NAME", help="caller name shown on calls")

    p = command_parser(sub, "list", _list, "list extensions")
    p.add_argument("--account", metavar="A", help="only this account's extensions")

    _target(command_parser(sub, "show", _show, "show one extension"))

    p = command_parser(sub, "update", _update, "change an extension")
    _target(p)
    p.add_argument("--number", dest="new_number", metavar="NEW", help="new extension number")
    p.add_argument("--display-name", metavar="NAME", help="new display name ('' clears it)")
    p.add_argument("--status", choices=[s.value for s in Status])

    _target(command_parser(sub, "disable", _disable, "disable an extension"))
