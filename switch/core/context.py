"""State of one proxied request: its server transaction and the branches it forked to.

Pure data plus the RFC 3261 §16.7 choice of the response to send upstream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from switch.cdr.record import CallRecord
from switch.sip.message import Request, Response
from switch.transport.peer import Peer


class BranchState(StrEnum):
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"


@dataclass(eq=False)
class Branch:
    request: Request  # as forwarded, with our Via on top
    peer: Peer
    tx: object  # the client transaction
    state: BranchState = BranchState.TRYING
    final: Response | None = None
    cancelled: bool = False


class EndReason(StrEnum):
    NONE = ""
    CALLER_CANCELLED = "caller_cancelled"
    RING_TIMEOUT = "ring_timeout"
    COMMAND = "command"


@dataclass(eq=False)
class ProxyContext:
    """One request the switch forwards statefully (an INVITE call attempt, a BYE, ...)."""

    request: Request  # as received, after Route processing
    source: Peer
    server_tx: object
    branches: list[Branch] = field(default_factory=list)
    record: CallRecord | None = None  # only for out-of-dialog INVITEs
    answered: bool = False  # a 2xx went upstream
    finished: bool = False  # a final response went upstream
    end_reason: EndReason = EndReason.NONE
    timer: object | None = None  # ring timeout handle

    @property
    def is_invite(self) -> bool:
        return self.request.method == "INVITE"

    def pending(self) -> list[Branch]:
        return [b for b in self.branches if b.state is not BranchState.COMPLETED]

    def all_completed(self) -> bool:
        return all(b.state is BranchState.COMPLETED for b in self.branches)


def best_response(responses: list[Response]) -> Response | None:
    """RFC 3261 §16.7 step 6: a 6xx wins; else the lowest class, preferring 4xx over 5xx."""
    if not responses:
        return None
    six = [r for r in responses if r.status >= 600]
    if six:
        return six[0]

    def rank(response: Response) -> tuple[int, int]:
        klass = response.status // 100
        # 401/407 must be passed on so the caller can authenticate downstream (§16.7 step 7).
        preferred = 0 if response.status in (401, 407) else 1
        # 503 is never forwarded as such (§16.7 step 6): rank it with the 5xx.
        return (klass if klass != 5 else 6, preferred)

    return min(responses, key=rank)
