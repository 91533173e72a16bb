"""Server transactions: RFC 3261 §17.2.1 (INVITE, with RFC 6026 Accepted) and §17.2.2."""

from __future__ import annotations

import itertools

import pytest

from switch.sip.message import Request, Response, make_response, parse_message
from switch.sip.timers import TimerConfig, TimerName
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
    TransactionTerminated,
    TransportErrorToTU,
)
from switch.sip.transaction_server import (
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    ServerTransaction,
)

PEER = ("192.0.2.101", 5060)
T = TimerConfig()

INVITE = (
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b"Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Timestamp: 54\r\n"
    b"Contact: <sip:alice@client.atlanta.example.com>\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

# The ACK Alice's client transaction sends for a non-2xx answer tagged "srv1".
ACK = (
    b"ACK sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>;tag=srv1\r\n"
    b"Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    b"CSeq: 1 ACK\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

REGISTER = (
    b"REGISTER sip:registrar.biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b"From: Bob <sip:bob@biloxi.example.com>;tag=456248\r\n"
    b"Call-ID: 843817637684230@998sdasdh09\r\n"
    b"CSeq: 1826 REGISTER\r\n"
    b"Contact: <sip:bob@192.0.2.4>\r\n"
    b"Expires: 7200\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


def request(data: bytes) -> Request:
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


def reply(tx: ServerTransaction, status: int) -> Response:
    return make_response(tx.request, status, to_tag="srv1")


def state_of(tx: ServerTransaction) -> TransactionState:
    """Read the state through a call, so a type checker does not pin it between events."""
    return tx.state


def sends(actions: list[Action]) -> list[Response | Request]:
    return [a.message for a in actions if isinstance(a, SendMessage)]


class Clock:
    """Arms the timers a transaction asks for and fires them in deadline order."""

    def __init__(self, tx: ServerTransaction) -> None:
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


def new_invite(
    *, reliable: bool = False, now: float = 0.0
) -> tuple[ServerInviteTransaction, Clock]:
    tx = ServerInviteTransaction(request(INVITE), PEER, reliable=reliable)
    clock = Clock(tx)
    clock.apply(tx.receive(tx.request, now), now)
    return tx, clock


# --- INVITE server ------------------------------------------------------------------------------


def test_new_invite_goes_to_the_tu_and_arms_the_trying_timer() -> None:
    tx = ServerInviteTransaction(request(INVITE), PEER)
    assert tx.receive(tx.request, 10.0) == [
        DeliverToTU(tx.request),
        StartTimer(TimerName.TRYING, 10.0 + T.trying_delay),
    ]
    assert tx.state is TransactionState.PROCEEDING


def test_100_trying_is_sent_when_the_tu_stays_silent_for_200_ms() -> None:
    tx, clock = new_invite()
    clock.run_until(0.19)
    assert clock.sent_at() == []
    clock.run_until(0.2)
    assert clock.sent_at() == [0.2]
    trying = sends([a for _, a in clock.log])[0]
    assert isinstance(trying, Response)
    assert trying.status == 100
    assert trying.to.tag is None
    assert trying.headers.get("Timestamp") == "54"
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        assert trying.headers.get_all(name) == tx.request.headers.get_all(name)


def test_no_100_trying_when_the_tu_answers_in_time() -> None:
    tx, clock = new_invite()
    ringing = reply(tx, 180)
    assert clock.apply(tx.send(ringing, 0.05), 0.05) == [
        CancelTimer(TimerName.TRYING),
        SendMessage(ringing, PEER),
    ]
    clock.run_until(100.0)
    assert clock.sent_at() == [0.05]
    assert tx.timer_fired(TimerName.TRYING, 0.2) == []


def test_retransmitted_invite_gets_the_last_provisional_again() -> None:
    tx, clock = new_invite()
    assert tx.receive(request(INVITE), 0.1) == []  # nothing sent yet: absorbed
    clock.run_until(0.2)
    trying = tx.last_response
    assert trying is not None and trying.status == 100
    assert tx.receive(request(INVITE), 0.5) == [SendMessage(trying, PEER)]
    ringing = reply(tx, 180)
    tx.send(ringing, 0.6)
    assert tx.receive(request(INVITE), 1.0) == [SendMessage(ringing, PEER)]


def test_non_2xx_final_is_retransmitted_by_timer_g_until_timer_h() -> None:
    tx, clock = new_invite()
    busy = reply(tx, 486)
    assert clock.apply(tx.send(busy, 0.1), 0.1) == [
        CancelTimer(TimerName.TRYING),
        SendMessage(busy, PEER),
        StartTimer(TimerName.G, 0.1 + T.t1),
        StartTimer(TimerName.H, 0.1 + 64 * T.t1),
    ]
    assert tx.state is TransactionState.COMPLETED
    clock.run_until(1000.0)
    sent = clock.sent_at()
    gaps = [round(b - a, 9) for a, b in itertools.pairwise(sent)]
    assert gaps[:4] == [0.5, 1.0, 2.0, 4.0]
    assert set(gaps[4:]) == {T.t2}
    assert all(a.message is busy for _, a in clock.log if isinstance(a, SendMessage))
    timeouts = [now for now, a in clock.log if isinstance(a, TimeoutToTU)]
    assert timeouts == [pytest.approx(0.1 + 64 * T.t1)]
    assert clock.log[-1][1] == Terminated()
    assert tx.terminated


def test_retransmitted_invite_in_completed_gets_the_final_response() -> None:
    tx, _ = new_invite()
    busy = reply(tx, 486)
    tx.send(busy, 0.1)
    assert tx.receive(request(INVITE), 0.3) == [SendMessage(busy, PEER)]


def test_ack_for_non_2xx_is_absorbed_and_confirms() -> None:
    tx, _ = new_invite()
    tx.send(reply(tx, 486), 0.1)
    actions = tx.receive(request(ACK), 0.4)
    assert actions == [
        CancelTimer(TimerName.G),
        CancelTimer(TimerName.H),
        StartTimer(TimerName.I, 0.4 + T.t4),
    ]
    assert tx.state is TransactionState.CONFIRMED
    # Retransmitted ACKs and INVITEs are absorbed silently until Timer I.
    assert tx.receive(request(ACK), 0.5) == []
    assert tx.receive(request(INVITE), 0.6) == []
    assert tx.timer_fired(TimerName.G, 0.6) == []
    assert tx.timer_fired(TimerName.I, 5.4) == [Terminated()]


def test_2xx_moves_to_accepted_with_timer_l() -> None:
    tx, _ = new_invite()
    ok = reply(tx, 200)
    assert tx.send(ok, 0.1) == [
        CancelTimer(TimerName.TRYING),
        SendMessage(ok, PEER),
        StartTimer(TimerName.L, 0.1 + 64 * T.t1),
    ]
    assert tx.state is TransactionState.ACCEPTED


def test_accepted_absorbs_invite_retransmissions_and_passes_acks_up() -> None:
    tx, _ = new_invite()
    ok = reply(tx, 200)
    tx.send(ok, 0.1)
    assert tx.receive(request(INVITE), 0.6) == []  # RFC 6026: the TU resends its 2xx itself
    assert tx.send(ok, 0.6) == [SendMessage(ok, PEER)]
    assert tx.send(reply(tx, 500), 0.7) == []  # only 2xx may follow a 2xx
    ack = request(ACK)
    assert tx.receive(ack, 0.8) == [DeliverToTU(ack)]
    assert tx.timer_fired(TimerName.L, 32.1) == [Terminated()]
    with pytest.raises(TransactionTerminated):
        tx.send(ok, 33.0)


def test_invite_server_over_tcp_has_no_timer_g_and_a_zero_timer_i() -> None:
    tx, _ = new_invite(reliable=True)
    busy = reply(tx, 486)
    assert tx.send(busy, 0.1) == [
        CancelTimer(TimerName.TRYING),
        SendMessage(busy, PEER),
        StartTimer(TimerName.H, 0.1 + 64 * T.t1),
    ]
    assert tx.receive(request(ACK), 0.2) == [CancelTimer(TimerName.H), Terminated()]


def test_invite_server_transport_error_informs_the_tu() -> None:
    tx, _ = new_invite()
    tx.send(reply(tx, 486), 0.1)
    actions = tx.transport_error(0.2)
    assert actions[0] == TransportErrorToTU()
    assert actions[-1] == Terminated()
    assert tx.terminated


def test_server_transaction_misuse_is_refused() -> None:
    with pytest.raises(TransactionError):
        ServerInviteTransaction(request(REGISTER), PEER)
    with pytest.raises(TransactionError):
        ServerNonInviteTransaction(request(ACK), PEER)
    fresh = ServerNonInviteTransaction(request(REGISTER), PEER)
    with pytest.raises(TransactionError):
        fresh.send(make_response(fresh.request, 200), 0.0)  # before its request arrived


# --- non-INVITE server --------------------------------------------------------------------------


def test_non_invite_server_full_cycle_over_udp() -> None:
    tx = ServerNonInviteTransaction(request(REGISTER), PEER)
    assert tx.receive(tx.request, 0.0) == [DeliverToTU(tx.request)]
    assert state_of(tx) is TransactionState.TRYING
    assert tx.receive(request(REGISTER), 0.5) == []  # Trying: nothing to resend yet

    trying = make_response(tx.request, 100)
    assert tx.send(trying, 0.6) == [SendMessage(trying, PEER)]
    assert state_of(tx) is TransactionState.PROCEEDING
    assert tx.receive(request(REGISTER), 1.5) == [SendMessage(trying, PEER)]

    ok = make_response(tx.request, 200, to_tag="reg1")
    assert tx.send(ok, 2.0) == [SendMessage(ok, PEER), StartTimer(TimerName.J, 2.0 + 64 * T.t1)]
    assert state_of(tx) is TransactionState.COMPLETED
    assert tx.receive(request(REGISTER), 3.5) == [SendMessage(ok, PEER)]
    assert tx.send(make_response(tx.request, 500), 4.0) == []  # later finals are discarded
    assert tx.timer_fired(TimerName.J, 34.0) == [Terminated()]
    assert tx.receive(request(REGISTER), 35.0) == []


def test_non_invite_server_over_tcp_terminates_with_its_final_response() -> None:
    tx = ServerNonInviteTransaction(request(REGISTER), PEER, reliable=True)
    tx.receive(tx.request, 0.0)
    ok = make_response(tx.request, 200, to_tag="reg1")
    assert tx.send(ok, 0.1) == [SendMessage(ok, PEER), Terminated()]
    assert tx.terminated


def test_non_invite_server_transport_error_terminates() -> None:
    tx = ServerNonInviteTransaction(request(REGISTER), PEER)
    tx.receive(tx.request, 0.0)
    tx.send(make_response(tx.request, 200), 0.1)
    assert tx.transport_error(0.2) == [
        TransportErrorToTU(),
        CancelTimer(TimerName.J),
        Terminated(),
    ]
