"""Storing call records: every field, batches, idempotent replays, refused records."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from provisioning.models import all_tables
from switch.cdr.record import CallRecord
from switch.cdr.store import CdrOp, CdrStore, InvalidRecord, OpKind, coalesce, snapshot

from .records import BASE, finished, started, stored, stored_rows


def _open(record: CallRecord) -> CdrOp:
    return snapshot(OpKind.OPEN, record)


def _finish(record: CallRecord) -> CdrOp:
    return snapshot(OpKind.FINISH, record)


def test_call_records_table_matches_the_migration(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, all_tables()) == []
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("call_records")}
    assert indexes["ix_call_records_account_id_start_time"] == ["account_id", "start_time"]
    assert indexes["ix_call_records_call_id"] == ["call_id"]
    assert indexes["ix_call_records_open"] == ["start_time"]


def test_open_then_finish_stores_one_row_with_every_field(engine: Engine) -> None:
    store = CdrStore(engine)
    record = started(1)
    store.apply([_open(record)])
    assert stored(engine)[record.id].end_time is None

    store.apply([_finish(finished(record))])
    rows = stored_rows(engine)
    assert list(rows) == [record.id]
    expected = dataclasses.replace(
        record,
        start_time=record.start_time.replace(microsecond=123000),
        answer_time=record.answer_time.replace(microsecond=623000),  # type: ignore[union-attr]
        end_time=record.end_time.replace(microsecond=873000),  # type: ignore[union-attr]
    )
    assert stored(engine)[record.id] == expected
    assert rows[record.id]["duration_seconds"] == pytest.approx(63.75)
    assert rows[record.id]["billable_seconds"] == 62  # 61.25 s of talk, started seconds billed
    assert rows[record.id]["start_time"].utcoffset() == timedelta(0)


def test_many_records_in_large_batches(engine: Engine) -> None:
    store = CdrStore(engine)
    records = [started(n) for n in range(1200)]
    for first in range(0, 1200, 500):
        store.apply([_open(r) for r in records[first : first + 500]])
    store.apply([_finish(finished(r)) for r in records[::2]])
    rows = stored(engine)
    assert len(rows) == 1200
    assert sum(1 for r in rows.values() if r.end_time is not None) == 600
    assert rows[records[1].id].end_time is None


def test_replaying_the_same_operations_is_idempotent(engine: Engine) -> None:
    store = CdrStore(engine)
    record = started(3)
    ops = [_open(record), _finish(finished(record))]
    store.apply(ops)
    first = stored_rows(engine)
    store.apply(ops)
    for op in ops:  # and one at a time, as a spool replay after a crash might
        store.apply([op])
    assert stored_rows(engine) == first
    assert len(first) == 1


def test_an_open_replayed_after_its_finish_does_not_reopen(engine: Engine) -> None:
    store = CdrStore(engine)
    record = started(4)
    opened = _open(record)
    done = _finish(finished(record))
    store.apply([done])
    store.apply([opened])
    store.apply([done, opened])  # the same order inside one batch
    row = stored(engine)[record.id]
    assert row.end_time is not None
    assert row.disposition is not None and row.disposition.value == "answered"


def test_a_later_finish_replaces_the_earlier_one(engine: Engine) -> None:
    store = CdrStore(engine)
    record = finished(started(5))
    first = _finish(record)
    record.end_time = record.end_time + timedelta(seconds=30)  # type: ignore[operator]
    second = _finish(record)
    store.apply([first, second])
    assert stored_rows(engine)[record.id]["billable_seconds"] == 92


def _update(record: CallRecord) -> CdrOp:
    return snapshot(OpKind.UPDATE, record)


def test_an_update_stores_the_answer_of_a_call_still_going_on(engine: Engine) -> None:
    store = CdrStore(engine)
    opened, lost_open = started(7), started(8)
    store.apply([_open(opened)])
    for record in (opened, lost_open):
        record.answer_time = record.start_time + timedelta(seconds=3)
        record.sip_status = 200
    store.apply([_update(opened), _update(lost_open)])  # the second one's open never arrived
    store.apply([_open(opened)])  # a replayed open does not undo the answer
    rows = stored(engine)
    for record in (opened, lost_open):
        assert rows[record.id].answer_time == record.start_time.replace(microsecond=123000) + (
            timedelta(seconds=3)
        )
        assert rows[record.id].end_time is None


def test_an_update_never_touches_a_finished_row(engine: Engine) -> None:
    store = CdrStore(engine)
    record = finished(started(9))
    done = _finish(record)
    stale = _update(dataclasses.replace(record, end_time=None, disposition=None, sip_status=183))
    store.apply([done])
    store.apply([stale])
    store.apply([done, stale])  # in one batch as well
    row = stored(engine)[record.id]
    assert (row.sip_status, row.end_time) == (200, done.record.end_time)


def test_coalesce_keeps_the_net_effect_per_record() -> None:
    a, b, c = started(1), started(2), started(3)
    d = started(4)
    ops = [_open(a), _open(b), _finish(finished(b)), _finish(finished(c)), _open(c)]
    ops += [_open(d), _update(d), _open(d)]
    opens, updates, finishes = coalesce(ops)
    assert [r.id for r in opens] == [a.id]
    assert [r.id for r in updates] == [d.id]
    assert sorted(r.id for r in finishes) == sorted([b.id, c.id])


def test_snapshot_is_a_private_copy() -> None:
    record = started(1)
    op = _open(record)
    record.flags.append("later")
    record.destination = "+33100000000"
    assert op.record.flags == ["e911-location-fallback"]
    assert op.record.destination == "+12125550199"
    assert op.record.start_time.microsecond == 123000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "not-a-uuid"}, "32 lowercase hex"),
        ({"call_id": ""}, "no Call-ID"),
        ({"start_time": BASE.replace(tzinfo=None)}, "naive"),
        ({"flags": ["two words"]}, "malformed flags"),
        ({"flags": ["a;b"]}, "malformed flags"),
    ],
)
def test_malformed_records_are_refused_up_front(change: dict[str, object], message: str) -> None:
    record = dataclasses.replace(started(1), **change)  # type: ignore[arg-type]
    with pytest.raises(InvalidRecord, match=message):
        _open(record)


def test_a_finish_needs_an_end_and_a_disposition() -> None:
    with pytest.raises(InvalidRecord, match="end_time and disposition"):
        _finish(started(1))


def test_text_the_database_would_refuse_is_cleaned(engine: Engine) -> None:
    record = started(6)
    record.user_agent = "evil\x00agent \udcff"
    record.caller_presented = ""
    CdrStore(engine).apply([_open(record)])
    row = stored(engine)[record.id]
    assert row.user_agent == "evil\ufffdagent ?"
    assert row.caller_presented is None
