"""Client transactions: RFC 3261 §17.1.1 (INVITE, with RFC 6026 Accepted) and §17.1.2."""

from __future__ import annotations

import itertools
from typing import TypeVar

import pytest

from switch.sip.message import Request, Response, parse_message
from switch.sip.timers import TimerConfig, TimerConfigError, TimerName
from switch.sip.transaction import (
    Action,
    CancelTimer,
    DeliverToTU,
    SendMessage,
    StartTimer,
    Terminated,
    TimeoutToTU,
    TransactionError,
    TransactionState,
    TransportErrorToTU,
)
from switch.sip.transaction_client import (
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    ClientTransaction,
)

PEER = ("192.0.2.4", 5060)
A = TypeVar("A")
T = TimerConfig()

# RFC 3261 §24.2 style: the proxy forwards Alice's INVITE, its own Via on top.
INVITE = (
    b"INVITE sip:bob@192.0.2.4 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP ss1.atlanta.example.com;branch=z9hG4bK2d4790.1\r\n"
    b"Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101\r\n"
    b"Max-Forwards: 69\r\n"
    b"Route: <sip:ss2.biloxi.example.com;lr>\r\n"
    b"Route: <sip:ss3.biloxi.example.com;lr>\r\n"
    b"Record-Route: <sip:ss1.atlanta.example.com;lr>\r\n"
    b"From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b"Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: <sip:alice@client.atlanta.example.com>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n"
    b"\r\n"
    b"v=0\n"
)

