"""In-dialog routing through the record-route, dead-call probes, and ending calls."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from switch.cdr.record import ClosedBy, Disposition, HangupBy
from switch.sip.address import parse_address_list
from switch.sip.errors import SipError
from switch.sip.headers import Headers
from switch.sip.message import Request, Response, make_response
from switch.sip.uri import SipURI, parse_uri
from switch.transport.peer import Peer

from .context import ProxyContext
from .dialogs import Dialog, DialogState
from .forwarding import destination_of, forward_copy, new_branch
from .routing import is_local_uri
from .transfers import detect_refer

if TYPE_CHECKING:
    from .proxy import Proxy

log = logging.getLogger(__name__)
DEAD_STATUSES = frozenset({408, 481})


def _next_hop(
    proxy: Proxy, request: Request, dialog: Dialog | None, routed_via_us: bool
) -> Peer | None:
    if dialog is None and not routed_via_us:
        # Not a dialog this switch record-routes: relaying it would make an open relay.
        return None
    routes = request.headers.values("Route")
    if routes:
        try:
            uri = parse_address_list(routes[0])[0].uri
        except (SipError, IndexError):
            return None
        return destination_of(uri) if isinstance(uri, SipURI) else None
    if dialog is not None:
        # Reach each side where its packets came from, not where its Contact says (NAT).
        return dialog.callee_peer if dialog.from_caller(request.from_.tag) else dialog.caller_peer
    uri = request.uri
    if isinstance(uri, SipURI) and not is_local_uri(uri, proxy.local_hosts, proxy.me.local_ports):
        return destination_of(uri)
    return None


def forward_in_dialog(
    proxy: Proxy, request: Request, source: Peer, now: float, *, routed_via_us: bool
) -> None:
    dialog = proxy.dialogs.find(request.call_id, request.from_.tag, request.to.tag)
    if dialog is not None:
        dialog.note_cseq(request.from_.tag, request.cseq.seq)
    peer = _next_hop(proxy, request, dialog, routed_via_us)
    if peer is None:
        if request.method != "ACK":
            proxy.reply_stateless(request, source, make_response(request, 481), now)
        return
    via = proxy.me.via(peer.transport, new_branch(request))
    if request.method == "ACK":
        # The ACK of a 2xx is its own end-to-end transaction: forwarded statelessly.
        forwarded = forward_copy(request, request.uri, via, [])
        proxy.actions.send_bytes(forwarded.to_bytes(), peer)
        return
    ctx = proxy.open_context(request, source, now)
    if request.method == "REFER" and _refused_refer_to_911(proxy, ctx, request, dialog, now):
        return
    if request.method == "BYE" and dialog is not None:
        hangup = HangupBy.CALLER if dialog.from_caller(request.from_.tag) else HangupBy.CALLEE
        end_dialog(proxy, dialog, now, hangup, ClosedBy.SIGNALLING, send_bye=False)
    uri = request.uri
    if not isinstance(uri, SipURI):
        proxy.send_final(ctx, make_response(request, 416), now)
        return
    proxy.fork(ctx, uri, peer, now)


def _refused_refer_to_911(
    proxy: Proxy, ctx: ProxyContext, request: Request, dialog: Dialog | None, now: float
) -> bool:
    """Blind or attended transfer to 911: charged and let through, or refused by setting."""
    record = dialog.record if dialog is not None else None
    account_id = record.account_id if record is not None else None
    directory = proxy.directory()

    def replaced_is_emergency(call_id: str) -> bool:
        other = proxy.dialogs.get(call_id)
        cls = other.record.destination_class if other and other.record else None
        return cls in ("emergency", "emergency_test")

    kind = detect_refer(
        request,
        lambda user: proxy.policy.is_emergency(user, account_id, directory),
        replaced_is_emergency,
    )
    if kind is None:
        return False
    account = directory.accounts.get(account_id) if account_id is not None else None
    if account is not None and account.e911.transfer_action == "refuse":
        response = make_response(request, 403, "Hang Up And Dial 911")
        response.headers.add(
            "Warning", '399 softswitch "calls cannot be transferred to 911: hang up and dial 911"'
        )
        proxy.send_final(ctx, response, now)
        return True
    if record is not None and "transfer-to-911" not in record.flags:
        record.flags.append("transfer-to-911")
    if proxy.events is not None:
        device_id = record.device_id if record is not None else None
        proxy.events.transfer_to_911(request.call_id, kind, account_id, device_id)
    return False


def end_dialog(
    proxy: Proxy,
    dialog: Dialog,
    end: float,
    hangup: HangupBy,
    closed_by: ClosedBy,
    *,
    send_bye: bool,
) -> None:
    """Close the call record and forget the dialog; optionally hang up both sides."""
    if dialog.state is DialogState.TERMINATED:
        return
    dialog.state = DialogState.TERMINATED
    proxy.dialogs.remove(dialog.call_id)
    if send_bye:
        now = proxy.clock()
        _send_in_dialog(proxy, dialog, "BYE", to_callee=True, now=now)
        _send_in_dialog(proxy, dialog, "BYE", to_callee=False, now=now)
    record = dialog.record
    if record is not None and record.end_time is None:
        from .proxy import utc

        record.end_time = max(utc(end), record.answer_time or record.start_time)
        record.disposition = record.disposition or Disposition.ANSWERED
        record.hangup_by = hangup
        record.closed_by = closed_by
        proxy.cdr.finish(record)


def _send_in_dialog(
    proxy: Proxy,
    dialog: Dialog,
    method: str,
    *,
    to_callee: bool,
    now: float,
    on_answer: object = None,
) -> None:
    """A request the switch itself sends inside a dialog it record-routes."""
    if to_callee:
        target, peer = dialog.callee_target, dialog.callee_peer
        from_value = dialog.caller_from
        to_value = f"{dialog.caller_to};tag={dialog.callee_tag}"
        # Equal to the last CSeq seen is accepted by the UAS (RFC 3261 §12.2.2) and does not
        # push the caller's own next request below it.
        seq = dialog.caller_cseq + (1 if method == "BYE" else 0)
    else:
        target, peer = dialog.caller_target, dialog.caller_peer
        from_value = f"{dialog.caller_to};tag={dialog.callee_tag}"
        to_value = dialog.caller_from
        seq = max(dialog.callee_cseq, 1) + (1 if method == "BYE" else 0)
    try:
        uri = parse_uri(target)
    except SipError:
        return
    headers = Headers(
        [
            ("From", from_value),
            ("To", to_value),
            ("Call-ID", dialog.call_id),
            ("CSeq", f"{seq} {method}"),
            ("Max-Forwards", "70"),
        ]
    )
    request = Request(method, uri, headers)
    headers.prepend("Via", str(proxy.me.via(peer.transport, new_branch(request))))
    tx, actions = proxy.transactions.create_client(request, peer, now, reliable=peer.reliable)
    if on_answer is not None:
        proxy.probes[tx] = on_answer  # type: ignore[assignment]
    proxy.actions.perform(tx, actions)


def maintain_dialogs(proxy: Proxy, now: float) -> None:
    """Called every second: enforce the maximum call length, probe for dead calls."""
    settings = proxy.settings.proxy
    for dialog in proxy.dialogs:
        if dialog.state is not DialogState.CONFIRMED:
            continue
        if now - dialog.answered_at >= settings.max_call_seconds:
            log.info("call reached the maximum length; ending it")
            end_dialog(proxy, dialog, now, HangupBy.SWITCH, ClosedBy.TIMEOUT, send_bye=True)
            continue
        last_probe = float(dialog.extra.get("last_probe", dialog.answered_at))  # type: ignore[arg-type]
        if now - last_probe >= settings.keepalive_interval:
            dialog.extra["last_probe"] = now
            _probe(proxy, dialog, now)


def _probe(proxy: Proxy, dialog: Dialog, now: float) -> None:
    for to_callee in (True, False):

        def answered(response: Response | None, sent: float = now) -> None:
            if dialog.state is not DialogState.CONFIRMED:
                return
            status = 408 if response is None else response.status
            if status in DEAD_STATUSES:
                log.info("in-dialog probe got %d: the call is dead", status)
                # Bill only up to the last moment both sides were known to be there.
                end_dialog(
                    proxy,
                    dialog,
                    dialog.last_alive,
                    HangupBy.SWITCH,
                    ClosedBy.TIMEOUT,
                    send_bye=True,
                )
            else:
                dialog.last_alive = max(dialog.last_alive, sent)

        _send_in_dialog(proxy, dialog, "OPTIONS", to_callee=to_callee, now=now, on_answer=answered)


def end_call_on_command(proxy: Proxy, call_id: str) -> bool:
    """End a confirmed call (operator or automatic action): BYE both ways."""
    dialog = proxy.dialogs.get(call_id)
    if dialog is None:
        return False
    end_dialog(proxy, dialog, proxy.clock(), HangupBy.SWITCH, ClosedBy.COMMAND, send_bye=True)
    return True


def response_is_final(response: Response) -> bool:
    return response.status >= 200
