"""What the proxy needs from the CDR pipeline: hand over a record when a call starts and ends."""

from __future__ import annotations

from typing import Protocol

from .record import CallRecord


class CdrSink(Protocol):
    def open(self, record: CallRecord) -> None:
        """The call attempt was accepted; must not block."""

    def update(self, record: CallRecord) -> None:
        """The call was answered: store its state so far; must not block."""

    def finish(self, record: CallRecord) -> None:
        """The record is complete; must not block."""
