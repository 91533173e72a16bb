"""Stateful, record-routing proxy (RFC 3261 §16): new calls, forking, CANCEL, responses.

In-dialog routing, keep-alive probes and ending calls live in ``proxy_dialog``.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import unquote

from sqlalchemy.engine import Engine

from switch import ids
from switch.cdr.record import CallRecord, ClosedBy, Direction, Disposition
from switch.cdr.sink import CdrSink
from switch.config import Settings
from switch.metrics import Metrics
from switch.policy import DestinationClass, load_policy_lists, reason_header, warning_header
from switch.sip.headers import Headers
from switch.sip.message import Request, Response, make_response
from switch.sip.transaction import (
    Action,
    DeliverToTU,
    Terminated,
    TimeoutToTU,
    TransactionLayer,
    TransportErrorToTU,
)
from switch.sip.uri import SipURI
from switch.transport.peer import Peer

from .actions import ActionRunner
from .auth import Authenticator, AuthStatus
from .context import Branch, BranchState, EndReason, ProxyContext, best_response
from .dialogs import Dialog, DialogState, DialogTable
from .directory import DeviceRecord, Directory
from .e911_enforce import check_location, confirm_from_phone
from .e911_events import EmergencyEvents
from .emergency import LocationSource, add_location, locate
from .forwarding import LocalAddress, forward_copy, is_looping, new_branch, pop_own_routes
from .guard import AbuseGuard, attempt_from_record
from .location import LocationService
from .locations import LocationState
from .policy_gate import Judgement, PolicyGate
from .routing import is_local_uri
from .targets import (
    Rejection,
    RoutePlan,
    contacts_of,
    inbound_from_trunk,
    to_extension,
    to_gateway,
    to_trunk,
)
from .transfers import TransferKind, detect_redirect

log = logging.getLogger(__name__)

Schedule = Callable[[float, Callable[[], None]], object]
CANCEL_GRACE = 32.0  # 64*T1: a cancelled branch that never answers is given up (§9.1)
DIALOG_CREATING = frozenset({"INVITE", "SUBSCRIBE", "REFER"})
UNTRUSTED_IDENTITY = ("P-Asserted-Identity", "P-Preferred-Identity")


def utc(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)


class Proxy:
    def __init__(
        self,
        settings: Settings,
        transactions: TransactionLayer,
        actions: ActionRunner,
        auth: Authenticator,
        location: LocationService,
        directory: Callable[[], Directory],
        me: LocalAddress,
        local_hosts: frozenset[str],
        cdr: CdrSink,
        schedule: Schedule,
        clock: Callable[[], float],
        engine: Engine,
        background: Callable[[Callable[[], object]], None],
    ) -> None:
        self.settings = settings
        self.transactions = transactions
        self.actions = actions
        self.auth = auth
        self.location = location
        self.directory = directory
        self.me = me
        self.local_hosts = local_hosts
        self.cdr = cdr
        self.schedule = schedule
        self.clock = clock
        self.engine = engine
        # Runs a blocking job (a database write) in a worker thread, off the packet path.
        self.background = background
        self.events: EmergencyEvents | None = None
        self.guard: AbuseGuard | None = None
        self.is_stale: Callable[[], bool] = lambda: False
        self.dialogs = DialogTable()
        self.contexts: dict[object, ProxyContext] = {}  # server tx -> context
        self.branches: dict[object, tuple[ProxyContext, Branch]] = {}  # client tx -> branch
        self.probes: dict[object, Callable[[Response | None], None]] = {}  # client tx -> callback
        self.policy = PolicyGate(
            load_policy_lists(settings.policy.high_risk_list, settings.policy.embargo_list),
            settings.proxy.default_region,
            frozenset(settings.policy.domestic_regions),
        )
        self.metrics: Metrics | None = None
        self._trusted = self._parse_trusted(settings.trunk.trusted_sources)
        actions.on_client_event = self.on_client_event

    # -- entry points ----------------------------------------------------------------------
    def handle_request(self, request: Request, source: Peer, now: float) -> None:
        if is_looping(request, self.me, self.local_hosts):
            self.reply_stateless(request, source, make_response(request, 482, "Loop Detected"), now)
            return
        from .proxy_dialog import forward_in_dialog

        routed_via_us = pop_own_routes(request, self.me, self.local_hosts) > 0
        if request.to.tag is not None:
            forward_in_dialog(self, request, source, now, routed_via_us=routed_via_us)
        elif request.method == "CANCEL":
            self._cancel_from_caller(request, source, now)
        elif request.method == "ACK":
            return  # an ACK outside any dialog or transaction has nowhere to go
        elif request.method in ("INVITE", "MESSAGE"):
            self._new_request(request, source, now)
        else:
            self.reply_stateless(request, source, make_response(request, 405), now)

    def on_client_event(self, tx: object, action: Action) -> None:
        now = self.clock()
        probe = self.probes.get(tx)
        if probe is not None:
            if isinstance(action, DeliverToTU) and isinstance(action.message, Response):
                if action.message.status >= 200:
                    del self.probes[tx]
                    probe(action.message)
            elif not isinstance(action, DeliverToTU):
                self.probes.pop(tx, None)
                if not isinstance(action, Terminated):
                    probe(None)
            return
        entry = self.branches.get(tx)
        if entry is None:
            return
        ctx, branch = entry
        if isinstance(action, Terminated):
            del self.branches[tx]
        elif isinstance(action, DeliverToTU) and isinstance(action.message, Response):
            self.on_branch_response(ctx, branch, action.message, now)
        elif isinstance(action, TimeoutToTU | TransportErrorToTU):
            status = 408 if isinstance(action, TimeoutToTU) else 503
            self.on_branch_response(ctx, branch, make_response(branch.request, status), now)

    # -- new requests ----------------------------------------------------------------------
    def _is_trunk(self, source: Peer) -> bool:
        return (source.host, source.port) in self._trusted or (source.host, None) in self._trusted

    @staticmethod
    def _parse_trusted(entries: list[str]) -> set[tuple[str, int | None]]:
        trusted: set[tuple[str, int | None]] = set()
        for entry in entries:
            host, sep, port = entry.rpartition(":")
            if sep and port.isdigit() and (host.count(":") == 0 or host.endswith("]")):
                trusted.add((host.strip("[]"), int(port)))
            else:
                trusted.add((entry.strip("[]"), None))
        return trusted

    def _new_request(self, request: Request, source: Peer, now: float) -> None:
        directory = self.directory()
        if self._is_trunk(source):
            ctx = self.open_context(request, source, now)
            self._trying(ctx, now)
            dialled = request.uri.user if isinstance(request.uri, SipURI) else None
            plan = inbound_from_trunk(
                dialled or "", directory, self.location, now, self.settings.proxy.default_region
            )
            record = self._open_record(ctx, Direction.INBOUND, None, now)
            self._route(ctx, plan, None, record, now)
            return
        proxy_auth = self.settings.proxy.challenge_status == 407
        header = "Proxy-Authorization" if proxy_auth else "Authorization"
        check = self.auth.check(request, header, directory, now)
        if check.status is not AuthStatus.OK or check.device is None:
            # Challenges are sent without transaction state, as Kamailio and Asterisk do:
            # clients that resend the credentials with the same branch (pyVoIP) are then
            # not taken for a retransmission, and an unauthenticated flood holds no memory.
            challenge = self.auth.challenge(request, check, proxy=proxy_auth, now=now)
            self.actions.send_stateless(request, _with_to_tag(request, challenge), source)
            return
        ctx = self.open_context(request, source, now)
        # Only now: a challenge is immediate, so no 100 before it (§17.2.1). Clients that
        # stop reading at the first response (pyVoIP) never saw the challenge otherwise.
        self._trying(ctx, now)
        device = check.device
        record = self._open_record(ctx, Direction.INTERNAL, device, now)
        if not device.active:
            self._reject(ctx, Rejection(403, "Device Disabled"), now)
            return
        plan = self._route_from_device(ctx, device, directory, now)
        self._route(ctx, plan, device, record, now)

    def _trying(self, ctx: ProxyContext, now: float) -> None:
        if ctx.is_invite:
            self.respond(ctx, make_response(ctx.request, 100), now)

    def _route_from_device(
        self, ctx: ProxyContext, device: DeviceRecord, directory: Directory, now: float
    ) -> RoutePlan | Rejection:
        request = ctx.request
        uri = request.uri
        local_ports = self.me.local_ports
        if not isinstance(uri, SipURI) or not is_local_uri(uri, self.local_hosts, local_ports):
            return Rejection(403, "Relaying Denied")
        dialled = unquote(uri.user or "")
        if dialled == self.settings.emergency.confirm_code:
            return self._confirm_location(ctx, device, directory)
        from_uri = request.from_.uri
        presented = unquote(from_uri.user or "") if isinstance(from_uri, SipURI) else None
        judgement = self.policy.judge(dialled, presented, device, directory)
        _note_judgement(ctx.record, judgement)
        if self.metrics is not None:
            self.metrics.decision(judgement.decision.rule_id, judgement.decision.verdict)
        destination = judgement.destination
        if judgement.emergency and "Referred-By" in request.headers and self.events is not None:
            # A call sent to 911 on someone else's behalf: the caller's location may be wrong.
            if ctx.record is not None:
                ctx.record.flags.append("transfer-to-911")
            self.events.transfer_to_911(
                request.call_id, TransferKind.REFERRED_BY, device.account_id, device.id
            )
        if judgement.emergency or (destination is None and judgement.decision.allowed):
            return self._emergency_route(destination.digits if destination else dialled, device)
        if not judgement.decision.allowed:
            return _policy_rejection(judgement)
        assert destination is not None
        internal = destination.dest_class is DestinationClass.INTERNAL
        e911 = check_location(device, directory, internal=internal)
        if e911.flag and ctx.record is not None:
            ctx.record.flags.append(e911.flag)
        if e911.rejection is not None:
            if ctx.record is not None:
                ctx.record.policy_verdict = "deny"
                ctx.record.policy_rule = "e911.location"
                ctx.record.policy_reason = e911.rejection.reason
            return e911.rejection
        if destination.dest_class is DestinationClass.INTERNAL:
            extension = directory.extension(device.account_id, destination.digits)
            if extension is None:
                return Rejection(404, "Not Found")
            return to_extension(extension, Direction.INTERNAL, self.location, now)
        number = destination.e164 or destination.digits
        did = directory.dids.get(number)
        if did is not None and did.active and did.extension_id is not None:
            own = directory.extensions_by_id.get(did.extension_id)
            if own is not None:  # one of our own numbers: stays on the switch
                plan = to_extension(own, Direction.INTERNAL, self.location, now)
                if isinstance(plan, RoutePlan):
                    plan.destination = number
                return plan
        plan = to_trunk(number, self.settings.trunk.gateway_listen, self.settings.trunk.name)
        if isinstance(plan, RoutePlan) and judgement.caller_id is not None:
            plan.identity = judgement.caller_id.sent
        return plan

    def _confirm_location(
        self, ctx: ProxyContext, device: DeviceRecord, directory: Directory
    ) -> Rejection:
        """The feature code: the user says the phone's 911 address is right where it is."""
        location = directory.locations.get(device.id)
        if location is None or location.status in (LocationState.PENDING, LocationState.MISSING):
            return Rejection(403, "No E911 Address To Confirm")
        host = ctx.source.host
        self.background(lambda: confirm_from_phone(self.engine, device.id, host))
        log.info("device %s confirmed its 911 location by feature code", device.id)
        # A final answer with no dialog: the phone shows the reason phrase.
        return Rejection(603, "E911 Location Confirmed")

    def _emergency_route(self, digits: str, device: DeviceRecord) -> RoutePlan | Rejection:
        """911 and 933 go to the emergency gateway (or the trunk), whatever else holds."""
        emergency = self.settings.emergency
        gateway = emergency.gateway_listen or self.settings.trunk.gateway_listen
        if gateway is None:
            log.error("emergency call with no emergency gateway or trunk configured")
            return Rejection(503, "No Emergency Route")
        name = "emergency" if emergency.gateway_listen else self.settings.trunk.name
        plan = to_gateway(emergency.prefix + digits, gateway, name)
        directory = self.directory()
        extension = directory.extensions_by_id.get(device.extension_id)
        account = directory.accounts.get(device.account_id)
        plan.identity = (extension.dids[0] if extension and extension.dids else None) or (
            account.main_number if account else None
        )
        plan.emergency = True
        plan.location = locate(device, directory)
        return plan

    def _open_record(
        self, ctx: ProxyContext, direction: Direction, device: DeviceRecord | None, now: float
    ) -> CallRecord | None:
        request = ctx.request
        if request.method != "INVITE":
            return None
        from_uri = request.from_.uri
        record = CallRecord(
            call_id=request.call_id,
            start_time=utc(now),
            direction=direction,
            account_id=device.account_id if device else None,
            extension_id=device.extension_id if device else None,
            device_id=device.id if device else None,
            caller_presented=from_uri.user if isinstance(from_uri, SipURI) else None,
            dialled=request.uri.user if isinstance(request.uri, SipURI) else None,
            source_address=str(ctx.source),
            user_agent=request.headers.get("User-Agent"),
            trunk=self.settings.trunk.name if direction is Direction.INBOUND else None,
        )
        ctx.record = record
        self.cdr.open(record)
        return record

    def _route(
        self,
        ctx: ProxyContext,
        plan: RoutePlan | Rejection,
        device: DeviceRecord | None,
        record: CallRecord | None,
        now: float,
    ) -> None:
        if isinstance(plan, Rejection):
            self._reject(ctx, plan, now)
            return
        if record is not None:
            record.direction = plan.direction
            record.destination = plan.destination
            record.trunk = plan.trunk or record.trunk  # inbound: set when opened
            if plan.extension is not None and record.account_id is None:
                record.account_id = plan.extension.account_id
        if (
            self.guard is not None
            and record is not None
            and not self._guard_admits(ctx, record, now)
        ):
            return
        identity = plan.identity or self._asserted_identity(plan, device)
        if record is not None:
            record.caller_asserted = identity
        if plan.emergency and self.is_stale() and plan.location is not None:
            # Provisioning is away: this is the last location known, and the record says so.
            plan.location = replace(plan.location, source=LocationSource.LAST_KNOWN)
        if plan.emergency and record is not None:
            source = plan.location.source if plan.location else LocationSource.NONE
            record.flags.append(f"e911-location-{source.value.replace('_', '-')}")
            known = self.directory().locations.get(device.id) if device is not None else None
            if known is not None and known.status is LocationState.UNCONFIRMED:
                # The address went out, but the phone was last seen away from it.
                record.flags.append("e911-location-unconfirmed")
        for target in plan.targets:
            self.fork(ctx, target.uri, target.peer, now, identity=identity, plan=plan)
        if plan.emergency and device is not None and self.events is not None:
            # After the INVITE has left: notifying the site never delays the call.
            test_call = record is not None and record.destination_class == "emergency_test"
            self.events.emergency_call(
                ctx.request.call_id, device, plan.location, identity, test_call=test_call, now=now
            )
        if ctx.is_invite:
            ctx.timer = self.schedule(
                self.settings.proxy.ring_timeout, lambda: self._ring_timeout(ctx)
            )

    def _guard_admits(self, ctx: ProxyContext, record: CallRecord, now: float) -> bool:
        """Abuse limits and graded actions (throttle, restrict, suspend); never 911."""
        assert self.guard is not None
        attempt = attempt_from_record(record, now)
        decision = self.guard.check_call(attempt, now)
        if decision.allowed:
            self.guard.call_started(attempt)
            return True
        record.policy_verdict = "deny"
        record.policy_rule = "detect"
        record.policy_reason = decision.reason
        headers: tuple[tuple[str, str], ...] = ()
        if decision.retry_after:
            headers = (("Retry-After", str(decision.retry_after)),)
        reason = _GUARD_REASONS.get(decision.outcome.value, "Forbidden")
        if decision.sip_status == 403 and decision.reason == "Too Many Calls On This Line":
            reason = decision.reason
        self._reject(ctx, Rejection(decision.sip_status or 403, reason, headers), now)
        return False

    def _asserted_identity(self, plan: RoutePlan, device: DeviceRecord | None) -> str | None:
        """The caller's number as the switch vouches for it (RFC 3325), never the phone's word."""
        if device is None:
            return None
        directory = self.directory()
        extension = directory.extensions_by_id.get(device.extension_id)
        account = directory.accounts.get(device.account_id)
        if plan.trunk is None:
            return extension.number if extension else None
        if extension is not None and extension.dids:
            return extension.dids[0]
        return account.main_number if account else None

    def _reject(self, ctx: ProxyContext, rejection: Rejection, now: float) -> None:
        response = make_response(ctx.request, rejection.status, rejection.reason)
        for name, value in rejection.headers:
            response.headers.add(name, value)
        self.send_final(ctx, response, now)

    # -- forking ---------------------------------------------------------------------------
    def fork(
        self,
        ctx: ProxyContext,
        uri: SipURI,
        peer: Peer,
        now: float,
        *,
        identity: str | None = None,
        plan: RoutePlan | None = None,
    ) -> None:
        request = ctx.request
        record_routes: list[str] = []
        if request.method in DIALOG_CREATING:
            record_routes.append(self.me.record_route(ctx.source.transport))
            if peer.transport != ctx.source.transport:
                record_routes.append(self.me.record_route(peer.transport))
        via = self.me.via(peer.transport, new_branch(request))
        forwarded = forward_copy(request, uri, via, record_routes)
        for name in UNTRUSTED_IDENTITY:
            if not self._is_trunk(ctx.source):
                forwarded.headers.remove(name)
        forwarded.headers.remove("Proxy-Authorization")
        if identity is not None:
            forwarded.headers.set("P-Asserted-Identity", self._identity_uri(identity))
        if plan is not None and plan.emergency:
            username = ctx.record.device_id if ctx.record else None
            add_location(
                forwarded,
                plan.location,
                callback=identity,
                device_id=f"device-{username}",
                host=self.me.uri_host(),
                now=now,
            )
        tx, actions = self.transactions.create_client(forwarded, peer, now, reliable=peer.reliable)
        branch = Branch(forwarded, peer, tx)
        ctx.branches.append(branch)
        self.branches[tx] = (ctx, branch)
        self.actions.perform(tx, actions)

    def _identity_uri(self, number: str) -> str:
        return f"<sip:{number}@{self.me.uri_host()}>"

    def on_branch_response(
        self, ctx: ProxyContext, branch: Branch, response: Response, now: float
    ) -> None:
        _pop_top_via(response)
        status = response.status
        if status < 200:
            if branch.state is BranchState.TRYING:
                branch.state = BranchState.PROCEEDING
                if branch.cancelled:
                    self._send_cancel(branch, now)
            if status > 100 and not ctx.finished:
                self.respond(ctx, response, now)
            return
        branch.state = BranchState.COMPLETED
        if status < 300:
            first = not ctx.answered
            ctx.answered = ctx.finished = True
            self.respond(ctx, response, now)
            # A re-INVITE (To tag set) answers inside the existing dialog: it must not
            # replace it, or the call would lose its record and its sides.
            if first and ctx.is_invite and ctx.request.to.tag is None:
                self._answered(ctx, branch, response, now)
            return
        branch.final = response
        if status < 400 and ctx.record is not None and self.events is not None:
            record = ctx.record
            if detect_redirect(
                response,
                lambda user: self.policy.is_emergency(user, record.account_id, self.directory()),
            ):
                record.flags.append("transfer-to-911")
                self.events.transfer_to_911(
                    record.call_id, TransferKind.REDIRECT, record.account_id, record.device_id
                )
        if status >= 600:
            self.cancel_pending(ctx, now)
        if ctx.all_completed() and not ctx.finished:
            finals = [b.final for b in ctx.branches if b.final is not None]
            best = best_response(finals) or make_response(ctx.request, 500)
            self.send_final(ctx, self._final_for(ctx, best), now)

    def _final_for(self, ctx: ProxyContext, best: Response) -> Response:
        if ctx.end_reason is EndReason.RING_TIMEOUT:
            return _with_status(best, 480, "Temporarily Unavailable")
        if ctx.end_reason is EndReason.CALLER_CANCELLED:
            return _with_status(best, 487, "Request Terminated")
        if best.status in (401, 407) and not ctx.source.transport:
            return best
        return best

    def _answered(self, ctx: ProxyContext, branch: Branch, response: Response, now: float) -> None:
        self.cancel_pending(ctx, now)
        self._stop_timer(ctx)
        record = ctx.record
        if record is not None:
            record.answer_time = utc(now)
            record.sip_status = response.status
            record.disposition = Disposition.ANSWERED
            self.cdr.update(record)
        request = ctx.request
        caller_contact = request.contacts[0].uri if request.contacts else request.from_.uri
        callee_contact = response.contacts[0].uri if response.contacts else branch.request.uri
        dialog = Dialog(
            call_id=request.call_id,
            caller_tag=request.from_.tag or "",
            caller_peer=ctx.source,
            caller_target=str(caller_contact),
            caller_from=request.headers.get("From") or "",
            caller_to=request.headers.get("To") or "",
            callee_peer=branch.peer,
            callee_target=str(callee_contact),
            callee_tag=response.to.tag or "",
            state=DialogState.CONFIRMED,
            record=record,
            answered_at=now,
            last_alive=now,
            caller_cseq=request.cseq.seq,
        )
        self.dialogs.add(dialog)

    def cancel_pending(self, ctx: ProxyContext, now: float) -> None:
        for branch in ctx.pending():
            if branch.cancelled:
                continue
            branch.cancelled = True
            if branch.state is BranchState.PROCEEDING:
                self._send_cancel(branch, now)
            # §9.1: no CANCEL before a provisional; Timer B (or the grace below) ends it.
            self.schedule(CANCEL_GRACE, functools.partial(self._give_up, ctx, branch))

    def _give_up(self, ctx: ProxyContext, branch: Branch) -> None:
        if branch.state is not BranchState.COMPLETED:
            self.on_branch_response(ctx, branch, make_response(branch.request, 487), self.clock())

    def _send_cancel(self, branch: Branch, now: float) -> None:
        original = branch.request
        cancel = Request("CANCEL", original.uri, original.headers.copy())
        headers = cancel.headers
        for name in list({name for name, _ in original.headers}):
            if name not in ("Via", "From", "To", "Call-ID", "Route", "Max-Forwards"):
                headers.remove(name)
        headers.set("Via", str(original.top_via))
        headers.set("CSeq", f"{original.cseq.seq} CANCEL")
        tx, actions = self.transactions.create_client(
            cancel, branch.peer, now, reliable=branch.peer.reliable
        )
        self.actions.perform(tx, actions)

    def _cancel_from_caller(self, cancel: Request, source: Peer, now: float) -> None:
        invite_tx = self.transactions.find_invite_for_cancel(cancel)
        ctx = self.contexts.get(invite_tx) if invite_tx is not None else None
        if ctx is None:
            self.reply_stateless(cancel, source, make_response(cancel, 481), now)
            return
        self.reply_stateless(cancel, source, make_response(cancel, 200), now)
        if ctx.finished:
            return
        ctx.end_reason = EndReason.CALLER_CANCELLED
        if not ctx.branches:
            self.send_final(ctx, make_response(ctx.request, 487), now)
            return
        self.cancel_pending(ctx, now)

    def _ring_timeout(self, ctx: ProxyContext) -> None:
        ctx.timer = None
        if ctx.finished or ctx.answered:
            return
        ctx.end_reason = EndReason.RING_TIMEOUT
        self.cancel_pending(ctx, self.clock())

    def _stop_timer(self, ctx: ProxyContext) -> None:
        if ctx.timer is not None and hasattr(ctx.timer, "cancel"):
            ctx.timer.cancel()
        ctx.timer = None

    async def send_text(self, account_id: int, extension_number: str, text: str) -> bool:
        """A SIP MESSAGE from the switch to every phone of one account's extension (a
        front desk); True when one of them took it. Other accounts' extensions with the
        same number are never told."""
        extension = self.directory().extension(account_id, extension_number)
        now = self.clock()
        futures: list[asyncio.Future[bool]] = []
        if extension is not None:
            for target in contacts_of(extension, self.location, now):
                futures.append(self._message(target.uri, target.peer, extension_number, text, now))
        if not futures:
            return False
        results = await asyncio.gather(*futures)
        return any(results)

    def _message(
        self, uri: SipURI, peer: Peer, extension: str, text: str, now: float
    ) -> asyncio.Future[bool]:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        host = self.me.uri_host()
        headers = Headers(
            [
                ("From", f'"Emergency Alert" <sip:e911@{host}>;tag={new_branch_tag()}'),
                ("To", f"<sip:{extension}@{host}>"),
                ("Call-ID", f"{new_branch_tag()}{new_branch_tag()}@{host}"),
                ("CSeq", "1 MESSAGE"),
                ("Max-Forwards", "70"),
                ("Content-Type", "text/plain;charset=utf-8"),
            ]
        )
        request = Request("MESSAGE", uri, headers, text.encode())
        headers.prepend("Via", str(self.me.via(peer.transport, new_branch(request))))

        def answered(response: Response | None) -> None:
            if not future.done():
                future.set_result(response is not None and 200 <= response.status < 300)

        tx, actions = self.transactions.create_client(request, peer, now, reliable=peer.reliable)
        self.probes[tx] = answered
        self.actions.perform(tx, actions)
        return future

    # -- answering upstream ----------------------------------------------------------------
    def open_context(self, request: Request, source: Peer, now: float) -> ProxyContext:
        tx = self.actions.open_server(request, source, now)
        ctx = ProxyContext(request, source, tx)
        self.contexts[tx] = ctx
        return ctx

    def respond(self, ctx: ProxyContext, response: Response, now: float) -> None:
        self.actions.send_response(ctx.server_tx, response, now)

    def send_final(self, ctx: ProxyContext, response: Response, now: float) -> None:
        if ctx.finished:
            return
        ctx.finished = True
        self._stop_timer(ctx)
        if response.to.tag is None:
            response.headers.set(
                "To", f"{ctx.request.headers.get('To')};tag={new_branch(ctx.request)[7:19]}"
            )
        self.respond(ctx, response, now)
        record = ctx.record
        if record is not None and record.end_time is None:
            record.end_time = utc(now)
            record.sip_status = response.status
            record.disposition = disposition_for(response.status, ctx.end_reason)
            record.closed_by = ClosedBy.SIGNALLING
            self.cdr.finish(record)
        self.finish_context(ctx)

    def finish_context(self, ctx: ProxyContext) -> None:
        ctx.finished = True
        self.contexts.pop(ctx.server_tx, None)

    def reply_stateless(
        self, request: Request, source: Peer, response: Response, now: float
    ) -> None:
        if response.status > 100 and response.to.tag is None:
            response.headers.set(
                "To", f"{request.headers.get('To')};tag={new_branch(request)[7:19]}"
            )
        self.actions.respond(request, response, source, now)