OPTIONS = (
    b"OPTIONS sip:carol@chicago.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP ss1.atlanta.example.com;branch=z9hG4bKhjhs8ass877\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: <sip:carol@chicago.example.com>\r\n"
    b"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710\r\n"
    b"CSeq: 63104 OPTIONS\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


def request(data: bytes) -> Request:
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


def answer(req: Request, status: int, reason: str, to_tag: str | None = "314159") -> Response:
    """A response to ``req`` as the next hop would put it on the wire."""
    to = req.headers.get("To") or ""
    if to_tag is not None:
        to = f"{to};tag={to_tag}"
    text = (
        f"SIP/2.0 {status} {reason}\r\n"
        f"Via: {req.headers.get_all('Via')[0]}\r\n"
        f"From: {req.headers.get('From')}\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {req.call_id}\r\n"
        f"CSeq: {req.cseq}\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Response)
    return message


class Clock:
    """Plays the caller's part: arms the timers a transaction asks for and fires them in order."""

    def __init__(self, tx: ClientTransaction) -> None:
        self.tx = tx
        self.timers: dict[TimerName, float] = {}
        self.log: list[tuple[float, Action]] = []

    def apply(self, actions: list[Action], now: float) -> list[Action]:
        for action in actions:
            self.log.append((now, action))
            if isinstance(action, StartTimer):
                self.timers[action.timer] = action.at
            elif isinstance(action, CancelTimer):
                del self.timers[action.timer]
        return actions

    def run_until(self, end: float) -> None:
        while self.timers:
            timer, at = min(self.timers.items(), key=lambda item: item[1])
            if at > end:
                return
            del self.timers[timer]
            self.apply(self.tx.timer_fired(timer, at), at)

    def sent_at(self) -> list[float]:
        return [now for now, action in self.log if isinstance(action, SendMessage)]

    def of_type(self, kind: type[A]) -> list[tuple[float, A]]:
        return [(now, action) for now, action in self.log if isinstance(action, kind)]


def started_invite(*, reliable: bool = False, now: float = 0.0) -> ClientInviteTransaction:
    tx = ClientInviteTransaction(request(INVITE), PEER, reliable=reliable)
    tx.send(tx.request, now)
    return tx


# --- INVITE client ------------------------------------------------------------------------------


def test_invite_is_sent_to_the_peer_with_timers_a_and_b() -> None:
    tx = ClientInviteTransaction(request(INVITE), PEER)
    actions = tx.send(tx.request, 100.0)
    assert actions == [
        SendMessage(tx.request, PEER),
        StartTimer(TimerName.A, 100.0 + T.t1),
        StartTimer(TimerName.B, 100.0 + 64 * T.t1),
    ]
    assert tx.state is TransactionState.CALLING


def test_invite_retransmissions_double_until_timer_b_times_out() -> None:
    tx = ClientInviteTransaction(request(INVITE), PEER)
    clock = Clock(tx)
    clock.apply(tx.send(tx.request, 0.0), 0.0)
    clock.run_until(1000.0)

    a_intervals = [a.at - now for now, a in clock.of_type(StartTimer) if a.timer is TimerName.A]
    assert a_intervals == [T.t1 * 2**i for i in range(7)]  # 0.5 .. 32; the last one never fires
    assert clock.sent_at() == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert all(a.message is tx.request for _, a in clock.of_type(SendMessage))
    assert clock.of_type(TimeoutToTU) == [(64 * T.t1, TimeoutToTU())]
    assert clock.log[-1] == (64 * T.t1, Terminated())
    assert tx.state is TransactionState.TERMINATED
    assert clock.timers == {}


def test_custom_t1_scales_the_schedule() -> None:
    tx = ClientInviteTransaction(request(INVITE), PEER, config=TimerConfig(t1=0.1))
    clock = Clock(tx)
    clock.apply(tx.send(tx.request, 0.0), 0.0)
    clock.run_until(1000.0)
    assert clock.sent_at() == pytest.approx([0.0, 0.1, 0.3, 0.7, 1.5, 3.1, 6.3])
    assert clock.of_type(TimeoutToTU)[0][0] == pytest.approx(6.4)


def test_provisional_response_stops_retransmission_and_reaches_the_tu() -> None:
    tx = started_invite()
    clock = Clock(tx)
    clock.timers = {TimerName.A: 0.5, TimerName.B: 32.0}
    ringing = answer(tx.request, 180, "Ringing")
    actions = clock.apply(tx.receive(ringing, 0.3), 0.3)
    assert DeliverToTU(ringing) in actions
    assert tx.state is TransactionState.PROCEEDING
    clock.run_until(500.0)
    assert clock.sent_at() == []  # no retransmission and no timeout once Proceeding
    assert tx.state is TransactionState.PROCEEDING


def test_later_provisionals_also_reach_the_tu() -> None:
    tx = started_invite()
    tx.receive(answer(tx.request, 100, "Trying", to_tag=None), 0.1)
    progress = answer(tx.request, 183, "Session Progress")
    assert tx.receive(progress, 0.2) == [DeliverToTU(progress)]


def test_non_2xx_final_response_is_acked_and_passed_up() -> None:
    tx = started_invite()
    busy = answer(tx.request, 486, "Busy Here", to_tag="bx77")
    actions = tx.receive(busy, 2.0)
    assert tx.state is TransactionState.COMPLETED
    assert tx.ack is not None
    assert actions == [
        CancelTimer(TimerName.A),
        CancelTimer(TimerName.B),
        DeliverToTU(busy),
        SendMessage(tx.ack, PEER),
        StartTimer(TimerName.D, 2.0 + 32.0),
    ]


def test_ack_for_non_2xx_follows_rfc3261_17_1_1_3() -> None:
    tx = started_invite()
    tx.receive(answer(tx.request, 404, "Not Found", to_tag="nf1"), 1.0)
    assert tx.ack is not None
    # What goes on the wire must parse back into the ACK the RFC describes.
    ack = parse_message(tx.ack.to_bytes())
    assert isinstance(ack, Request)
    invite = tx.request
    assert ack.method == "ACK"
    assert str(ack.uri) == str(invite.uri)
    assert [str(v) for v in ack.vias] == [str(invite.top_via)]
    assert ack.top_via.branch == "z9hG4bK2d4790.1"
    assert ack.headers.get_all("Route") == invite.headers.get_all("Route")
    assert ack.headers.get("Record-Route") is None
    assert ack.headers.get("From") == invite.headers.get("From")
    assert ack.to.tag == "nf1"
    assert str(ack.to.uri) == str(invite.to.uri)
    assert ack.call_id == invite.call_id
    assert (ack.cseq.seq, ack.cseq.method) == (1, "ACK")
    assert ack.max_forwards == 69
    assert ack.body == b""
    assert ack.headers.get("Content-Type") is None


def test_retransmitted_final_response_resends_the_ack_only() -> None:
    tx = started_invite()
    busy = answer(tx.request, 486, "Busy Here")
    first = tx.receive(busy, 1.0)
    again = tx.receive(answer(tx.request, 486, "Busy Here"), 1.6)
    assert tx.ack is not None
    assert again == [SendMessage(tx.ack, PEER)]
    assert SendMessage(tx.ack, PEER) in first
    assert tx.state is TransactionState.COMPLETED


def test_timer_d_ends_the_completed_state() -> None:
    tx = started_invite()
    tx.receive(answer(tx.request, 603, "Decline"), 1.0)
    assert tx.timer_fired(TimerName.D, 33.0) == [Terminated()]
    assert tx.terminated


def test_2xx_moves_to_accepted_and_is_not_acked_by_the_transaction() -> None:
    tx = started_invite()
    ok = answer(tx.request, 200, "OK", to_tag="ok1")
    actions = tx.receive(ok, 3.0)
    assert tx.state is TransactionState.ACCEPTED
    assert DeliverToTU(ok) in actions
    assert StartTimer(TimerName.M, 3.0 + 64 * T.t1) in actions
    assert not [a for a in actions if isinstance(a, SendMessage)]
    assert tx.ack is None


def test_accepted_passes_2xx_retransmissions_and_forks_to_the_tu() -> None:
    tx = started_invite()
    tx.receive(answer(tx.request, 200, "OK", to_tag="ok1"), 3.0)
    again = answer(tx.request, 200, "OK", to_tag="ok1")
    fork = answer(tx.request, 200, "OK", to_tag="other-branch")
    assert tx.receive(again, 3.5) == [DeliverToTU(again)]
    assert tx.receive(fork, 3.6) == [DeliverToTU(fork)]
    assert tx.receive(answer(tx.request, 180, "Ringing"), 3.7) == []
    assert tx.receive(answer(tx.request, 486, "Busy Here"), 3.8) == []
    assert tx.timer_fired(TimerName.M, 35.0) == [Terminated()]
    assert tx.receive(again, 36.0) == []


def test_invite_over_tcp_has_no_timer_a_and_a_zero_timer_d() -> None:
    tx = ClientInviteTransaction(request(INVITE), PEER, reliable=True)
    assert tx.send(tx.request, 0.0) == [
        SendMessage(tx.request, PEER),
        StartTimer(TimerName.B, 64 * T.t1),
    ]
    busy = answer(tx.request, 486, "Busy Here")
    actions = tx.receive(busy, 1.0)
    assert tx.ack is not None
    assert actions == [
        CancelTimer(TimerName.B),
        DeliverToTU(busy),
        SendMessage(tx.ack, PEER),
        Terminated(),
    ]


def test_transport_error_while_calling_informs_the_tu_and_terminates() -> None:
    tx = started_invite()
    actions = tx.transport_error(0.1)
    assert actions[0] == TransportErrorToTU()
    assert set(actions[1:-1]) == {CancelTimer(TimerName.A), CancelTimer(TimerName.B)}
    assert actions[-1] == Terminated()
    assert tx.terminated
    assert tx.transport_error(0.2) == []


def test_transport_error_in_accepted_keeps_absorbing_until_timer_m() -> None:
    tx = started_invite()
    tx.receive(answer(tx.request, 200, "OK"), 1.0)
    assert tx.transport_error(1.1) == [TransportErrorToTU()]
    assert tx.state is TransactionState.ACCEPTED


def test_stale_timer_after_cancel_is_ignored() -> None:
    tx = started_invite()
    tx.receive(answer(tx.request, 180, "Ringing"), 0.2)
    assert tx.timer_fired(TimerName.A, 0.5) == []
    assert tx.timer_fired(TimerName.B, 32.0) == []
    assert tx.state is TransactionState.PROCEEDING


def test_invite_client_rejects_misuse() -> None:
    with pytest.raises(TransactionError):
        ClientInviteTransaction(request(OPTIONS), PEER)
    tx = started_invite()
    with pytest.raises(TransactionError):
        tx.send(tx.request, 1.0)
    other = ClientInviteTransaction(request(INVITE), PEER)
    with pytest.raises(TransactionError):
        other.send(request(INVITE), 0.0)


# --- non-INVITE client --------------------------------------------------------------------------


def test_non_invite_retransmissions_are_capped_at_t2_until_timer_f() -> None:
    tx = ClientNonInviteTransaction(request(OPTIONS), PEER)
    clock = Clock(tx)
    clock.apply(tx.send(tx.request, 0.0), 0.0)
    assert clock.timers == {TimerName.E: T.t1, TimerName.F: 64 * T.t1}
    clock.run_until(1000.0)
    sent = clock.sent_at()
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert gaps[:4] == [0.5, 1.0, 2.0, 4.0]
    assert set(gaps[4:]) == {T.t2}
    assert sent[-1] <= 64 * T.t1
    assert clock.of_type(TimeoutToTU) == [(64 * T.t1, TimeoutToTU())]
    assert tx.terminated


def test_non_invite_in_proceeding_retransmits_every_t2() -> None:
    tx = ClientNonInviteTransaction(request(OPTIONS), PEER)
    clock = Clock(tx)
    clock.apply(tx.send(tx.request, 0.0), 0.0)
    trying = answer(tx.request, 100, "Trying", to_tag=None)
    assert clock.apply(tx.receive(trying, 0.1), 0.1) == [DeliverToTU(trying)]
    assert tx.state is TransactionState.PROCEEDING
    clock.run_until(20.0)
    assert clock.sent_at() == [0.0, 0.5, 4.5, 8.5, 12.5, 16.5]


def test_non_invite_final_response_completes_and_absorbs_retransmissions() -> None:
    tx = ClientNonInviteTransaction(request(OPTIONS), PEER)
    tx.send(tx.request, 0.0)
    ok = answer(tx.request, 200, "OK")
    assert tx.receive(ok, 0.7) == [
        DeliverToTU(ok),
        CancelTimer(TimerName.E),
        CancelTimer(TimerName.F),
        StartTimer(TimerName.K, 0.7 + T.t4),
    ]
    assert tx.state is TransactionState.COMPLETED
    assert tx.receive(answer(tx.request, 200, "OK"), 1.0) == []
    assert tx.timer_fired(TimerName.E, 1.5) == []
    assert tx.timer_fired(TimerName.K, 5.7) == [Terminated()]


def test_non_invite_over_tcp_has_no_timer_e_and_a_zero_timer_k() -> None:
    tx = ClientNonInviteTransaction(request(OPTIONS), PEER, reliable=True)
    assert tx.send(tx.request, 0.0) == [
        SendMessage(tx.request, PEER),
        StartTimer(TimerName.F, 64 * T.t1),
    ]
    ok = answer(tx.request, 200, "OK")
    assert tx.receive(ok, 0.1) == [DeliverToTU(ok), CancelTimer(TimerName.F), Terminated()]


def test_non_invite_transport_error_terminates() -> None:
    tx = ClientNonInviteTransaction(request(OPTIONS), PEER)
    tx.send(tx.request, 0.0)
    actions = tx.transport_error(0.0)
    assert TransportErrorToTU() in actions and actions[-1] == Terminated()


def test_non_invite_client_refuses_invite() -> None:
    with pytest.raises(TransactionError):
        ClientNonInviteTransaction(request(INVITE), PEER)


def test_timer_config_rejects_unusable_values() -> None:
    with pytest.raises(TimerConfigError):
        TimerConfig(t1=0)
    with pytest.raises(TimerConfigError):
        TimerConfig(t1=5.0, t2=4.0)
