"""Server transactions: INVITE (RFC 3261 §17.2.1 with RFC 6026 §8.5-8.7) and non-INVITE (§17.2.2).

A server transaction is born by receiving its request: the first ``receive`` delivers
it to the TU; later ones are retransmissions (or, for INVITE, the ACK).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from switch.sip.message import make_response
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
    from switch.sip.message import Request, Response
    from switch.sip.timers import TimerConfig

_S = TransactionState


class _Server(Transaction):
    __slots__ = ("last_response",)

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
        # What a retransmitted request is answered with (§17.2.1, §17.2.2).
        self.last_response: Response | None = None

    def receive(self, request: Request, now: float) -> list[Action]:
        """The first call delivers the request to the TU; later ones handle retransmissions."""
        if self.terminated:
            return []
        actions: list[Action] = []
        if not self._started:
            self._started = True
            actions.append(DeliverToTU(request))
            self._on_start(now, actions)
        else:
            self._on_request(request, now, actions)
        return actions

    def send(self, response: Response, now: float) -> list[Action]:
        """The TU answers. Responses the state no longer allows are discarded (§17.2.2)."""
        self._check_active()
        if not self._started:
            raise TransactionError("a server transaction answers only after receiving its request")
        actions: list[Action] = []
        self._on_response(response, now, actions)
        return actions

    def _resend_last(self, actions: list[Action]) -> None:
        if self.last_response is not None:
            self._send(self.last_response, actions)

    def _on_start(self, now: float, actions: list[Action]) -> None:
        pass

    def _on_request(self, request: Request, now: float, actions: list[Action]) -> None:
        raise NotImplementedError

    def _on_response(self, response: Response, now: float, actions: list[Action]) -> None:
        raise NotImplementedError


class ServerInviteTransaction(_Server):
    """Figure 7 of RFC 3261 as amended by RFC 6026: a 2xx moves to Accepted, kept for Timer L."""

    __slots__ = ("_interval",)

    def __init__(
        self,
        request: Request,
        peer: object,
        *,
        reliable: bool = False,
        config: TimerConfig = DEFAULT_TIMERS,
    ) -> None:
        if request.method != "INVITE":
            raise TransactionError(f"an INVITE server transaction cannot carry {request.method}")
        super().__init__(request, peer, reliable=reliable, config=config, state=_S.PROCEEDING)
        self._interval = config.t1  # current Timer G interval

    def _on_start(self, now: float, actions: list[Action]) -> None:
        self._start(TimerName.TRYING, now, actions)

    def _on_request(self, request: Request, now: float, actions: list[Action]) -> None:
        state = self.state
        if request.method == "ACK":
            if state is _S.COMPLETED:
                self.state = _S.CONFIRMED
                self._cancel(actions, TimerName.G, TimerName.H)
                self._start_or_terminate(TimerName.I, now, actions)
            elif state is _S.ACCEPTED:
                actions.append(DeliverToTU(request))  # RFC 6026 §8.7: the 2xx ACK is the TU's
        elif state in (_S.PROCEEDING, _S.COMPLETED):
            self._resend_last(actions)
        # Confirmed and Accepted absorb retransmitted INVITEs.

    def _on_response(self, response: Response, now: float, actions: list[Action]) -> None:
        status = response.status
        if self.state is _S.ACCEPTED:
            if 200 <= status < 300:
                self._send(response, actions)  # RFC 6026 §8.6: the TU retransmits its 2xx
            return
        if self.state is not _S.PROCEEDING:
            return
        self._cancel(actions, TimerName.TRYING)
        self.last_response = response
        self._send(response, actions)
        if status < 200:
            return
        if status < 300:
            self.state = _S.ACCEPTED
            self._start(TimerName.L, now, actions)
        else:
            self.state = _S.COMPLETED
            self._start(TimerName.G, now, actions)
            self._start(TimerName.H, now, actions)

    def _on_timer(self, timer: TimerName, now: float, actions: list[Action]) -> None:
        state = self.state
        if timer is TimerName.TRYING and state is _S.PROCEEDING and self.last_response is None:
            self.last_response = _trying(self.request)
            self._send(self.last_response, actions)
        elif timer is TimerName.G and state is _S.COMPLETED:
            self._resend_last(actions)
            self._interval = self.config.backoff(TimerName.G, self._interval)
            self._start(TimerName.G, now, actions, self._interval)
        elif timer is TimerName.H and state is _S.COMPLETED:
            actions.append(TimeoutToTU())  # the ACK never came
            self._terminate(actions)
        elif timer is TimerName.I or timer is TimerName.L:
            self._terminate(actions)


class ServerNonInviteTransaction(_Server):
    """Figure 8 of RFC 3261: Trying, Proceeding, Completed, Terminated."""

    __slots__ = ()

    def __init__(
        self,
        request: Request,
        peer: object,
        *,
        reliable: bool = False,
        config: TimerConfig = DEFAULT_TIMERS,
    ) -> None:
        if request.method in ("INVITE", "ACK"):
            raise TransactionError(f"{request.method} has no non-INVITE server transaction")
        super().__init__(request, peer, reliable=reliable, config=config, state=_S.TRYING)

    def _on_request(self, request: Request, now: float, actions: list[Action]) -> None:
        # Trying absorbs retransmissions: there is nothing to answer them with yet.
        self._resend_last(actions)

    def _on_response(self, response: Response, now: float, actions: list[Action]) -> None:
        if self.state not in (_S.TRYING, _S.PROCEEDING):
            return  # §17.2.2: later final responses are discarded
        self.last_response = response
        self._send(response, actions)
        if response.status < 200:
            self.state = _S.PROCEEDING
        else:
            self.state = _S.COMPLETED
            self._start_or_terminate(TimerName.J, now, actions)

    def _on_timer(self, timer: TimerName, now: float, actions: list[Action]) -> None:
        if timer is TimerName.J:
            self._terminate(actions)


ServerTransaction: TypeAlias = ServerInviteTransaction | ServerNonInviteTransaction


def _trying(invite: Request) -> Response:
    """The automatic 100 Trying; it echoes Timestamp (RFC 3261 §8.2.6.1)."""
    return make_response(invite, 100)