def _note_judgement(record: CallRecord | None, judgement: Judgement) -> None:
    if record is None:
        return
    decision = judgement.decision
    record.policy_verdict = decision.verdict.value
    record.policy_rule = decision.rule_id.value
    record.policy_reason = decision.reason
    destination = judgement.destination
    if destination is not None:
        record.destination_class = destination.dest_class.value
        record.destination = destination.e164 or destination.digits
    if judgement.caller_id is not None:
        record.caller_asserted = judgement.caller_id.sent
    record.flags.extend(sorted(decision.tags))


def _policy_rejection(judgement: Judgement) -> Rejection:
    decision = judgement.decision
    headers = (
        ("Reason", reason_header(decision)),
        ("Warning", warning_header(decision)),
    )
    return Rejection(decision.sip_status or 403, decision.reason, headers)


_GUARD_REASONS = {"throttle": "Too Many Calls - Try Later", "deny": "Calling Restricted"}


def _with_to_tag(request: Request, response: Response) -> Response:
    """A stateless final answer still needs a To tag (§8.2.6.2); derive it from the request
    so a retransmitted request gets the same one."""
    if response.to.tag is None:
        seed = f"{request.call_id}|{request.from_.tag}|{request.cseq.seq}".encode(
            "utf-8", "surrogateescape"
        )
        tag = hashlib.blake2b(seed, digest_size=6).hexdigest()
        response.headers.set("To", f"{request.headers.get('To')};tag={tag}")
    return response


def new_branch_tag() -> str:
    return ids.token(6)


def disposition_for(status: int, reason: EndReason) -> Disposition:
    if 200 <= status < 300:
        return Disposition.ANSWERED
    if reason is EndReason.CALLER_CANCELLED:
        return Disposition.CANCELLED
    if reason is EndReason.RING_TIMEOUT or status in (408, 480):
        return Disposition.NO_ANSWER
    if status in (486, 600):
        return Disposition.BUSY
    if status == 487:
        return Disposition.CANCELLED
    if status in (401, 403, 407):
        return Disposition.REJECTED
    return Disposition.FAILED


def _pop_top_via(response: Response) -> None:
    values = response.headers.values("Via")
    response.headers.remove("Via")
    for value in reversed(values[1:]):
        response.headers.prepend("Via", value)


def _with_status(response: Response, status: int, reason: str) -> Response:
    if response.status == status:
        return response
    return Response(status, reason, response.headers.copy(), b"")
