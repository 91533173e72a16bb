"""CSV export: the documented header, range and account selection, exact round trip."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from provisioning.db import Database
from provisioning.errors import NotFound
from provisioning.models import Account
from switch.cdr.export import CSV_COLUMNS, CsvFormatError, export_csv, read_csv, write_csv
from switch.cdr.record import CallRecord
from switch.cdr.store import CdrStore, OpKind, snapshot

from .records import BASE, finished, started, stored

DOC = Path(__file__).resolve().parents[2] / "docs" / "cdr-csv.md"
HEADER = (
    "id,call_id,parent_call_id,direction,account_id,extension_id,device_id,"
    "caller_presented,caller_asserted,dialled,destination,destination_class,"
    "start_time,answer_time,end_time,duration_seconds,billable_seconds,sip_status,"
    "disposition,hangup_by,closed_by,policy_verdict,policy_rule,policy_reason,trunk,"
    "source_address,user_agent,flags"
)
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def _save(engine: Engine, records: list[CallRecord]) -> None:
    ops = [snapshot(OpKind.FINISH if r.end_time else OpKind.OPEN, r) for r in records]
    CdrStore(engine).apply(ops)


def _accounts(engine: Engine) -> tuple[int, int]:
    with Database(engine).writing() as session:
        acme, other = Account(name="ACME"), Account(name="Other")
        session.add_all([acme, other])
        session.flush()
        return acme.id, other.id


def _export(engine: Engine, account: int | str, days: int = 1) -> str:
    out = io.StringIO()
    with Database(engine).reading() as session:
        export_csv(session, account, BASE, BASE + timedelta(days=days), out)
    return out.getvalue()


def test_header_is_the_documented_one() -> None:
    assert ",".join(CSV_COLUMNS) == HEADER
    documented = re.findall(r"^\| \d+ \| `([a-z_]+)` \|", DOC.read_text(), re.MULTILINE)
    assert tuple(documented) == CSV_COLUMNS


def test_export_has_one_row_per_record_of_the_account_in_range(engine: Engine) -> None:
    acme, other = _accounts(engine)
    inside = [finished(started(n, account_id=acme)) for n in range(3)]
    at_start = started(10, account_id=acme, at=BASE)  # still going on: exported, open
    at_end = started(11, account_id=acme, at=BASE + timedelta(days=1))
    before = finished(started(12, account_id=acme, at=BASE - timedelta(milliseconds=1)))
    foreign = finished(started(13, account_id=other))
    _save(engine, [*inside, at_start, at_end, before, foreign])

    lines = _export(engine, "ACME").splitlines()
    assert lines[0] == HEADER
    rows = list(csv.DictReader(lines))
    assert [row["id"] for row in rows] == [at_start.id] + [r.id for r in inside]
    assert rows[0]["end_time"] == "" and rows[0]["billable_seconds"] == "0"
    assert rows[1]["start_time"] == "2026-11-10T14:00:00.123Z"
    assert rows[1]["duration_seconds"] == "63.750"
    assert rows[1]["billable_seconds"] == "62"
    for row in rows[1:]:
        assert all(TIME.fullmatch(row[c]) for c in ("start_time", "answer_time", "end_time"))
    assert _export(engine, acme) == _export(engine, "ACME")  # by id as well as by name


def test_export_reads_back_into_the_same_records(engine: Engine) -> None:
    acme, _ = _accounts(engine)
    records = [finished(started(n, account_id=acme)) for n in range(5)]
    records.append(started(99, account_id=acme))
    odd = records[2]
    odd.caller_presented = '=HYPERLINK("http://198.51.100.1","call")'
    odd.user_agent = 'Phone "X", v2\nsecond line'
    odd.policy_reason = "'-already quoted"
    odd.flags = []
    _save(engine, records)

    text = _export(engine, "ACME")
    assert "'=HYPERLINK" in text  # inert in a spreadsheet
    assert ",+12125550199," in text  # plain numbers are left alone
    assert list(read_csv(io.StringIO(text, newline=""))) == sorted(
        stored(engine).values(), key=lambda r: (r.start_time, r.id)
    )


def test_unknown_account_is_refused(engine: Engine) -> None:
    _accounts(engine)
    with pytest.raises(NotFound, match="unknown account 'Nobody'"):
        _export(engine, "Nobody")


def test_reader_ignores_columns_added_later() -> None:
    record = finished(started(1))
    out = io.StringIO()
    write_csv([snapshot(OpKind.FINISH, record).record], out)
    header, row = out.getvalue().splitlines()
    extended = [f"{header},future_column", f"{row},something"]
    [back] = read_csv(extended)
    assert back == snapshot(OpKind.FINISH, record).record


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda h, r: ["id,call_id", r], "missing parent_call_id"),
        (lambda h, r: [h, r.replace(".123Z", ".123")], "line 2: time without a UTC offset"),
        (lambda h, r: [h, r.replace("outbound", "sideways")], "line 2: 'sideways'"),
        (lambda h, r: [h, r + ",extra"], "line 2: 29 cells, expected 28"),
        (lambda h, r: [], "no header"),
    ],
)
def test_reader_reports_what_is_wrong(
    mangle: Callable[[str, str], list[str]], message: str
) -> None:
    out = io.StringIO()
    write_csv([started(1)], out)
    header, row = out.getvalue().splitlines()
    with pytest.raises(CsvFormatError, match=message):
        list(read_csv(mangle(header, row)))
