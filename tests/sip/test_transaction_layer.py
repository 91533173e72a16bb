"""TransactionLayer: matching (RFC 3261 §17.1.3, §17.2.3, §9.2), RFC 2543 fallback, timer heap."""

from __future__ import annotations

import pytest

from switch.sip.message import Request, Response, make_response, parse_message
from switch.sip.timers import TimerConfig
from switch.sip.transaction import (
    Action,
    BranchKey,
    DeliverToTU,
    DuplicateTransaction,
    InvalidBranch,
    LegacyKey,
    SendMessage,
    StartTimer,
    Terminated,
    TimeoutToTU,
    TransactionError,
    TransactionLayer,
    TransactionState,
)
from switch.sip.transaction_server import ServerInviteTransaction

ALICE = ("192.0.2.101", 5060)
BOB = ("192.0.2.4", 5060)
T = TimerConfig()


def invite(
    branch: str | None = "z9hG4bK74bf9",
    *,
    method: str = "INVITE",
    sent_by: str = "client.atlanta.example.com:5060",
    to_tag: str | None = None,
    call_id: str = "3848276298220188511@atlanta.example.com",
    cseq: int = 1,
) -> Request:
    """Alice's INVITE (or, with ``method``, a CANCEL/ACK of it) as RFC 3261 §24.2 shows it."""
    params = "" if branch is None else f";branch={branch}"
    to_params = "" if to_tag is None else f";tag={to_tag}"
    text = (
        f"{method} sip:bob@biloxi.example.com SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {sent_by}{params}\r\n"
        "Max-Forwards: 70\r\n"
        "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
        f"To: Bob <sip:bob@biloxi.example.com>{to_params}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Content-Length: 0\r\n"
        "\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


def options(branch: str, call_id: str) -> Request:
    """The RFC 4475 "badbranch" request, with the branch and Call-ID to vary."""
    text = (
        "OPTIONS sip:user@example.com SIP/2.0\r\n"
        "To: sip:user@example.com\r\n"
        "From: sip:caller@example.org;tag=33242\r\n"
        "Max-Forwards: 3\r\n"
        f"Via: SIP/2.0/UDP 192.0.2.1;branch={branch}\r\n"
        "Accept: application/sdp\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 8 OPTIONS\r\n"
        "l: 0\r\n"
        "\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


def response_to(req: Request, status: int, *, to_tag: str | None = "b0b") -> Response:
    """The response as it comes back over the wire."""
    response = parse_message(make_response(req, status, to_tag=to_tag).to_bytes())
    assert isinstance(response, Response)
    return response


def of_type(actions: list[Action], kind: type) -> list[Action]:
    return [a for a in actions if isinstance(a, kind)]


# --- server side --------------------------------------------------------------------------------


def test_retransmitted_request_is_routed_to_its_server_transaction() -> None:
    layer = TransactionLayer()
    assert layer.receive(invite(), 0.0) is None  # new request: the core opens a transaction
    tx, actions = layer.create_server(invite(), ALICE, 0.0)
    assert actions == [DeliverToTU(tx.request)]  # the layer keeps the timers to itself
    assert len(layer) == 1
    ringing = make_response(tx.request, 180, to_tag="b0b")
    assert layer.send(tx, ringing, 0.05) == [SendMessage(ringing, ALICE)]

    routed = layer.receive(invite(), 0.5)
    assert routed is not None
    assert routed[0] is tx
    assert routed[1] == [SendMessage(ringing, ALICE)]


def test_same_branch_from_another_sender_is_another_transaction() -> None:
    layer = TransactionLayer()
    layer.create_server(invite(), ALICE, 0.0)
    assert layer.receive(invite(sent_by="evil.example.com:5060"), 0.1) is None
    assert layer.receive(invite(sent_by="CLIENT.atlanta.example.com"), 0.1) is not None


def test_ack_for_non_2xx_reaches_the_invite_transaction_not_the_core() -> None:
    layer = TransactionLayer()
    tx, _ = layer.create_server(invite(), ALICE, 0.0)
    layer.send(tx, make_response(tx.request, 486, to_tag="b0b"), 0.1)
    routed = layer.receive(invite(method="ACK", to_tag="b0b"), 0.3)
    assert routed is not None
    assert routed == (tx, [])
    assert tx.state is TransactionState.CONFIRMED


def test_ack_for_2xx_with_a_new_branch_goes_to_the_core() -> None:
    layer = TransactionLayer()
    tx, _ = layer.create_server(invite(), ALICE, 0.0)
    layer.send(tx, make_response(tx.request, 200, to_tag="b0b"), 0.1)
    assert layer.receive(invite("z9hG4bKnew", method="ACK", to_tag="b0b"), 0.3) is None


def test_ack_never_opens_a_server_transaction() -> None:
    with pytest.raises(TransactionError):
        TransactionLayer().create_server(invite(method="ACK", to_tag="b0b"), ALICE, 0.0)


def test_cancel_has_its_own_transaction_and_finds_its_invite() -> None:
    layer = TransactionLayer()
    inv, _ = layer.create_server(invite(), ALICE, 0.0)
    cancel = invite(method="CANCEL")
    assert layer.receive(cancel, 1.0) is None  # not merged with the INVITE
    assert layer.find_invite_for_cancel(cancel) is inv
    ctx, actions = layer.create_server(cancel, ALICE, 1.0)
    assert ctx is not inv and actions == [DeliverToTU(cancel)]
    assert len(layer) == 2
    assert layer.find_invite_for_cancel(invite("z9hG4bKother", method="CANCEL")) is None


def test_key_for_request_treats_ack_as_invite_and_keeps_cancel_apart() -> None:
    key = TransactionLayer.key_for_request(invite())
    assert key == BranchKey("z9hG4bK74bf9", "client.atlanta.example.com", 5060, "INVITE")
    assert TransactionLayer.key_for_request(invite(method="ACK", to_tag="x")) == key
    assert TransactionLayer.key_for_request(invite(method="CANCEL")) != key


# --- RFC 2543 fallback --------------------------------------------------------------------------


@pytest.mark.parametrize("branch", [None, "1a2b3c"])
def test_rfc2543_request_matches_on_its_fields(branch: str | None) -> None:
    layer = TransactionLayer()
    assert isinstance(TransactionLayer.key_for_request(invite(branch)), LegacyKey)
    tx, _ = layer.create_server(invite(branch), ALICE, 0.0)
    busy = make_response(tx.request, 486, to_tag="b0b")
    layer.send(tx, busy, 0.1)

    retransmission = layer.receive(invite(branch), 0.2)
    assert retransmission == (tx, [SendMessage(busy, ALICE)])
    # A different CSeq, Call-ID or top Via is a different request.
    assert layer.receive(invite(branch, cseq=2), 0.2) is None
    assert layer.receive(invite(branch, call_id="other@atlanta.example.com"), 0.2) is None
    assert layer.receive(invite(branch, sent_by="pc33.atlanta.example.com"), 0.2) is None
    # The ACK matches through the To tag of the response the transaction sent.
    assert layer.receive(invite(branch, method="ACK", to_tag="other"), 0.3) is None
    assert layer.receive(invite(branch, method="ACK", to_tag="b0b"), 0.3) == (tx, [])
    assert tx.state is TransactionState.CONFIRMED


def test_rfc2543_cancel_finds_its_invite() -> None:
    layer = TransactionLayer()
    tx, _ = layer.create_server(invite(None), ALICE, 0.0)
    cancel = invite(None, method="CANCEL")
    assert layer.receive(cancel, 0.5) is None
    assert layer.find_invite_for_cancel(cancel) is tx


def test_bare_magic_cookie_branch_is_not_merged_across_requests() -> None:
    layer = TransactionLayer()
    first, _ = layer.create_server(
        options("z9hG4bK", "badbranch.sadonfo23i420jv0as0derf3j3n"), ALICE, 0
    )
    other = options("z9hG4bK", "another.call@192.0.2.1")
    assert layer.receive(other, 0.1) is None
    second, _ = layer.create_server(other, ALICE, 0.1)
    assert second is not first and len(layer) == 2
    # Each still absorbs its own retransmissions.
    again = layer.receive(options("z9hG4bK", "badbranch.sadonfo23i420jv0as0derf3j3n"), 0.2)
    assert again is not None and again[0] is first


def test_duplicate_server_transaction_is_refused() -> None:
    layer = TransactionLayer()
    layer.create_server(invite(), ALICE, 0.0)
    with pytest.raises(DuplicateTransaction):
        layer.create_server(invite(), ALICE, 0.1)


# --- client side --------------------------------------------------------------------------------


def test_responses_are_routed_by_branch_and_cseq_method() -> None:
    layer = TransactionLayer()
    inv, actions = layer.create_client(invite(), BOB, 0.0)
    assert actions == [SendMessage(inv.request, BOB)]
    cancel, _ = layer.create_client(invite(method="CANCEL"), BOB, 1.0)

    ok_cancel = response_to(cancel.request, 200)
    assert layer.receive(ok_cancel, 1.1) == (cancel, [DeliverToTU(ok_cancel)])
    terminated = response_to(inv.request, 487)
    routed = layer.receive(terminated, 1.2)
    assert routed is not None and routed[0] is inv
    assert DeliverToTU(terminated) in routed[1]
    assert inv.state is TransactionState.COMPLETED


def test_stray_responses_are_left_to_the_core() -> None:
    layer = TransactionLayer()
    layer.create_client(invite(), BOB, 0.0)
    assert layer.receive(response_to(invite("z9hG4bKunknown"), 200), 0.1) is None
    assert layer.receive(response_to(invite("1a2b3c"), 200), 0.1) is None  # no cookie
    assert layer.receive(response_to(invite("z9hG4bK"), 200), 0.1) is None
    assert layer.receive(response_to(invite(method="CANCEL"), 200), 0.1) is None


def test_client_transaction_needs_a_unique_cookie_branch() -> None:
    layer = TransactionLayer()
    for branch in (None, "1a2b3c", "z9hG4bK"):
        with pytest.raises(InvalidBranch):
            layer.create_client(invite(branch), BOB, 0.0)
    layer.create_client(invite(), BOB, 0.0)
    with pytest.raises(DuplicateTransaction):
        layer.create_client(invite(), BOB, 0.0)
    with pytest.raises(TransactionError):
        layer.create_client(invite("z9hG4bKack", method="ACK", to_tag="b0b"), BOB, 0.0)
    assert len(layer) == 1


# --- timer heap ---------------------------------------------------------------------------------


def test_heap_drives_invite_retransmissions_and_timeout() -> None:
    layer = TransactionLayer()
    assert layer.next_deadline() is None
    tx, _ = layer.create_client(invite(), BOB, 0.0)
    sent: list[float] = []
    timed_out: list[float] = []
    while (deadline := layer.next_deadline()) is not None:
        for fired, actions in layer.expire(deadline):
            assert fired is tx
            assert not of_type(actions, StartTimer)
            sent += [deadline for _ in of_type(actions, SendMessage)]
            timed_out += [deadline for _ in of_type(actions, TimeoutToTU)]
    assert sent == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert timed_out == [64 * T.t1]
    assert len(layer) == 0


def test_expire_fires_only_due_timers_of_every_transaction() -> None:
    layer = TransactionLayer()
    a, _ = layer.create_client(invite("z9hG4bKa"), BOB, 0.0)
    b, _ = layer.create_client(invite("z9hG4bKb"), BOB, 0.2)
    assert layer.expire(0.49) == []
    first = layer.expire(0.6)
    assert [tx for tx, _ in first] == [a]
    second = layer.expire(0.7)
    assert [tx for tx, _ in second] == [b]
    # A late wake-up restarts Timer A from when it really fired.
    assert layer.next_deadline() == pytest.approx(0.6 + 2 * T.t1)


def test_cancelled_timers_leave_no_deadline() -> None:
    layer = TransactionLayer()
    tx, _ = layer.create_client(invite(), BOB, 0.0)
    layer.receive(response_to(tx.request, 180), 0.1)
    assert layer.next_deadline() is None
    assert layer.expire(100.0) == []
    assert len(layer) == 1  # Proceeding waits for the TU's own Timer C or CANCEL


def test_terminated_transactions_are_forgotten() -> None:
    layer = TransactionLayer()
    register = invite(method="REGISTER")
    tx, _ = layer.create_server(register, ALICE, 0.0, reliable=True)
    actions = layer.send(tx, make_response(register, 200, to_tag="r1"), 0.1)
    assert actions[-1] == Terminated()
    assert len(layer) == 0
    assert layer.receive(invite(method="REGISTER"), 0.2) is None


def test_timer_j_expiry_removes_the_server_transaction() -> None:
    layer = TransactionLayer()
    tx, _ = layer.create_server(invite(method="OPTIONS"), ALICE, 0.0)
    layer.send(tx, make_response(tx.request, 200, to_tag="o1"), 1.0)
    assert layer.next_deadline() == pytest.approx(1.0 + 64 * T.t1)
    assert layer.expire(1.0 + 64 * T.t1) == [(tx, [Terminated()])]
    assert len(layer) == 0 and layer.next_deadline() is None


def test_invite_server_sends_100_trying_through_the_heap() -> None:
    layer = TransactionLayer()
    tx, _ = layer.create_server(invite(), ALICE, 5.0)
    assert isinstance(tx, ServerInviteTransaction)
    assert layer.next_deadline() == pytest.approx(5.0 + T.trying_delay)
    ((fired, actions),) = layer.expire(5.2)
    assert fired is tx
    (send,) = actions
    assert isinstance(send, SendMessage) and send.peer == ALICE
    assert isinstance(send.message, Response) and send.message.status == 100


def test_transport_error_through_the_layer_forgets_the_transaction() -> None:
    layer = TransactionLayer()
    tx, _ = layer.create_client(invite(), BOB, 0.0)
    actions = layer.transport_error(tx, 0.1)
    assert actions[-1] == Terminated()
    assert len(layer) == 0
    assert layer.next_deadline() is None
