"""Blocking database operations on call records; the writer runs them in a worker thread.

Every write is an idempotent upsert keyed by the record id, so a batch can be
replayed any number of times (from the spool, after a crash) with one result:

* ``OPEN`` inserts the row unless it exists; it never touches an existing row,
  so an open replayed after its finish cannot reopen the call.
* ``UPDATE`` (the call was answered) inserts the row or overwrites an existing one
  that is still open; a finished row is never touched.
* ``FINISH`` inserts the row or overwrites every field of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Engine, Insert, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from provisioning.cdr_models import CallRecordRow, to_milliseconds
from provisioning.db import Database

from .record import CallRecord

CALL_RECORDS = cast(Table, CallRecordRow.__table__)
_ID = re.compile(r"[0-9a-f]{32}")
# Flags travel as one ';'-separated CSV cell, so they are plain tokens.
_FLAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]*")
_OPTIONAL_TEXT = (
    "parent_call_id",
    "caller_presented",
    "caller_asserted",
    "dialled",
    "destination",
    "destination_class",
    "policy_verdict",
    "policy_rule",
    "policy_reason",
    "trunk",
    "source_address",
    "user_agent",
)
_TIMES = ("start_time", "answer_time", "end_time")
RECORD_FIELDS = tuple(f.name for f in fields(CallRecord))


class InvalidRecord(ValueError):
    """A record the pipeline refuses up front (a bug in its producer, not an outage)."""


class UnsupportedDatabase(RuntimeError):
    """Upserts are written for SQLite and PostgreSQL only."""


class OpKind(StrEnum):
    OPEN = "open"
    UPDATE = "update"
    FINISH = "finish"


@dataclass(frozen=True, slots=True)
class CdrOp:
    """One write: a private snapshot of the record taken when it was queued."""

    kind: OpKind
    record: CallRecord


def _clean_text(value: str) -> str:
    # PostgreSQL refuses NUL and lone surrogates; one such call must not poison a batch.
    if value.isascii() and "\x00" not in value:
        return value
    value = value.replace("\x00", "\ufffd")
    return value.encode("utf-8", "replace").decode("utf-8")


def _check(record: CallRecord, kind: OpKind) -> None:
    if not _ID.fullmatch(record.id):
        raise InvalidRecord(f"record id must be 32 lowercase hex digits: {record.id!r}")
    if not record.call_id:
        raise InvalidRecord(f"record {record.id} has no Call-ID")
    for name in _TIMES:
        value: datetime | None = getattr(record, name)
        if value is not None and value.utcoffset() is None:
            raise InvalidRecord(f"record {record.id}: {name} is a naive datetime")
    if kind is OpKind.FINISH and (record.end_time is None or record.disposition is None):
        raise InvalidRecord(f"record {record.id} finished without end_time and disposition")
    bad = [flag for flag in record.flags if not _FLAG.fullmatch(flag)]
    if bad:
        raise InvalidRecord(f"record {record.id}: malformed flags {bad!r}")


def snapshot(kind: OpKind, record: CallRecord) -> CdrOp:
    """Validate ``record`` and copy it as stored: times cut to milliseconds, empty text as None.

    The copy matters: the proxy keeps changing its record after handing it over.
    """
    _check(record, kind)
    changes: dict[str, Any] = {"flags": list(record.flags), "call_id": _clean_text(record.call_id)}
    for name in _TIMES:
        value = getattr(record, name)
        changes[name] = None if value is None else to_milliseconds(value)
    for name in _OPTIONAL_TEXT:
        value = getattr(record, name)
        changes[name] = _clean_text(value) if value else None
    return CdrOp(kind, replace(record, **changes))


def row_values(record: CallRecord) -> dict[str, Any]:
    """Column values of ``record``, including the computed duration and billable seconds."""
    values = {name: getattr(record, name) for name in RECORD_FIELDS}
    values["flags"] = list(record.flags)
    values["duration_seconds"] = round(record.duration_seconds, 3)
    values["billable_seconds"] = record.billable_seconds
    return values


def record_from_row(row: CallRecordRow) -> CallRecord:
    return CallRecord(**{name: getattr(row, name) for name in RECORD_FIELDS})


def coalesce(
    ops: Sequence[CdrOp],
) -> tuple[list[CallRecord], list[CallRecord], list[CallRecord]]:
    """(records to open, to update, to finish): the net effect of ``ops`` applied in order.

    Per id that is the last finish if there is one, else the last update, else the
    first open. A single statement must not touch one row twice (PostgreSQL refuses it).
    """
    opens: dict[str, CallRecord] = {}
    updates: dict[str, CallRecord] = {}
    finishes: dict[str, CallRecord] = {}
    for op in ops:
        key = op.record.id
        if op.kind is OpKind.FINISH:
            finishes[key] = op.record
            opens.pop(key, None)
            updates.pop(key, None)
        elif key in finishes:
            continue
        elif op.kind is OpKind.UPDATE:
            updates[key] = op.record
            opens.pop(key, None)
        elif key not in updates:
            opens.setdefault(key, op.record)
    return list(opens.values()), list(updates.values()), list(finishes.values())


def _insert(dialect: str) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(CALL_RECORDS)
    if dialect == "sqlite":
        return sqlite.insert(CALL_RECORDS)
    raise UnsupportedDatabase(f"call records need SQLite or PostgreSQL, not {dialect}")


def _open_statement(dialect: str) -> Insert:
    statement: Insert = _insert(dialect).on_conflict_do_nothing(index_elements=["id"])
    return statement


def _finish_statement(dialect: str) -> Insert:
    base = _insert(dialect)
    columns = [c.name for c in CALL_RECORDS.columns if c.name != "id"]
    statement: Insert = base.on_conflict_do_update(
        index_elements=["id"], set_={name: base.excluded[name] for name in columns}
    )
    return statement


def _update_statement(dialect: str) -> Insert:
    base = _insert(dialect)
    columns = [c.name for c in CALL_RECORDS.columns if c.name != "id"]
    statement: Insert = base.on_conflict_do_update(
        index_elements=["id"],
        set_={name: base.excluded[name] for name in columns},
        where=CALL_RECORDS.c.end_time.is_(None),
    )
    return statement


class CdrStore:
    """Writes batches of operations, each batch in one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._database = Database(engine)
        dialect = engine.dialect.name
        self._open = _open_statement(dialect)
        self._update = _update_statement(dialect)
        self._finish = _finish_statement(dialect)

    def apply(self, ops: Sequence[CdrOp]) -> None:
        opens, updates, finishes = coalesce(ops)
        if not opens and not updates and not finishes:
            return
        with self._database.writing() as session:
            if opens:
                session.execute(self._open, [row_values(r) for r in opens])
            if updates:
                session.execute(self._update, [row_values(r) for r in updates])
            if finishes:
                session.execute(self._finish, [row_values(r) for r in finishes])

    def get(self, record_id: str) -> CallRecord | None:
        with self._database.reading() as session:
            return get_record(session, record_id)


