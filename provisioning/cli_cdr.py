"""``switchctl cdr ...``: list, show and export call detail records."""

from __future__ import annotations

import argparse
import contextlib
import os
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from provisioning.cli_common import CliContext, command_parser, positive_int
from provisioning.errors import InvalidInput, NotFound
from provisioning.lookup import find_account
from switch.cdr.export import CSV_COLUMNS, format_time, write_csv
from switch.cdr.record import CallRecord
from switch.cdr.store import get_record, recent_records, records_between, records_by_call_id

LIST_COLUMNS = (
    "id",
    "start_time",
    "direction",
    "caller_presented",
    "destination",
    "disposition",
    "duration_seconds",
    "billable_seconds",
)
DEFAULT_LIMIT = 20


def record_view(record: CallRecord) -> dict[str, Any]:
    """Every field, in CSV column order, with times as in the CSV."""
    view: dict[str, Any] = {}
    for column in CSV_COLUMNS:
        if column == "duration_seconds":
            view[column] = round(record.duration_seconds, 3)
        elif column == "billable_seconds":
            view[column] = record.billable_seconds
        else:
            value = getattr(record, column)
            if isinstance(value, datetime):
                value = format_time(value)
            elif column == "flags":
                value = list(value)
            elif isinstance(value, Enum):
                value = value.value
            view[column] = value
    return view


def parse_when(text: str, option: str) -> datetime:
    """A date (midnight) or ISO 8601 time; without an offset it is UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{option}: expected a date or ISO 8601 time, got {text!r}") from None
    if value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _write_file(
    path: Path, session: Session, account_id: int, start: datetime, end: datetime
) -> int:
    # Written beside the target and renamed: a reader never sees half an export.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8", newline="") as handle:
            count = write_csv(records_between(session, account_id, start, end), handle)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise InvalidInput(f"cannot write {path}: {exc.strerror or exc}") from exc
    return count


def _export(ctx: CliContext) -> int:
    args = ctx.args
    start = parse_when(args.start, "--from")
    end = parse_when(args.end, "--to")
    if end <= start:
        raise InvalidInput("--to must be later than --from")
    with ctx.reading() as session:
        account = find_account(session, args.account)
        if args.output is None:
            write_csv(records_between(session, account.id, start, end), ctx.out)
            return 0
        count = _write_file(Path(args.output), session, account.id, start, end)
    if ctx.as_json:
        ctx.emit_json(
            {
                "account": account.name,
                "from": format_time(start),
                "to": format_time(end),
                "records": count,
                "output": args.output,
            }
        )
    else:
        ctx.out.write(f"exported {count} call record(s) of {account.name} to {args.output}\n")
    return 0


def _list(ctx: CliContext) -> int:
    args = ctx.args
    with ctx.reading() as session:
        account_id = find_account(session, args.account).id if args.account else None
        rows = [record_view(r) for r in recent_records(session, account_id, args.limit)]
    ctx.emit_rows(rows, LIST_COLUMNS)
    return 0


def _find(session: Session, reference: str) -> CallRecord:
    record = get_record(session, reference)
    if record is not None:
        return record
    legs = records_by_call_id(session, reference)
    if len(legs) == 1:
        return legs[0]
    if legs:
        raise InvalidInput(f"Call-ID {reference!r} has {len(legs)} call records; give a record id")
    raise NotFound(f"unknown call record {reference!r}")


def _show(ctx: CliContext) -> int:
    with ctx.reading() as session:
        view = record_view(_find(session, ctx.args.id))
    ctx.emit_record(view)
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("cdr", help="call detail records")
    sub = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    when = "a date (YYYY-MM-DD) or ISO 8601 time; UTC unless it has an offset"

    p = command_parser(sub, "export", _export, "write an account's call records as CSV")
    p.add_argument("--account", required=True, metavar="A", help="account name or id")
    p.add_argument("--from", dest="start", required=True, metavar="WHEN", help=f"{when}; included")
    p.add_argument("--to", dest="end", required=True, metavar="WHEN", help=f"{when}; excluded")
    p.add_argument("--output", metavar="FILE", help="write to FILE instead of standard output")

    p = command_parser(sub, "list", _list, "list recent call records, newest first")
    p.add_argument("--account", metavar="A", help="only this account's calls")
    p.add_argument("--limit", type=positive_int, default=DEFAULT_LIMIT, metavar="N")

    p = command_parser(sub, "show", _show, "show one call record")
    p.add_argument("id", metavar="ID", help="record id, or a Call-ID with a single record")
