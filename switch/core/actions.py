"""Carries out what the sans-I/O transaction layer asks for: send bytes, pass messages up."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from switch.metrics import Metrics
from switch.sip.message import Request, Response
from switch.sip.transaction import (
    Action,
    DeliverToTU,
    SendMessage,
    TransactionError,
    TransactionLayer,
)
from switch.transport.manager import TransportManager
from switch.transport.peer import Peer

from .routing import response_destination

if TYPE_CHECKING:
    from .trace import SipTracer

log = logging.getLogger(__name__)


class ActionRunner:
    def __init__(self, transactions: TransactionLayer, transports: TransportManager) -> None:
        self._transactions = transactions
        self._transports = transports
        # Set by the proxy to receive responses and timeouts of its client transactions.
        self.on_client_event: Callable[[object, Action], None] | None = None
        self.metrics: Metrics | None = None
        # Logs what goes to a device under trace (switch.core.trace).
        self.tracer: SipTracer | None = None

    def perform(self, tx: object, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, SendMessage):
                self._send(action)
            elif self.on_client_event is not None:
                self.on_client_event(tx, action)

    def absorb_request(self, request: Request, now: float) -> bool:
        """True when the request belongs to a live server transaction (a retransmission,
        or the ACK of a non-2xx final response), which then did what it had to."""
        matched = self._transactions.receive(request, now)
        if matched is None:
            return False
        tx, actions = matched
        self._perform_server(tx, actions)
        # RFC 6026: the ACK of a 2xx reaches the TU through the INVITE transaction; route it.
        return not any(
            isinstance(a, DeliverToTU) and getattr(a.message, "method", "") == "ACK"
            for a in actions
        )

    def _perform_server(self, tx: object, actions: list[Action]) -> None:
        # The core already holds the request, and server transactions have nothing else for
        # the TU: only their sends matter here.
        for action in actions:
            if isinstance(action, SendMessage):
                self._send(action)

    def _send(self, action: SendMessage) -> None:
        assert isinstance(action.peer, Peer)
        message = action.message
        data = message.to_bytes()
        self._transports.send(data, action.peer)
        if self.tracer is not None:
            self.tracer.sent(data, action.peer, message)
        if self.metrics is not None and isinstance(message, Response):
            self.metrics.response_sent(message.status, message.cseq.method)

    def open_server(self, request: Request, source: Peer, now: float) -> object:
        """A server transaction for a new request, answered later through send_response."""
        destination = response_destination(request.top_via, source)
        tx, actions = self._transactions.create_server(
            request, destination, now, reliable=source.reliable
        )
        self._perform_server(tx, actions)
        return tx

    def send_response(self, tx: object, response: Response, now: float) -> None:
        try:
            actions = self._transactions.send(tx, response, now)  # type: ignore[arg-type]
        except TransactionError as exc:
            log.debug("response not sent: %s", exc)
            return
        self._perform_server(tx, actions)

    def send_stateless(self, request: Request, response: Response, source: Peer) -> None:
        """Answer without a server transaction (RFC 3261 §16.11 style): nothing is kept."""
        destination = response_destination(request.top_via, source)
        self._send(SendMessage(response, destination))

    def send_bytes(self, data: bytes, peer: Peer) -> None:
        self._transports.send(data, peer)
        if self.tracer is not None:
            self.tracer.sent(data, peer)

    def respond(self, request: Request, response: Response, source: Peer, now: float) -> None:
        """Answer a new request through a server transaction, so retransmissions of the
        request are answered from it and not processed twice."""
        if request.method == "ACK":
            return
        self.send_response(self.open_server(request, source, now), response, now)

    def route_response(self, response: Response, now: float) -> None:
        matched = self._transactions.receive(response, now)
        if matched is None:
            log.debug("dropping a stray response (%d)", response.status)
            return
        tx, actions = matched
        self.perform(tx, actions)

    def run_expired(self, now: float) -> None:
        for tx, actions in self._transactions.expire(now):
            self.perform(tx, actions)