def get_record(session: Session, record_id: str) -> CallRecord | None:
    row = session.get(CallRecordRow, record_id)
    return None if row is None else record_from_row(row)


def records_by_call_id(session: Session, call_id: str) -> list[CallRecord]:
    rows = session.scalars(
        select(CallRecordRow)
        .where(CallRecordRow.call_id == call_id)
        .order_by(CallRecordRow.start_time, CallRecordRow.id)
    )
    return [record_from_row(r) for r in rows]


def recent_records(session: Session, account_id: int | None, limit: int) -> list[CallRecord]:
    """The newest ``limit`` records (by start time), of one account or of all."""
    query = select(CallRecordRow)
    if account_id is not None:
        query = query.where(CallRecordRow.account_id == account_id)
    query = query.order_by(CallRecordRow.start_time.desc(), CallRecordRow.id.desc()).limit(limit)
    return [record_from_row(r) for r in session.scalars(query)]


def records_between(
    session: Session, account_id: int, start: datetime, end: datetime, chunk: int = 1000
) -> Iterator[CallRecord]:
    """Records of one account that started in ``[start, end)``, oldest first, streamed."""
    query = (
        select(CallRecordRow)
        .where(
            CallRecordRow.account_id == account_id,
            CallRecordRow.start_time >= start,
            CallRecordRow.start_time < end,
        )
        .order_by(CallRecordRow.start_time, CallRecordRow.id)
        .execution_options(yield_per=chunk)
    )
    for row in session.scalars(query):
        yield record_from_row(row)
