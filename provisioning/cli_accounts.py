"""``switchctl account ...``"""

from __future__ import annotations

import argparse

from provisioning.accounts import create_account, disable_account, list_accounts, update_account
from provisioning.cli_common import CliContext, command_parser
from provisioning.cli_cos import (
    add_account_dialling_options,
    dialling_view,
    update_account_dialling,
)
from provisioning.common import KEEP
from provisioning.lookup import find_account
from provisioning.models import AccountStatus
from provisioning.views import account_view

COLUMNS = ("id", "name", "status", "main_number")


def _create(ctx: CliContext) -> int:
    args = ctx.args
    with ctx.writing() as session:
        view = account_view(
            create_account(session, ctx.actor(), args.name, main_number=args.main_number)
        )
    ctx.emit_record(view, f"created account {view['name']}")
    return 0


def _list(ctx: CliContext) -> int:
    with ctx.reading() as session:
        rows = [account_view(a) for a in list_accounts(session)]
    ctx.emit_rows(rows, COLUMNS)
    return 0


def _show(ctx: CliContext) -> int:
    with ctx.reading() as session:
        view = account_view(find_account(session, ctx.args.account))
    ctx.emit_record(view)
    return 0


def _update(ctx: CliContext) -> int:
    args = ctx.args
    status = AccountStatus(args.status) if args.status else None
    main_number = KEEP if args.main_number is None else (args.main_number or None)
    with ctx.writing() as session:
        account = update_account(
            session,
            ctx.actor(),
            args.account,
            name=args.name,
            main_number=main_number,
            status=status,
        )
        update_account_dialling(ctx, session, account)
        view = account_view(account) | dialling_view(account)
    ctx.emit_record(view, f"updated account {view['name']}")
    return 0


def _disable(ctx: CliContext) -> int:
    with ctx.writing() as session:
        view = account_view(disable_account(session, ctx.actor(), ctx.args.account))
    ctx.emit_record(view, f"disabled account {view['name']}")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("account", help="customer accounts")
    sub = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = command_parser(sub, "create", _create, "create an account")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--main-number", metavar="E164", help="the account's main telephone number")

    command_parser(sub, "list", _list, "list accounts")

    p = command_parser(sub, "show", _show, "show one account")
    p.add_argument("account", metavar="NAME_OR_ID")

    p = command_parser(sub, "update", _update, "change an account")
    p.add_argument("account", metavar="NAME_OR_ID")
    p.add_argument("--name", help="new name")
    p.add_argument("--main-number", metavar="E164", help="new main number ('' clears it)")
    p.add_argument("--status", choices=[s.value for s in AccountStatus])
    add_account_dialling_options(p)

    p = command_parser(sub, "disable", _disable, "disable an account")
    p.add_argument("account", metavar="NAME_OR_ID")
