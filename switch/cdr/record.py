"""The call detail record as the switch builds it while a call goes on.

This dataclass is the contract between the proxy (which fills it) and the CDR
pipeline (which stores, spools, recovers and exports it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Direction(StrEnum):
    INBOUND = "inbound"  # from the carrier trunk to an extension
    OUTBOUND = "outbound"  # from a device to the carrier trunk (or an emergency gateway)
    INTERNAL = "internal"  # device to device


class Disposition(StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    CANCELLED = "cancelled"
    FAILED = "failed"
    REJECTED = "rejected"  # refused by the switch itself: policy, auth, limits


class HangupBy(StrEnum):
    CALLER = "caller"
    CALLEE = "callee"
    SWITCH = "switch"  # max call length, dead-call detection, operator or fraud action
    NONE = ""  # the call never connected


class ClosedBy(StrEnum):
    """How the record was finished; anything but SIGNALLING means billable time is bounded."""

    SIGNALLING = "signalling"  # final response, BYE or CANCEL
    TIMEOUT = "timeout"  # dead call detected or maximum call length reached
    RECOVERY = "recovery"  # left open by a crash, closed at the next start
    COMMAND = "command"  # ended by an operator or an automatic action


@dataclass(slots=True)
class CallRecord:
    call_id: str  # SIP Call-ID of the caller's leg
    start_time: datetime  # UTC, when the INVITE was accepted
    direction: Direction
    id: str = field(default_factory=lambda: uuid.uuid4().hex)  # idempotency key
    parent_call_id: str | None = None  # forwarded and transferred legs
    account_id: int | None = None
    extension_id: int | None = None
    device_id: int | None = None
    caller_presented: str | None = None  # From user as the device sent it
    caller_asserted: str | None = None  # P-Asserted-Identity the switch sent
    dialled: str | None = None  # Request-URI user as dialled
    destination: str | None = None  # normalized (E.164 or extension)
    destination_class: str | None = None
    answer_time: datetime | None = None
    end_time: datetime | None = None
    sip_status: int | None = None  # final status towards the caller
    disposition: Disposition | None = None
    hangup_by: HangupBy = HangupBy.NONE
    policy_verdict: str | None = None  # allow, deny, allow_flagged
    policy_rule: str | None = None
    policy_reason: str | None = None
    trunk: str | None = None
    source_address: str | None = None  # transport:host:port of the calling device
    user_agent: str | None = None
    closed_by: ClosedBy | None = None
    flags: list[str] = field(default_factory=list)  # e.g. "e911-location-fallback"

    @property
    def is_open(self) -> bool:
        return self.end_time is None

    @property
    def duration_seconds(self) -> float:
        if self.end_time is None:
            return 0.0
        return max(0.0, (self.end_time - self.start_time).total_seconds())

    @property
    def billable_seconds(self) -> int:
        """Whole seconds from answer to end, rounded up (carriers bill started seconds)."""
        if self.answer_time is None or self.end_time is None:
            return 0
        seconds = (self.end_time - self.answer_time).total_seconds()
        return max(0, int(-(-seconds // 1)))
