"""Client transactions: INVITE (RFC 3261 §17.1.1 with RFC 6026 §8.4) and non-INVITE (§17.1.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, TypeAlias

from switch.sip.headers import Headers
from switch.sip.message import Request
from switch.sip.timers import TimerName
from switch.sip.transaction import (
    DEFAULT_TIMERS,
    Action,
    DeliverToTU,
    TimeoutToTU,
    Transaction,
    TransactionError,
    TransactionState,
)

if TYPE_CHECKING:
    from switch.sip.message import Response
    from switch.sip.timers import TimerConfig

_S = TransactionState


class _Client(Transaction):
    """Sends one request, then reacts to its responses and timers."""

    __slots__ = ("_interval",)

    _retransmit_timer: ClassVar[TimerName]
    _timeout_timer: ClassVar[TimerName]

    def __init__(
        self,
        request: Request,
        peer: object,
        *,
        reliable: bool = False,
        config: TimerConfig = DEFAULT_TIMERS,
        state: TransactionState,
    ) -> None:
        super().__init__(request, peer, reliable=reliable, config=config, state=state)
        self._interval = config.t1  # current retransmission interval (A or E)

    def send(self, request: Request, now: float) -> list[Action]:
        """Send the transaction's request: the TU's one and only send on a client transaction."""
        self._check_active()
        if request is not self.request:
            raise TransactionError("a client transaction sends only the request it was made for")
        if self._started:
            raise TransactionError("the request of this client transaction was already sent")
        self._started = True
        actions: list[Action] = []
        self._send(request, actions)
        self._start(self._retransmit_timer, now, actions)
        self._start(self._timeout_timer, now, actions)
        return actions

    def receive(self, response: Response, now: float) -> list[Action]:
        """Handle a response matched to this transaction (§17.1.3)."""
        if self.terminated:
            return []
        actions: list[Action] = []
        self._on_response(response, now, actions)
        return actions

    def _on_response(self, response: Response, now: float, actions: list[Action]) -> None:
        raise NotImplementedError


class ClientInviteTransaction(_Client):
    """Figure 5 of RFC 3261 as amended by RFC 6026: a 2xx moves to Accepted, not Terminated."""

    __slots__ = ("ack",)

    _retransmit_timer = TimerName.A
    _timeout_timer = TimerName.B

    def __init__(
        self,
        request: Request,
        peer: object,
        *,
        reliable: bool = False,
        config: TimerConfig = DEFAULT_TIMERS,
    ) -> None:
        if request.method != "INVITE":
            raise TransactionError(f"an INVITE client transaction cannot carry {request.method}")
        super().__init__(request, peer, reliable=reliable, config=config, state=_S.CALLING)
        # The ACK sent for a 300-699 response, kept to answer its retransmissions.
        self.ack: Request | None = None

    def _on_response(self, response: Response, now: float, actions: list[Action]) -> None:
        status = response.status
        state = self.state
        if state in (_S.CALLING, _S.PROCEEDING):
            self._cancel(actions, TimerName.A, TimerName.B)
            actions.append(DeliverToTU(response))
            if status < 200:
                # The TU's Timer C (a proxy) or CANCEL (a UAC) now bounds the wait.
                self.state = _S.PROCEEDING
            elif status < 300:
                self.state = _S.ACCEPTED
                self._start(TimerName.M, now, actions)
            else:
                self.state = _S.COMPLETED
                self.ack = build_ack(self.request, response)
                self._send(self.ack, actions)
                self._start_or_terminate(TimerName.D, now, actions)
        elif state is _S.ACCEPTED and 200 <= status < 300:
            # RFC 6026 §8.4: retransmitted or forked 2xx still reach the TU, which ACKs them.
            actions.append(DeliverToTU(response))
        elif state is _S.COMPLETED and status >= 300 and self.ack is not None:
            self._send(self.ack, actions)  # final response retransmitted: our ACK was lost

    def _on_timer(self, timer: TimerName, now: float, actions: list[Action]) -> None:
        if timer is TimerName.A and self.state is _S.CALLING:
            self._send(self.request, actions)
            self._interval = self.config.backoff(TimerName.A, self._interval)
            self._start(TimerName.A, now, actions, self._interval)
        elif timer is TimerName.B and self.state is _S.CALLING:
            actions.append(TimeoutToTU())
            self._terminate(actions)
        elif timer is TimerName.D or timer is TimerName.M:
            self._terminate(actions)


class ClientNonInviteTransaction(_Client):
    """Figure 6 of RFC 3261: Trying, Proceeding, Completed, Terminated."""

    __slots__ = ()

    _retransmit_timer = TimerName.E
    _timeout_timer = TimerName.F

    def __init__(
        self,
        request: Request,
        peer: object,
        *,
        reliable: bool = False,
        config: TimerConfig = DEFAULT_TIMERS,
    ) -> None:
        if request.method in ("INVITE", "ACK"):
            raise TransactionError(f"{request.method} has no non-INVITE client transaction")
        super().__init__(request, peer, reliable=reliable, config=config, state=_S.TRYING)

    def _on_response(self, response: Response, now: float, actions: list[Action]) -> None:
        if self.state not in (_S.TRYING, _S.PROCEEDING):
            return  # Completed absorbs response retransmissions
        actions.append(DeliverToTU(response))
        if response.status < 200:
            self.state = _S.PROCEEDING
            return
        self.state = _S.COMPLETED
        self._cancel(actions, TimerName.E, TimerName.F)
        self._start_or_terminate(TimerName.K, now, actions)

    def _on_timer(self, timer: TimerName, now: float, actions: list[Action]) -> None:
        if timer is TimerName.E and self.state in (_S.TRYING, _S.PROCEEDING):
            self._send(self.request, actions)
            if self.state is _S.PROCEEDING:
                self._interval = self.config.t2
            else:
                self._interval = self.config.backoff(TimerName.E, self._interval)
            self._start(TimerName.E, now, actions, self._interval)
        elif timer is TimerName.F:
            actions.append(TimeoutToTU())
            self._terminate(actions)
        elif timer is TimerName.K:
            self._terminate(actions)


ClientTransaction: TypeAlias = ClientInviteTransaction | ClientNonInviteTransaction


def build_ack(invite: Request, response: Response) -> Request:
    """The ACK for a 300-699 answer to ``invite`` (RFC 3261 §17.1.1.3).

    Same Request-URI, Call-ID, From and CSeq number as the INVITE, the To of the
    response (with its tag), only the INVITE's top Via (so the same branch), and its
    Route set, since this ACK must follow the INVITE hop by hop.
    """
    src = invite.headers
    headers = Headers()
    headers.add("Via", str(invite.top_via))
    for route in src.get_all("Route"):
        headers.add("Route", route)
    headers.add("Max-Forwards", src.get("Max-Forwards") or "70")
    headers.add("From", src.get("From") or str(invite.from_))
    headers.add("To", response.headers.get("To") or str(response.to))
    headers.add("Call-ID", invite.call_id)
    headers.add("CSeq", f"{invite.cseq.seq} ACK")
    return Request("ACK", invite.uri, headers)
