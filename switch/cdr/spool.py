"""The local spool: call-record operations that could not reach the database yet.

``cdr-spool.jsonl`` in the data folder holds one JSON object per line, in the
order the operations were made; every append is fsync'd before it returns, so
an operation the writer has spooled survives the process being killed.

Replay renames the file to ``cdr-spool.jsonl.replaying`` first: operations
spooled meanwhile start a fresh file behind it, and a crash during replay
leaves the renamed file to be replayed again (writes are idempotent). A line
cut short by a crash is repaired at start; lines that cannot be read, and
operations the database refuses outright, go to ``cdr-rejected.jsonl`` for an
operator to inspect instead of blocking the spool forever.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from .record import CallRecord, ClosedBy, Direction, Disposition, HangupBy
from .store import RECORD_FIELDS, CdrOp, OpKind

log = logging.getLogger(__name__)

SPOOL_NAME = "cdr-spool.jsonl"
REPLAYING_SUFFIX = ".replaying"
REJECTED_NAME = "cdr-rejected.jsonl"
FORMAT_VERSION = 1
_TAIL_CHUNK = 65536
_TIMES = frozenset({"start_time", "answer_time", "end_time"})
_ENUMS: dict[str, Any] = {
    "direction": Direction,
    "disposition": Disposition,
    "hangup_by": HangupBy,
    "closed_by": ClosedBy,
}


class SpoolCorrupt(ValueError):
    """A spool line that is not a readable operation."""


def record_to_json(record: CallRecord) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in RECORD_FIELDS:
        value = getattr(record, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        data[name] = value
    data["flags"] = list(record.flags)
    return data


def record_from_json(data: dict[str, Any]) -> CallRecord:
    values: dict[str, Any] = {}
    for name in RECORD_FIELDS:
        if name not in data:
            continue  # written by an older version: the field's default applies
        value = data[name]
        if value is not None and name in _TIMES:
            value = datetime.fromisoformat(value)
        elif value is not None and name in _ENUMS:
            value = _ENUMS[name](value)
        values[name] = value
    return CallRecord(**values)


def encode_op(op: CdrOp) -> str:
    """One spool line, newline included. ASCII-only, so any byte cut is detectable."""
    body = {"v": FORMAT_VERSION, "op": op.kind.value, "record": record_to_json(op.record)}
    return json.dumps(body, separators=(",", ":")) + "\n"


def decode_op(line: str) -> CdrOp:
    try:
        body = json.loads(line)
        if body.get("v") != FORMAT_VERSION:
            raise SpoolCorrupt(f"unknown spool format version {body.get('v')!r}")
        return CdrOp(OpKind(body["op"]), record_from_json(body["record"]))
    except SpoolCorrupt:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SpoolCorrupt(f"unreadable spool line: {exc}") from exc


def _fsync_folder(folder: Path) -> None:
    # Makes a create, rename or unlink itself durable (POSIX); not possible everywhere.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass(slots=True)
class Chunk:
    """Operations read from a spool file, and the byte offset just after them.

    ``unreadable`` holds (line, reason) pairs; the caller sets them aside once
    the chunk is written, so that a failed attempt does not set them aside twice.
    """

    ops: list[CdrOp]
    end: int
    at_eof: bool
    unreadable: list[tuple[str, str]] = field(default_factory=list)


class Spool:
    """Append-only operation log; safe to call from several threads."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.folder = data_dir
        self.path = data_dir / SPOOL_NAME
        self.replaying_path = data_dir / (SPOOL_NAME + REPLAYING_SUFFIX)
        self.rejected_path = data_dir / REJECTED_NAME
        self._lock = threading.Lock()
        self._repair(self.path)
        self._repair(self.replaying_path)
        self._spooled = self._count(self.path)
        self._replaying = self._count(self.replaying_path)
        # Kept in memory so that the event loop never has to ask the file system.
        self._has_spool = self.path.exists()
        self._has_replaying = self.replaying_path.exists()

    @property
    def size(self) -> int:
        """Operations waiting in the spool (metric)."""
        return self._spooled + self._replaying

    @property
    def pending(self) -> bool:
        return self._has_spool or self._has_replaying

    def append(self, ops: Sequence[CdrOp]) -> None:
        """Durably append ``ops``; when this returns they survive a crash."""
        if not ops:
            return
        data = "".join(encode_op(op) for op in ops).encode("ascii")
        with self._lock:
            created = not self.path.exists()
            with self.path.open("ab") as handle:
                start = handle.seek(0, os.SEEK_END)
                try:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                except OSError:
                    # A half-written line would swallow the next append's first line.
                    with contextlib.suppress(OSError):
                        handle.truncate(start)
                    raise
            if created:
                _fsync_folder(self.folder)
            self._has_spool = True
            self._spooled += len(ops)

    def take_for_replay(self) -> Path | None:
        """The file to replay next: an unfinished replay first, else the spool, renamed."""
        with self._lock:
            if self._has_replaying:
                return self.replaying_path
            if not self._has_spool:
                return None
            os.replace(self.path, self.replaying_path)
            _fsync_folder(self.folder)
            self._has_spool, self._has_replaying = False, True
            self._replaying, self._spooled = self._spooled, 0
            return self.replaying_path

    def read_chunk(self, path: Path, start: int, limit: int) -> Chunk:
        """Up to ``limit`` operations (or unreadable lines) from byte offset ``start``."""
        chunk = Chunk([], start, at_eof=False)
        with path.open("rb") as handle:
            handle.seek(start)
            for _ in range(limit):
                raw = handle.readline()
                if not raw:
                    chunk.at_eof = True
                    break
                try:
                    chunk.ops.append(decode_op(raw.decode("ascii")))
                except (SpoolCorrupt, UnicodeDecodeError) as exc:
                    chunk.unreadable.append((raw.decode("ascii", "replace"), str(exc)))
            chunk.end = handle.tell()
            chunk.at_eof = chunk.at_eof or not handle.read(1)
        return chunk

    def replayed(self, count: int) -> None:
        """``count`` operations of the file being replayed reached the database."""
        with self._lock:
            self._replaying = max(0, self._replaying - count)

    def finish_replay(self) -> None:
        """All of the file being replayed is in the database: drop it."""
        with self._lock:
            self.replaying_path.unlink(missing_ok=True)
            _fsync_folder(self.folder)
            self._has_replaying = False
            self._replaying = 0

    def reject(self, ops: Iterable[CdrOp], reason: str) -> None:
        """Set aside operations the database refuses, with the reason, for an operator."""
        lines = [
            json.dumps({"reason": reason, "op": json.loads(encode_op(op))}) + "\n" for op in ops
        ]
        self._append_rejected(lines)

    def reject_line(self, line: str, reason: str) -> None:
        self._append_rejected([json.dumps({"reason": reason, "line": line.rstrip("\n")}) + "\n"])

    def finished_ids(self) -> set[str]:
        """Ids of records finished somewhere in the spool (recovery must leave them alone)."""
        ids: set[str] = set()
        for path in (self.replaying_path, self.path):
            if not path.exists():
                continue
            with path.open("rb") as handle:
                for raw in handle:
                    try:
                        op = decode_op(raw.decode("ascii"))
                    except (SpoolCorrupt, UnicodeDecodeError):
                        continue
                    if op.kind is OpKind.FINISH:
                        ids.add(op.record.id)
        return ids

    def _append_rejected(self, lines: list[str]) -> None:
        log.error("%d call record operation(s) set aside in %s", len(lines), self.rejected_path)
        with self._lock, self.rejected_path.open("a", encoding="utf-8") as handle:
            handle.writelines(lines)
            handle.flush()
            os.fsync(handle.fileno())

    @staticmethod
    def _count(path: Path) -> int:
        if not path.exists():
            return 0
        with path.open("rb") as handle:
            return sum(1 for _ in handle)

    def _repair(self, path: Path) -> None:
        """Finish or cut off a last line left incomplete by a crash mid-append."""
        if not path.exists():
            return
        with path.open("r+b") as handle:
            size = handle.seek(0, os.SEEK_END)
            cut = _last_line_start(handle, size)
            if cut == size:
                return
            handle.seek(cut)
            tail = handle.read()
            try:
                decode_op(tail.decode("ascii"))
            except (SpoolCorrupt, UnicodeDecodeError):
                log.warning("dropping %d bytes of an unfinished spool write", len(tail))
                handle.truncate(cut)
            else:  # complete but for its newline
                handle.write(b"\n")
            handle.flush()
            os.fsync(handle.fileno())


def _last_line_start(handle: BinaryIO, size: int) -> int:
    """Offset just after the last newline (0 if none); ``size`` when the file ends with one."""
    position = size
    while position > 0:
        start = max(0, position - _TAIL_CHUNK)
        handle.seek(start)
        block = handle.read(position - start)
        index = block.rfind(b"\n")
        if index >= 0:
            return start + index + 1
        position = start
    return 0
