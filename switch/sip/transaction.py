"""SIP transactions (RFC 3261 §17, RFC 6026) as pure state machines, and their registry.

Nothing here does I/O or reads a clock. A transaction turns events (a message
received, the TU sending something, a timer firing at ``now``, a transport error)
into a list of actions for its owner to perform. The client machines live in
``transaction_client``, the server machines in ``transaction_server``; this module
holds what they share and the :class:`TransactionLayer` that routes messages to
them and keeps their timers in one heap.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, replace
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, ClassVar, TypeAlias, TypeGuard

from switch.sip.message import Request, Response
from switch.sip.timers import TimerConfig, TimerName

if TYPE_CHECKING:
    from collections.abc import Iterator

    from switch.sip.transaction_client import ClientTransaction
    from switch.sip.transaction_server import ServerInviteTransaction, ServerTransaction

    AnyTransaction: TypeAlias = ClientTransaction | ServerTransaction

Message: TypeAlias = Request | Response
MAGIC_COOKIE = "z9hG4bK"
DEFAULT_TIMERS = TimerConfig()


class TransactionError(Exception):
    """The TU or the core used a transaction in a way RFC 3261 §17 does not allow."""


class TransactionTerminated(TransactionError):
    """An event was given to a transaction that has already terminated."""


class DuplicateTransaction(TransactionError):
    """A transaction with the same key is already registered."""


class InvalidBranch(TransactionError):
    """A client transaction needs a unique branch starting with the magic cookie."""


class TransactionState(StrEnum):
    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"  # RFC 6026: after a 2xx to an INVITE
    TERMINATED = "Terminated"


class ActionKind(Enum):
    SEND = "send"
    START_TIMER = "start-timer"
    CANCEL_TIMER = "cancel-timer"
    DELIVER = "deliver"
    TIMEOUT = "timeout"
    TRANSPORT_ERROR = "transport-error"
    TERMINATED = "terminated"


@dataclass(frozen=True, slots=True)
class SendMessage:
    """Hand ``message`` to the transport for ``peer`` (the transaction's remote address)."""

    message: Message
    peer: object
    kind: ClassVar[ActionKind] = ActionKind.SEND


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Arm ``timer`` to fire at time ``at`` (same clock as the ``now`` values given)."""

    timer: TimerName
    at: float
    kind: ClassVar[ActionKind] = ActionKind.START_TIMER


@dataclass(frozen=True, slots=True)
class CancelTimer:
    timer: TimerName
    kind: ClassVar[ActionKind] = ActionKind.CANCEL_TIMER


@dataclass(frozen=True, slots=True)
class DeliverToTU:
    """Pass ``message`` up to the transaction user (the core)."""

    message: Message
    kind: ClassVar[ActionKind] = ActionKind.DELIVER


@dataclass(frozen=True, slots=True)
class TimeoutToTU:
    """The transaction timed out (Timer B, F or H)."""

    kind: ClassVar[ActionKind] = ActionKind.TIMEOUT


@dataclass(frozen=True, slots=True)
class TransportErrorToTU:
    kind: ClassVar[ActionKind] = ActionKind.TRANSPORT_ERROR


@dataclass(frozen=True, slots=True)
class Terminated:
    """The transaction is over; its owner may forget it."""

    kind: ClassVar[ActionKind] = ActionKind.TERMINATED


Action: TypeAlias = (
    SendMessage
    | StartTimer
    | CancelTimer
    | DeliverToTU
    | TimeoutToTU
    | TransportErrorToTU
    | Terminated
)


class Transaction:
    """State and timer bookkeeping shared by the four machines.

    ``peer`` is opaque (a transport address); it is copied into every
    :class:`SendMessage` so the core never has to remember it.
    """

    __slots__ = ("_deadlines", "_started", "config", "peer", "reliable", "request", "state")

    def __init__(
        self,
        request: Request,
        peer: object,
        *,
        reliable: bool = False,
        config: TimerConfig = DEFAULT_TIMERS,
        state: TransactionState,
    ) -> None:
        self.request = request
        self.peer = peer
        self.reliable = reliable
        self.config = config
        self.state = state
        self._started = False
        self._deadlines: dict[TimerName, float] = {}

    def __repr__(self) -> str:
        branch = self.request.top_via.branch
        return f"<{type(self).__name__} {self.method} branch={branch} {self.state}>"

    @property
    def terminated(self) -> bool:
        return self.state is TransactionState.TERMINATED

    @property
    def method(self) -> str:
        return self.request.method

    def timer_deadline(self, timer: TimerName) -> float | None:
        """When ``timer`` is due, or None when it is not running."""
        return self._deadlines.get(timer)

    def timer_fired(self, timer: TimerName, now: float) -> list[Action]:
        """Run ``timer``; a timer that was cancelled or restarted meanwhile is ignored."""
        if self.terminated or self._deadlines.pop(timer, None) is None:
            return []
        actions: list[Action] = []
        self._on_timer(timer, now, actions)
        return actions

    def transport_error(self, now: float) -> list[Action]:
        """The transport could not deliver a message of this transaction (§17.1.1.2, §17.2.4)."""
        if self.terminated:
            return []  # a late report about a transaction that is already over
        actions: list[Action] = [TransportErrorToTU()]
        if self.state is TransactionState.ACCEPTED:
            # The 2xx and its ACK belong to the TU; keep absorbing retransmissions until L/M.
            return actions
        self._terminate(actions)
        return actions

    def _on_timer(self, timer: TimerName, now: float, actions: list[Action]) -> None:
        raise NotImplementedError

    def _check_active(self) -> None:
        if self.terminated:
            raise TransactionTerminated(f"{type(self).__name__} has terminated")

    def _send(self, message: Message, actions: list[Action]) -> None:
        actions.append(SendMessage(message, self.peer))

    def _start(
        self, timer: TimerName, now: float, actions: list[Action], delay: float | None = None
    ) -> bool:
        """Arm ``timer`` (its configured duration unless ``delay``); False if that is zero."""
        if delay is None:
            delay = self.config.duration(timer, reliable=self.reliable)
        if delay <= 0:
            return False
        at = now + delay
        self._deadlines[timer] = at
        actions.append(StartTimer(timer, at))
        return True

    def _cancel(self, actions: list[Action], *timers: TimerName) -> None:
        for timer in timers:
            if self._deadlines.pop(timer, None) is not None:
                actions.append(CancelTimer(timer))

    def _start_or_terminate(self, timer: TimerName, now: float, actions: list[Action]) -> None:
        """Arm a wait timer; when it is zero (reliable transport) terminate right away."""
        if not self._start(timer, now, actions):
            self._terminate(actions)

    def _terminate(self, actions: list[Action]) -> None:
        self._cancel(actions, *list(self._deadlines))
        self.state = TransactionState.TERMINATED
        actions.append(Terminated())


# --- matching (RFC 3261 §17.1.3, §17.2.3) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientKey:
    """A client transaction is found by the branch it put in its Via and the CSeq method."""

    branch: str
    method: str


@dataclass(frozen=True, slots=True)
class BranchKey:
    """Server key for RFC 3261 requests: branch, sent-by, and the method (ACK counts as INVITE)."""

    branch: str
    host: str
    port: int
    method: str


@dataclass(frozen=True, slots=True)
class LegacyKey:
    """Server key for requests without a usable branch (RFC 2543 peers, §17.2.3 fallback)."""

    request_uri: str
    to_tag: str | None
    from_tag: str | None
    call_id: str
    seq: int
    method: str
    top_via: str


ServerKey: TypeAlias = BranchKey | LegacyKey


def is_rfc3261_branch(branch: str | None) -> TypeGuard[str]:
    """True when ``branch`` carries the magic cookie and something unique after it.

    A branch of exactly the cookie (RFC 4475 "badbranch") is not unique, so such
    requests fall back to RFC 2543 matching instead of sharing one transaction.
    """
    return (
        branch is not None and branch.startswith(MAGIC_COOKIE) and len(branch) > len(MAGIC_COOKIE)
    )


def key_for_request(request: Request) -> ServerKey:
    """The server transaction key of an incoming request (§17.2.3).

    Without an RFC 3261 branch the fields of the RFC 2543 rule are compared in their
    parsed, re-serialized form, which is what a retransmission reproduces exactly.
    """
    method = "INVITE" if request.method == "ACK" else request.method
    via = request.top_via
    branch = via.branch
    if is_rfc3261_branch(branch):
        port = via.port if via.port is not None else (5061 if via.transport == "TLS" else 5060)
        return BranchKey(branch, via.host, port, method)
    return LegacyKey(
        str(request.uri),
        request.to.tag,
        request.from_.tag,
        request.call_id,
        request.cseq.seq,
        method,
        str(via),
    )


def key_for_response(response: Response) -> ClientKey | None:
    """The client transaction key of an incoming response, None without a usable branch."""
    branch = response.top_via.branch
    if not is_rfc3261_branch(branch):
        return None
    return ClientKey(branch, response.cseq.method)


# --- registry ----------------------------------------------------------------------------------

_HeapEntry: TypeAlias = "tuple[float, int, AnyTransaction, TimerName]"


class TransactionLayer:
    """All live transactions of one switch, routed by key, with one heap for their timers.

    The layer performs StartTimer/CancelTimer itself and leaves them out of the action
    lists it returns; its owner arms a single wake-up at :meth:`next_deadline` and calls
    :meth:`expire` then. Every other action is for the owner to perform.
    """

    def __init__(self, config: TimerConfig = DEFAULT_TIMERS) -> None:
        self.config = config
        self._clients: dict[ClientKey, ClientTransaction] = {}
        self._servers: dict[ServerKey, ServerTransaction] = {}
        self._keys: dict[AnyTransaction, list[ClientKey | ServerKey]] = {}
        self._heap: list[_HeapEntry] = []
        self._order = itertools.count()

    key_for_request = staticmethod(key_for_request)
    key_for_response = staticmethod(key_for_response)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[AnyTransaction]:
        return iter(list(self._keys))

    def create_client(
        self, request: Request, peer: object, now: float, *, reliable: bool = False
    ) -> tuple[ClientTransaction, list[Action]]:
        """Open a client transaction for ``request`` and send it to ``peer``."""
        # Imported here: the machine modules import this one.
        from switch.sip.transaction_client import (
            ClientInviteTransaction,
            ClientNonInviteTransaction,
        )

        branch = request.top_via.branch
        if not is_rfc3261_branch(branch):
            raise InvalidBranch(f"client transaction branch {branch!r} lacks {MAGIC_COOKIE}...")
        key = ClientKey(branch, request.method)
        if key in self._clients:
            raise DuplicateTransaction(f"client transaction {key} exists")
        tx: ClientTransaction
        if request.method == "INVITE":
            tx = ClientInviteTransaction(request, peer, reliable=reliable, config=self.config)
        else:
            tx = ClientNonInviteTransaction(request, peer, reliable=reliable, config=self.config)
        self._clients[key] = tx
        self._keys[tx] = [key]
        return tx, self._run(tx, tx.send(request, now))

    def create_server(
        self, request: Request, peer: object, now: float, *, reliable: bool = False
    ) -> tuple[ServerTransaction, list[Action]]:
        """Open a server transaction for a new request; the actions deliver it to the TU."""
        # Imported here: the machine modules import this one.
        from switch.sip.transaction_server import (
            ServerInviteTransaction,
            ServerNonInviteTransaction,
        )

        key = key_for_request(request)
        if key in self._servers:
            raise DuplicateTransaction(f"server transaction {key} exists")
        tx: ServerTransaction
        if request.method == "INVITE":
            tx = ServerInviteTransaction(request, peer, reliable=reliable, config=self.config)
        else:
            tx = ServerNonInviteTransaction(request, peer, reliable=reliable, config=self.config)
        self._servers[key] = tx
        self._keys[tx] = [key]
        return tx, self._run(tx, tx.receive(request, now))

    def receive(self, message: Message, now: float) -> tuple[AnyTransaction, list[Action]] | None:
        """Route an incoming message to its transaction; None when none matches.

        A request that matches nothing is new (or an ACK for a 2xx); a response that
        matches nothing is stray and goes to the core (a proxy forwards it statelessly).
        """
        if isinstance(message, Request):
            server = self._servers.get(key_for_request(message))
            if server is None:
                return None
            return server, self._run(server, server.receive(message, now))
        key = key_for_response(message)
        client = self._clients.get(key) if key is not None else None
        if client is None:
            return None
        return client, self._run(client, client.receive(message, now))

    def send(self, tx: ServerTransaction, response: Response, now: float) -> list[Action]:
        """The TU answers through server transaction ``tx``."""
        actions = tx.send(response, now)
        self._alias_for_ack(tx, response)
        return self._run(tx, actions)

    def transport_error(self, tx: AnyTransaction, now: float) -> list[Action]:
        """The transport failed to deliver a message that ``tx`` sent."""
        return self._run(tx, tx.transport_error(now))

    def find_invite_for_cancel(self, cancel: Request) -> ServerInviteTransaction | None:
        """The INVITE server transaction a CANCEL targets (RFC 3261 §9.2), if still live."""
        from switch.sip.transaction_server import ServerInviteTransaction  # see create_server

        tx = self._servers.get(replace(key_for_request(cancel), method="INVITE"))
        return tx if isinstance(tx, ServerInviteTransaction) else None

    def next_deadline(self) -> float | None:
        """When :meth:`expire` next has work, None when no timer is pending."""
        heap = self._heap
        while heap and not _is_live(heap[0]):
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def expire(self, now: float) -> list[tuple[AnyTransaction, list[Action]]]:
        """Fire every timer due at ``now``; returns each transaction's resulting actions."""
        heap = self._heap
        results: list[tuple[AnyTransaction, list[Action]]] = []
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            if not _is_live(entry):
                continue  # cancelled, restarted or its transaction is gone
            tx, timer = entry[2], entry[3]
            actions = self._run(tx, tx.timer_fired(timer, now))
            if actions:
                results.append((tx, actions))
        return results

    def _run(self, tx: AnyTransaction, actions: list[Action]) -> list[Action]:
        """Take over timer actions, forget terminated transactions, pass the rest on."""
        passed: list[Action] = []
        for action in actions:
            if isinstance(action, StartTimer):
                heapq.heappush(self._heap, (action.at, next(self._order), tx, action.timer))
            elif not isinstance(action, CancelTimer):
                # A cancelled timer stays in the heap and is skipped when it comes up.
                if isinstance(action, Terminated):
                    self._forget(tx)
                passed.append(action)
        return passed

    def _alias_for_ack(self, tx: ServerTransaction, response: Response) -> None:
        """Without a branch, the ACK is matched by the To tag of our response (§17.2.3)."""
        if tx.method != "INVITE" or tx.terminated:
            return
        keys = self._keys.get(tx)
        tag = response.to.tag
        if not keys or not isinstance(keys[0], LegacyKey) or keys[0].to_tag == tag:
            return
        alias = replace(keys[0], to_tag=tag)
        if alias not in self._servers:
            self._servers[alias] = tx
            keys.append(alias)

    def _forget(self, tx: AnyTransaction) -> None:
        for key in self._keys.pop(tx, ()):
            if isinstance(key, ClientKey):
                if self._clients.get(key) is tx:
                    del self._clients[key]
            elif self._servers.get(key) is tx:
                del self._servers[key]


def _is_live(entry: _HeapEntry) -> bool:
    at, _, tx, timer = entry
    return tx.timer_deadline(timer) == at
