"""``switchctl migrate``, ``switchctl demo`` and ``switchctl audit list``."""

from __future__ import annotations

import argparse

from provisioning.audit import DEFAULT_AUDIT_LIMIT, Entity, list_entries
from provisioning.cli_common import CliContext, command_parser, positive_int
from provisioning.db import migrate
from provisioning.demo import DEMO_ACCOUNT, ensure_demo
from provisioning.views import audit_view

AUDIT_COLUMNS = ("id", "at", "actor", "action", "entity", "entity_id", "reason", "details")


def _migrate(ctx: CliContext) -> int:
    before, after = migrate(ctx.database(check_schema=False))
    if ctx.as_json:
        ctx.emit_json({"before": before, "after": after, "changed": before != after})
    elif before == after:
        ctx.out.write(f"database already at revision {after}\n")
    else:
        ctx.out.write(f"database migrated from revision {before or '(empty)'} to {after}\n")
    return 0


def _registrar_address(ctx: CliContext) -> tuple[str, str, int]:
    settings = ctx.settings()
    first = settings.sip.listen[0]
    return first.transport.value, settings.advertised_host, first.port


def _demo(ctx: CliContext) -> int:
    settings = ctx.settings()
    database = ctx.database(check_schema=False)
    migrate(database)
    realm = settings.sip.realm
    with ctx.writing() as session:
        credentials = ensure_demo(session, ctx.actor(), realm)
    transport, host, port = _registrar_address(ctx)
    shown_host = f"[{host}]" if ":" in host else host
    if ctx.as_json:
        ctx.emit_json(
            {
                "account": DEMO_ACCOUNT,
                "realm": realm,
                "registrar": {"transport": transport, "host": host, "port": port},
                "credentials": [
                    {"extension": c.extension, "username": c.username, "password": c.password}
                    for c in credentials
                ],
            }
        )
        return 0
    lines = [
        f"demo account '{DEMO_ACCOUNT}' is ready; passwords are new on every run",
        f"  realm      {realm}",
        f"  registrar  {shown_host}:{port} ({transport})",
    ]
    lines += [
        f"  extension {c.extension}: username {c.username}  password {c.password}"
        for c in credentials
    ]
    ctx.out.write("\n".join(lines) + "\n")
    return 0


def _audit_list(ctx: CliContext) -> int:
    args = ctx.args
    with ctx.reading() as session:
        rows = [audit_view(e) for e in list_entries(session, entity=args.entity, limit=args.limit)]
    ctx.emit_rows(rows, AUDIT_COLUMNS)
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command_parser(
        commands, "migrate", _migrate, "create or upgrade the database schema (safe to repeat)"
    )
    command_parser(
        commands,
        "demo",
        _demo,
        "set up a demo account with two softphones and print their credentials",
    )

    group = commands.add_parser("audit", help="the audit log of provisioning changes")
    sub = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = command_parser(sub, "list", _audit_list, "list audit entries, newest first")
    p.add_argument("--entity", choices=[e.value for e in Entity])
    p.add_argument("--limit", metavar="N", type=positive_int, default=DEFAULT_AUDIT_LIMIT)
