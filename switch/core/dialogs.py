"""Dialogs the switch record-routes: who is on each side and where to reach them (NAT)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from switch.cdr.record import CallRecord
from switch.transport.peer import Peer


class DialogState(StrEnum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


@dataclass(eq=False)
class Dialog:
    call_id: str
    caller_tag: str
    caller_peer: Peer
    caller_target: str  # the caller's Contact URI
    caller_from: str  # From header value as the caller sent it
    caller_to: str  # To header value of the INVITE (no tag)
    callee_peer: Peer
    callee_target: str = ""
    callee_tag: str = ""
    state: DialogState = DialogState.EARLY
    record: CallRecord | None = None
    answered_at: float = 0.0  # monotonic-free wall time (time.time())
    last_alive: float = 0.0  # last proof both sides still know the call
    caller_cseq: int = 0  # highest CSeq seen from the caller
    callee_cseq: int = 0  # highest CSeq seen from the callee
    probe_failures: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    def from_caller(self, from_tag: str | None) -> bool:
        return from_tag == self.caller_tag

    def note_cseq(self, from_tag: str | None, seq: int) -> None:
        if self.from_caller(from_tag):
            self.caller_cseq = max(self.caller_cseq, seq)
        else:
            self.callee_cseq = max(self.callee_cseq, seq)


class DialogTable:
    def __init__(self) -> None:
        self._by_call_id: dict[str, Dialog] = {}

    def add(self, dialog: Dialog) -> None:
        self._by_call_id[dialog.call_id] = dialog

    def get(self, call_id: str) -> Dialog | None:
        return self._by_call_id.get(call_id)

    def find(self, call_id: str, from_tag: str | None, to_tag: str | None) -> Dialog | None:
        """The dialog of an in-dialog request, whichever side sent it."""
        dialog = self._by_call_id.get(call_id)
        if dialog is None:
            return None
        if {from_tag, to_tag} != {dialog.caller_tag, dialog.callee_tag}:
            return None
        return dialog

    def remove(self, call_id: str) -> Dialog | None:
        return self._by_call_id.pop(call_id, None)

    def __iter__(self) -> Iterator[Dialog]:
        return iter(list(self._by_call_id.values()))

    def __len__(self) -> int:
        return len(self._by_call_id)

    def count(self, state: DialogState) -> int:
        return sum(1 for d in self._by_call_id.values() if d.state is state)
