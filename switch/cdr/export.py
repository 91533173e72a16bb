"""CSV export of call records, and reading such a file back (see docs/cdr-csv.md).

The header is a stable interface: columns are only ever added at the end.
Cells a spreadsheet would run as a formula get a leading apostrophe, which
:func:`read_csv` removes again, so export and import are exact inverses.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from sqlalchemy.orm import Session

from provisioning.cdr_models import to_milliseconds
from provisioning.lookup import find_account

from .record import CallRecord, ClosedBy, Direction, Disposition, HangupBy
from .store import records_between

CSV_COLUMNS: Final = (
    "id",
    "call_id",
    "parent_call_id",
    "direction",
    "account_id",
    "extension_id",
    "device_id",
    "caller_presented",
    "caller_asserted",
    "dialled",
    "destination",
    "destination_class",
    "start_time",
    "answer_time",
    "end_time",
    "duration_seconds",
    "billable_seconds",
    "sip_status",
    "disposition",
    "hangup_by",
    "closed_by",
    "policy_verdict",
    "policy_rule",
    "policy_reason",
    "trunk",
    "source_address",
    "user_agent",
    "flags",
)
FLAG_SEPARATOR: Final = ";"
_REQUIRED = ("id", "call_id", "direction", "start_time")
_COMPUTED = frozenset({"duration_seconds", "billable_seconds"})
_INTEGERS = frozenset({"account_id", "extension_id", "device_id", "sip_status"})
_TIMES = frozenset({"start_time", "answer_time", "end_time"})
_ENUMS: dict[str, Any] = {
    "direction": Direction,
    "disposition": Disposition,
    "hangup_by": HangupBy,
    "closed_by": ClosedBy,
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9][0-9.]*")


class CsvFormatError(ValueError):
    """A CSV file that is not a call record export; the message names the line."""


def format_time(value: datetime | None) -> str:
    """``2026-11-01T09:30:00.250Z``: UTC, milliseconds, Z."""
    if value is None:
        return ""
    value = to_milliseconds(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.utcoffset() is None:
        raise ValueError(f"time without a UTC offset: {text!r}")
    return value.astimezone(UTC)


def _is_formula(text: str) -> bool:
    # Apostrophes already at the front do not count, so that escaping stays reversible.
    bare = text.lstrip("'")
    return bare.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(bare)


def _escape(text: str) -> str:
    return "'" + text if _is_formula(text) else text


def _unescape(text: str) -> str:
    return text[1:] if text.startswith("'") and _is_formula(text) else text


def _cell(record: CallRecord, column: str) -> str:
    if column == "duration_seconds":
        return f"{record.duration_seconds:.3f}"
    if column == "billable_seconds":
        return str(record.billable_seconds)
    if column == "flags":
        return FLAG_SEPARATOR.join(record.flags)
    value = getattr(record, column)
    if value is None:
        return ""
    if column in _TIMES:
        return format_time(value)
    if column in _ENUMS:
        return str(value.value)
    return _escape(str(value))


def csv_row(record: CallRecord) -> list[str]:
    return [_cell(record, column) for column in CSV_COLUMNS]


def write_csv(records: Iterable[CallRecord], out: TextIO) -> int:
    """Header and one row per record (RFC 4180: CRLF line ends); returns the row count."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for record in records:
        writer.writerow(csv_row(record))
        count += 1
    return count


def export_csv(
    session: Session, account: int | str, start: datetime, end: datetime, out: TextIO
) -> int:
    """Records of ``account`` (id or name) that started in ``[start, end)``, as CSV.

    Raises :class:`provisioning.errors.NotFound` for an unknown account.
    """
    account_id = find_account(session, str(account)).id
    return write_csv(records_between(session, account_id, start, end), out)


def _value(column: str, text: str) -> Any:
    if column == "flags":
        return text.split(FLAG_SEPARATOR) if text else []
    if column == "hangup_by":
        return HangupBy(text)  # "" is a value: the call never connected
    if text == "":
        return None
    if column in _TIMES:
        return parse_time(text)
    if column in _INTEGERS:
        return int(text)
    if column in _ENUMS:
        return _ENUMS[column](text)
    return _unescape(text)


def read_csv(lines: Iterable[str]) -> Iterator[CallRecord]:
    """Records from an export; extra columns (added by newer versions) are ignored.

    ``duration_seconds`` and ``billable_seconds`` are derived from the times,
    so they are not read back.
    """
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise CsvFormatError("empty file: no header")
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise CsvFormatError(f"line 1: not a call record export, missing {', '.join(missing)}")
    positions = {column: header.index(column) for column in CSV_COLUMNS if column not in _COMPUTED}
    for row in reader:
        if not row:
            continue
        if len(row) != len(header):
            raise CsvFormatError(
                f"line {reader.line_num}: {len(row)} cells, expected {len(header)}"
            )
        try:
            values = {c: _value(c, row[i]) for c, i in positions.items()}
        except ValueError as exc:
            raise CsvFormatError(f"line {reader.line_num}: {exc}") from exc
        empty = [c for c in _REQUIRED if values[c] is None]
        if empty:
            raise CsvFormatError(f"line {reader.line_num}: no {', '.join(empty)}")
        yield CallRecord(**values)
