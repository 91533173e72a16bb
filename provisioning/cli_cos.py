"""``switchctl cos ...``, ``callerid ...``, ``lists load`` and ``dialplan check``;
plus the dialling options of ``switchctl account update``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from provisioning.cli_common import CliContext, command_parser
from provisioning.common import KEEP, Keep
from provisioning.cos import (
    PolicyList,
    account_cos_view,
    add_verified_number,
    check_dialling,
    extension_cos_view,
    install_policy_lists,
    list_verified_numbers,
    policy_gate,
    remove_verified_number,
    set_account_cos,
    set_extension_cos,
    verified_view,
)
from provisioning.errors import InvalidInput
from provisioning.lookup import find_account, find_extension
from provisioning.models import Account, CallerIdMode, CosOverride

ON_OFF = ("on", "off")
OVERRIDES = tuple(o.value for o in CosOverride)
# Option name -> column; "--operator" is what operators type for operator-assisted calls.
PERMISSION_OPTIONS = {
    "international": "international",
    "high-risk": "high_risk",
    "premium": "premium",
    "operator": "operator_assisted",
}
VERIFIED_COLUMNS = ("number", "note", "created_at")


def _on_off(value: str | None, option: str) -> bool | None:
    if value is None:
        return None
    if value not in ON_OFF:
        raise InvalidInput(f"--{option} takes on or off here, not {value!r}")
    return value == "on"


def _emit(ctx: CliContext, view: dict[str, Any], headline: str | None = None) -> None:
    """Switches read on/off in text; JSON keeps true/false."""
    if not ctx.as_json:
        view = {k: ("on" if v else "off") if isinstance(v, bool) else v for k, v in view.items()}
    ctx.emit_record(view, headline)


# -- cos ---------------------------------------------------------------------------------


def _show(ctx: CliContext) -> int:
    args = ctx.args
    with ctx.reading() as session:
        account = find_account(session, args.account)
        if args.extension is None:
            view = account_cos_view(account)
        else:
            view = extension_cos_view(find_extension(session, account, args.extension))
    _emit(ctx, view)
    return 0


def _account_permissions(args: argparse.Namespace) -> dict[str, bool]:
    result: dict[str, bool] = {}
    for option, column in PERMISSION_OPTIONS.items():
        value = _on_off(getattr(args, column), option)
        if value is not None:
            result[column] = value
    return result


def _extension_permissions(args: argparse.Namespace) -> dict[str, CosOverride]:
    result: dict[str, CosOverride] = {}
    for option, column in PERMISSION_OPTIONS.items():
        value = getattr(args, column)
        if value is None:
            continue
        if value not in OVERRIDES:
            raise InvalidInput(f"--{option} takes inherit, allow or deny for an extension")
        result[column] = CosOverride(value)
    return result


def _set(ctx: CliContext) -> int:
    args = ctx.args
    fraud_lock = _on_off(args.fraud_lock, "fraud-lock")
    with ctx.writing() as session:
        if args.extension is None:
            if args.suspended is not None:
                raise InvalidInput(
                    "--suspended is for extensions; suspend an account with "
                    "'account update --status suspended'"
                )
            account = set_account_cos(
                session,
                ctx.actor(),
                args.account,
                permissions=_account_permissions(args),
                fraud_lock=fraud_lock,
            )
            view = account_cos_view(account)
            headline = f"updated class of service of account {account.name}"
        else:
            extension = set_extension_cos(
                session,
                ctx.actor(),
                args.account,
                args.extension,
                permissions=_extension_permissions(args),
                suspended=_on_off(args.suspended, "suspended"),
                fraud_lock=fraud_lock,
            )
            view = extension_cos_view(extension)
            headline = (
                f"updated class of service of extension {extension.number} "
                f"in account {extension.account.name}"
            )
    _emit(ctx, view, headline)
    return 0


# -- caller ID ---------------------------------------------------------------------------


def _callerid_add(ctx: CliContext) -> int:
    args = ctx.args
    with ctx.writing() as session:
        verified = add_verified_number(
            session, ctx.actor(), args.account, args.number, note=args.note
        )
        view = verified_view(verified)
    ctx.emit_record(view, f"account {view['account']} may now present {view['number']}")
    return 0


def _callerid_remove(ctx: CliContext) -> int:
    args = ctx.args
    with ctx.writing() as session:
        number = remove_verified_number(session, ctx.actor(), args.account, args.number)
    if ctx.as_json:
        ctx.emit_json({"account": args.account, "number": number, "removed": True})
    else:
        ctx.out.write(f"removed verified number {number} from account {args.account}\n")
    return 0


def _callerid_list(ctx: CliContext) -> int:
    with ctx.reading() as session:
        rows = [verified_view(v) for v in list_verified_numbers(session, ctx.args.account)]
    ctx.emit_rows(rows, VERIFIED_COLUMNS)
    return 0


# -- lists and dial-plan dry run ---------------------------------------------------------


def _lists_load(ctx: CliContext) -> int:
    args = ctx.args
    sources = {
        kind: Path(path)
        for kind, path in (
            (PolicyList.HIGH_RISK, args.high_risk),
            (PolicyList.EMBARGO, args.embargo),
        )
        if path is not None
    }
    if not sources:
        raise InvalidInput("give --high-risk FILE, --embargo FILE or both")
    settings = ctx.settings()
    with ctx.writing() as session:
        installed = install_policy_lists(session, ctx.actor(), settings, sources)
    if ctx.as_json:
        ctx.emit_json([item.view() for item in installed])
        return 0
    for item in installed:
        ctx.out.write(f"loaded {item.entries} {item.kind.value} entries into {item.path}\n")
        if item.in_use:
            ctx.out.write("  the switch reads it at start: restart the switch to apply\n")
        else:
            ctx.out.write(
                f'  to use it, set policy.{item.kind.setting} = "{item.path}" (or '
                f"SWITCH_POLICY__{item.kind.setting.upper()}) and restart the switch\n"
            )
    return 0


def _dialplan_check(ctx: CliContext) -> int:
    args = ctx.args
    gate = policy_gate(ctx.settings())
    view = check_dialling(
        ctx.database().engine, gate, args.account, args.extension, args.dialled, args.caller_id
    )
    ctx.emit_record(view)
    return 0


# -- account update options --------------------------------------------------------------


def add_account_dialling_options(parser: argparse.ArgumentParser) -> None:
    """The class-of-service options of ``account update``."""
    parser.add_argument("--caller-id-mode", choices=[m.value for m in CallerIdMode])
    parser.add_argument("--outside-line-prefix", metavar="DIGITS", help="e.g. 9 ('' clears it)")
    parser.add_argument(
        "--home-area-code",
        metavar="NPA",
        help="for 7-digit dialling ('' clears it: the main number's area code is used)",
    )
    parser.add_argument("--fraud-lock", choices=ON_OFF, help="refuse every non-emergency call")


def _given(value: str | None) -> str | Keep | None:
    return KEEP if value is None else (value or None)


def update_account_dialling(ctx: CliContext, session: Session, account: Account) -> None:
    """Apply the dialling options of ``account update``, if any were given."""
    args = ctx.args
    options = (args.caller_id_mode, args.outside_line_prefix, args.home_area_code, args.fraud_lock)
    if all(value is None for value in options):
        return
    set_account_cos(
        session,
        ctx.actor(),
        str(account.id),
        fraud_lock=_on_off(args.fraud_lock, "fraud-lock"),
        caller_id_mode=CallerIdMode(args.caller_id_mode) if args.caller_id_mode else None,
        outside_line_prefix=_given(args.outside_line_prefix),
        home_area_code=_given(args.home_area_code),
    )


def dialling_view(account: Account) -> dict[str, Any]:
    view = account_cos_view(account)
    fields = ("fraud_lock", "caller_id_mode", "outside_line_prefix", "home_area_code")
    return {name: view[name] for name in fields}


# -- registration ------------------------------------------------------------------------


def _register_cos(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("cos", help="class of service of accounts and extensions")
    sub = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = command_parser(sub, "show", _show, "show the class of service of an account or extension")
    p.add_argument("account", metavar="ACCOUNT", help="account name or id")
    p.add_argument("extension", metavar="EXTENSION", nargs="?", help="extension number")

    p = command_parser(sub, "set", _set, "change the class of service")
    p.add_argument("account", metavar="ACCOUNT", help="account name or id")
    p.add_argument("--extension", metavar="EXT", help="change this extension's overrides")
    for option, column in PERMISSION_OPTIONS.items():
        p.add_argument(
            f"--{option}",
            dest=column,
            choices=ON_OFF + OVERRIDES,
            help="on|off for the account; inherit|allow|deny for an extension",
        )
    p.add_argument("--fraud-lock", choices=ON_OFF, help="refuse every non-emergency call")
    p.add_argument("--suspended", choices=ON_OFF, help="extension only: 911 and call-backs only")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _register_cos(commands)

    group = commands.add_parser("callerid", help="caller numbers an account has verified")
    sub = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    number_help = "telephone number; national numbers are read as US numbers"
    p = command_parser(sub, "add", _callerid_add, "let an account present a number it verified")
    p.add_argument("account", metavar="ACCOUNT", help="account name or id")
    p.add_argument("number", metavar="NUMBER", help=number_help)
    p.add_argument("--note", metavar="TEXT", help="how ownership was verified")
    p = command_parser(sub, "remove", _callerid_remove, "remove a verified number")
    p.add_argument("account", metavar="ACCOUNT", help="account name or id")
    p.add_argument("number", metavar="NUMBER", help=number_help)
    p = command_parser(sub, "list", _callerid_list, "list an account's verified numbers")
    p.add_argument("account", metavar="ACCOUNT", help="account name or id")

    group = commands.add_parser("lists", help="high-risk and embargoed destination lists")
    sub = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = command_parser(
        sub, "load", _lists_load, "check a list file and install it into the data folder"
    )
    p.add_argument("--high-risk", metavar="FILE", help="high-risk destinations (CSV)")
    p.add_argument("--embargo", metavar="FILE", help="embargoed destinations (CSV)")

    group = commands.add_parser("dialplan", help="how the switch classifies and judges calls")
    sub = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = command_parser(
        sub, "check", _dialplan_check, "dry run: what would happen if the extension dialled this"
    )
    p.add_argument("account", metavar="ACCOUNT", help="account name or id")
    p.add_argument("extension", metavar="EXTENSION", help="extension number")
    p.add_argument("dialled", metavar="DIALLED", help="what the phone dials, e.g. 01144...")
    p.add_argument("--caller-id", metavar="NUMBER", help="the caller ID the phone presents")
