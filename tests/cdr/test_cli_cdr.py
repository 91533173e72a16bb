"""``switchctl cdr export|list|show``, run in-process."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from provisioning.cli import main
from provisioning.db import Database, make_engine, migrate
from provisioning.models import Account
from switch.cdr.export import read_csv
from switch.cdr.record import CallRecord
from switch.cdr.store import CdrStore, OpKind, snapshot
from tests.support.databases import database_url

from .records import BASE, finished, started, stored


@dataclass(slots=True)
class Result:
    status: int
    out: str
    err: str


Run = Callable[..., Result]


def _fill(engine: Engine) -> list[CallRecord]:
    """Eight ACME calls a minute apart from BASE (the last still going on), one of Other."""
    with Database(engine).writing() as session:
        acme, other = Account(name="ACME"), Account(name="Other")
        session.add_all([acme, other])
        session.flush()
        acme_id, other_id = acme.id, other.id
    records = [
        finished(started(n, account_id=acme_id, at=BASE + timedelta(minutes=n))) for n in range(7)
    ]
    records.append(started(7, account_id=acme_id, at=BASE + timedelta(minutes=7)))
    records.append(finished(started(8, account_id=other_id)))
    ops = [snapshot(OpKind.FINISH if r.end_time else OpKind.OPEN, r) for r in records]
    CdrStore(engine).apply(ops)
    return records


@dataclass(slots=True)
class Filled:
    url: str
    calls: list[CallRecord]
    stored: dict[str, CallRecord]


# These commands only read, so one database per backend serves the whole module.
@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def filled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Filled]:
    with database_url(request.param, tmp_path_factory.mktemp("cli")) as url:
        migrate(url)
        engine = make_engine(url)
        try:
            records = _fill(engine)
            everything = stored(engine)
        finally:
            engine.dispose()
        yield Filled(url, records, everything)


@pytest.fixture
def calls(filled: Filled) -> list[CallRecord]:
    return filled.calls


@pytest.fixture
def switchctl(filled: Filled) -> Run:
    def run(*argv: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        status = main(["--database-url", filled.url, *argv], stdout=out, stderr=err)
        return Result(status, out.getvalue(), err.getvalue())

    return run


def test_export_to_standard_output(switchctl: Run, calls: list[CallRecord]) -> None:
    result = switchctl(
        "cdr", "export", "--account", "ACME", "--from", "2026-11-10", "--to", "2026-11-10T14:03:00Z"
    )
    assert (result.status, result.err) == (0, "")
    exported = list(read_csv(io.StringIO(result.out, newline="")))
    assert [r.id for r in exported] == [r.id for r in calls[:3]]


def test_export_to_a_file(
    switchctl: Run, calls: list[CallRecord], filled: Filled, tmp_path: Path
) -> None:
    target = tmp_path / "acme.csv"
    result = switchctl(
        "--json",
        "cdr",
        "export",
        "--account",
        "ACME",
        "--from",
        "2026-11-01",
        "--to",
        "2026-12-01",
        "--output",
        str(target),
    )
    assert result.status == 0
    assert json.loads(result.out) == {
        "account": "ACME",
        "from": "2026-11-01T00:00:00.000Z",
        "to": "2026-12-01T00:00:00.000Z",
        "records": 8,
        "output": str(target),
    }
    with target.open(newline="") as handle:
        exported = list(read_csv(handle))
    assert exported == [filled.stored[r.id] for r in calls[:8]]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_list_shows_recent_calls_newest_first(switchctl: Run, calls: list[CallRecord]) -> None:
    result = switchctl("--json", "cdr", "list", "--account", "ACME", "--limit", "3")
    assert result.status == 0
    rows = json.loads(result.out)
    assert [row["id"] for row in rows] == [calls[7].id, calls[6].id, calls[5].id]
    assert rows[0]["end_time"] is None and rows[1]["billable_seconds"] == 62

    table = switchctl("cdr", "list").out.splitlines()
    assert table[0].split() == [
        "ID",
        "START_TIME",
        "DIRECTION",
        "CALLER_PRESENTED",
        "DESTINATION",
        "DISPOSITION",
        "DURATION_SECONDS",
        "BILLABLE_SECONDS",
    ]
    assert len(table) == 1 + 9  # both accounts, fewer than the default limit


def test_show_by_id_or_call_id(switchctl: Run, calls: list[CallRecord]) -> None:
    by_id = switchctl("--json", "cdr", "show", calls[2].id)
    assert by_id.status == 0
    view = json.loads(by_id.out)
    assert view["id"] == calls[2].id
    assert view["start_time"] == "2026-11-10T14:02:00.000Z"
    assert view["flags"] == ["e911-location-fallback"]
    assert view["disposition"] == "answered"
    by_call_id = switchctl("--json", "cdr", "show", calls[2].call_id)
    assert json.loads(by_call_id.out) == view
    lines = switchctl("cdr", "show", calls[2].id).out.splitlines()
    assert ["call_id", calls[2].call_id] in [line.split(None, 1) for line in lines]


BAD_INPUT = [
    (("cdr", "show", "f" * 32), f"unknown call record '{'f' * 32}'"),
    (("cdr", "list", "--account", "Nobody"), "unknown account 'Nobody'"),
    (
        ("cdr", "export", "--account", "ACME", "--from", "yesterday", "--to", "2026-12-01"),
        "--from: expected a date or ISO 8601 time, got 'yesterday'",
    ),
    (
        ("cdr", "export", "--account", "ACME", "--from", "2026-12-01", "--to", "2026-11-01"),
        "--to must be later than --from",
    ),
    (
        ("cdr", "export", "--account", "Nobody", "--from", "2026-11-01", "--to", "2026-12-01"),
        "unknown account 'Nobody'",
    ),
]


def test_bad_input_is_one_line_and_a_failure(switchctl: Run, calls: list[CallRecord]) -> None:
    # One database for all cases: setting one up costs more than the commands.
    for argv, message in BAD_INPUT:
        result = switchctl(*argv)
        assert (result.status, result.out, result.err) == (2, "", f"switchctl: error: {message}\n")


def test_export_to_a_folder_that_does_not_exist(
    switchctl: Run, calls: list[CallRecord], tmp_path: Path
) -> None:
    target = tmp_path / "no" / "such" / "folder" / "acme.csv"
    result = switchctl(
        "cdr",
        "export",
        "--account",
        "ACME",
        "--from",
        "2026-11-01",
        "--to",
        "2026-12-01",
        "--output",
        str(target),
    )
    assert result.status == 2
    assert result.err.startswith(f"switchctl: error: cannot write {target}: ")
    assert result.err.count("\n") == 1


def test_unreachable_database(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    url = "postgresql+psycopg://postgres@127.0.0.1:1/test"
    status = main(["--database-url", url, "cdr", "list"], stdout=out, stderr=err)
    assert status == 1
    assert err.getvalue().startswith("switchctl: error: cannot reach database")
