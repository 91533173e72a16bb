"""From framed bytes to answers: parse, absorb retransmissions, route to the registrar.

Runs on the event loop; everything it calls is synchronous and never blocks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from switch import ids
from switch.config import Settings
from switch.logs import log_context
from switch.metrics import Metrics
from switch.sip.errors import SipError
from switch.sip.headers import parse_via
from switch.sip.message import Request, Response, make_error_response, make_response, parse_message
from switch.sip.transaction import TransactionLayer
from switch.sip.uri import SipURI
from switch.transport.manager import TransportManager
from switch.transport.peer import Inbound, Peer

from .actions import ActionRunner
from .directory import DeviceRecord
from .guard import AbuseGuard
from .proxy import Proxy
from .registrar import RegisterOutcome, Registrar
from .routing import is_local_uri, response_destination, stamp_via
from .trace import SipTracer

log = logging.getLogger(__name__)

SERVER_NAME = "softswitch"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, INFO, REFER, NOTIFY, MESSAGE"
# Extensions a UAS role of this switch understands in Require.
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset()
URI_SCHEMES = frozenset({"sip", "sips", "tel"})
KNOWN_METHODS = frozenset(m.strip() for m in ALLOW.split(",")) | {"SUBSCRIBE", "PRACK", "PUBLISH"}


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        transports: TransportManager,
        transactions: TransactionLayer,
        registrar: Registrar,
    ) -> None:
        self._settings = settings
        self._transports = transports
        self._transactions = transactions
        self._registrar = registrar
        self.actions = ActionRunner(transactions, transports)
        sip = settings.sip
        hosts = {sip.realm, settings.advertised_host, *sip.local_domains}
        hosts.update(listen.host for listen in sip.listen)
        if any(h in ("0.0.0.0", "::") for h in hosts):
            hosts.update({"127.0.0.1", "::1", "localhost"})
        self.local_hosts = frozenset(h.lower() for h in hosts)
        self.local_ports: frozenset[int] = frozenset(listen.port for listen in sip.listen)
        self.parse_errors = 0
        self.proxy: Proxy | None = None
        # Set on SIGTERM: new calls are refused while the rest finishes.
        self.draining = False
        self.metrics: Metrics | None = None
        self.guard: AbuseGuard | None = None
        # Told of every successful registration (E911 moved-device detection).
        self.on_registered: Callable[[DeviceRecord, Peer], None] | None = None
        self.tracer: SipTracer | None = None

    # -- input -----------------------------------------------------------------------------
    async def run(self) -> None:
        queue = self._transports.queue
        while True:
            inbound = await queue.get()
            try:
                self.handle(inbound)
            except Exception:  # one bad message must never stop the switch
                log.exception("unhandled error for a message from %s", inbound.peer)

    async def run_timers(self) -> None:
        while True:
            deadline = self._transactions.next_deadline()
            delay = 0.5 if deadline is None else min(0.5, max(0.0, deadline - time.time()))
            await asyncio.sleep(delay)
            self.actions.run_expired(time.time())

    def handle(self, inbound: Inbound) -> None:
        # Banned and flooding sources get no answer at all, before any parsing work.
        if self.guard is not None and not self.guard.admit(inbound.peer.host, time.time()):
            return
        self._handle_traced(inbound)

    def _handle_traced(self, inbound: Inbound) -> None:
        try:
            message = parse_message(inbound.data)
        except SipError as exc:
            if self.tracer is not None:
                self.tracer.received(inbound.data, inbound.peer, None)
            self.on_transport_error(exc, inbound)
            return
        # Every log line written while handling the message carries its Call-ID and account.
        account = self.tracer.account_of(message) if self.tracer is not None else None
        with log_context(call_id=message.call_id, account=account):
            if self.tracer is not None:
                self.tracer.received(inbound.data, inbound.peer, message)
            self._handle_message(message, inbound)

    def _handle_message(self, message: Request | Response, inbound: Inbound) -> None:
        metrics = self.metrics
        if isinstance(message, Response):
            if metrics is not None:
                metrics.response_received(message.status, message.cseq.method)
            self.actions.route_response(message, time.time())
            return
        if metrics is not None:
            metrics.request(message.method, inbound.peer.transport)
        self._handle_request(message, inbound.peer)

    def on_transport_error(self, error: Exception, inbound: object) -> None:
        """A message that cannot be parsed: answer statelessly if it can be answered."""
        self.parse_errors += 1
        if not isinstance(error, SipError) or not isinstance(inbound, Inbound):
            return
        if self.metrics is not None:
            self.metrics.parse_error(error)
        response = make_error_response(error)
        if response is None:
            return
        destination = inbound.peer
        vias = response.headers.values("Via")
        if vias and not inbound.peer.reliable:
            try:
                destination = response_destination(parse_via(vias[0])[0], inbound.peer)
            except SipError:
                destination = inbound.peer
        data = response.to_bytes()
        self._transports.send(data, destination)
        if self.tracer is not None:
            self.tracer.sent(data, destination, response)
        if self.metrics is not None:
            self.metrics.response_sent(response.status, "other")

    # -- requests --------------------------------------------------------------------------
    def _handle_request(self, request: Request, source: Peer) -> None:
        now = time.time()
        stamp_via(request, source)
        if self.actions.absorb_request(request, now):
            return  # retransmission, ACK or CANCEL handled by the transaction layer
        # Scanners sweep usernames with out-of-dialog requests.
        sweepable = request.method in ("REGISTER", "OPTIONS", "INVITE") and request.to.tag is None
        if self.guard is not None and sweepable:
            self.guard.request_seen(request, source.host, now)
        answer = self._early_answer(request)
        if answer is not None:
            self._reply(request, source, answer, now)
            return
        if request.method == "REGISTER":
            result = self._registrar.handle(request, source, now)
            if self.metrics is not None:
                self.metrics.registration(result.outcome)
            if result.outcome is RegisterOutcome.OK and result.device and self.on_registered:
                self.on_registered(result.device, source)
            elif result.outcome is RegisterOutcome.AUTH_FAILED and self.guard is not None:
                user_agent = request.headers.get("User-Agent")
                self.guard.auth_failed(source.host, result.username, user_agent, now)
            self._reply(request, source, result.response, now)
        elif request.method == "OPTIONS" and self._for_us(request):
            self._reply(request, source, self._options_answer(request), now)
        elif request.method not in KNOWN_METHODS:
            response = make_response(request, 501, "Not Implemented")
            response.headers.add("Allow", ALLOW)
            self._reply(request, source, response, now)
        elif self.draining and request.to.tag is None and request.method not in ("ACK", "CANCEL"):
            response = make_response(request, 503, "Shutting Down")
            response.headers.add("Retry-After", "30")
            self._reply(request, source, response, now)
        elif self.proxy is not None:
            self.proxy.handle_request(request, source, now)
        else:
            self._reply(request, source, make_response(request, 501, "Not Implemented"), now)

    def _for_us(self, request: Request) -> bool:
        uri = request.uri
        if not isinstance(uri, SipURI) or not is_local_uri(uri, self.local_hosts, self.local_ports):
            return False
        # OPTIONS to the switch itself, or inside no dialog: answered here (keep-alive pings).
        return request.to.tag is None

    def _early_answer(self, request: Request) -> Response | None:
        """Checks of RFC 3261 §8.2.2 and §16.3 that come before any routing."""
        uri = request.uri
        if uri.scheme.lower() not in URI_SCHEMES:
            return make_response(request, 416, "Unsupported URI Scheme")
        proxy_require = request.headers.values("Proxy-Require")
        for_us = isinstance(uri, SipURI) and is_local_uri(uri, self.local_hosts, self.local_ports)
        if proxy_require and not for_us:
            return _bad_extension(request, proxy_require)
        require = [r for r in request.headers.values("Require") if r not in SUPPORTED_EXTENSIONS]
        if require and request.method not in ("ACK", "CANCEL"):
            return _bad_extension(request, require)
        if request.max_forwards == 0 and request.method not in ("OPTIONS", "REGISTER"):
            return make_response(request, 483, "Too Many Hops")
        if request.method == "REGISTER" and not for_us:
            return make_response(request, 404, "Not Found")
        return None

    def _options_answer(self, request: Request) -> Response:
        response = make_response(request, 200)
        response.headers.add("Allow", ALLOW)
        response.headers.add("Accept", "application/sdp")
        if SUPPORTED_EXTENSIONS:
            response.headers.add("Supported", ", ".join(sorted(SUPPORTED_EXTENSIONS)))
        return response

    def _reply(self, request: Request, source: Peer, response: Response, now: float) -> None:
        if response.status > 100 and response.to.tag is None:
            response.headers.set("To", f"{request.headers.get('To')};tag={ids.token(6)}")
        response.headers.add("Server", SERVER_NAME)
        self.actions.respond(request, response, source, now)


def _bad_extension(request: Request, names: list[str]) -> Response:
    response = make_response(request, 420, "Bad Extension")
    response.headers.add("Unsupported", ", ".join(names))
    return response
