"""Two pyVoIP 1.6.8 phones calling each other through the switch.

pyVoIP answers only 401 challenges, so these switches challenge with 401. pyVoIP runs
its own threads and blocks on sockets: every wait here is bounded, and the phones are
always stopped.

pyVoIP 1.6.8's ``SIPClient.invite()`` re-sends the INVITE carrying credentials with the
same Via branch as the challenged one (RFC 3261 §8.1.1.7 wants a new branch). The switch
challenges without transaction state, as Kamailio and Asterisk do, so that INVITE is a new
request to it, not a retransmission. It also copes with pyVoIP ignoring Record-Route,
putting a random To tag in its ACK and sending BYE without Route.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
import pyVoIP
from pyVoIP.VoIP import CallState, PhoneStatus, VoIPCall, VoIPPhone

from tests.integration.calls import started
from tests.integration.conftest import ALICE, BOB
from tests.support.cdrs import check_answered, check_unanswered, only_record
from tests.support.switch_process import SwitchProcess, free_port

if TYPE_CHECKING:  # pyVoIP.SIP and .RTP import pyVoIP.VoIP circularly: VoIP must come first
    from pyVoIP.SIP import SIPMessage

WAIT = 8.0  # seconds, for anything a phone does
RING_WAIT = 5.0  # pyVoIP hands a new call to its callback 1 s after the INVITE


@pytest.fixture
def switch(provisioned: SwitchProcess) -> Iterator[SwitchProcess]:
    with started(provisioned, SWITCH_PROXY__CHALLENGE_STATUS="401") as running:
        yield running


@contextmanager
def phone(
    switch: SwitchProcess,
    credentials: tuple[str, str],
    on_call: Callable[[VoIPCall], None] | None = None,
) -> Iterator[VoIPPhone]:
    rtp = free_port()
    voip = VoIPPhone(
        switch.host,
        switch.port,
        credentials[0],
        credentials[1],
        myIP="127.0.0.1",
        callCallback=on_call,
        sipPort=free_port(),
        rtpPortLow=rtp,
        rtpPortHigh=rtp,
    )
    voip.sip.register_timeout = 5  # its default of 30 s would outlast the test
    voip.start()
    try:
        assert voip.get_status() is PhoneStatus.REGISTERED
        yield voip
    finally:
        voip.stop()


def record_statuses(voip: VoIPPhone) -> list[int]:
    """Status codes of every response the phone reads (pyVoIP drops most of them)."""
    statuses: list[int] = []
    original = voip.sip.parse_message

    def parse_message(message: SIPMessage) -> None:
        if message.raw.startswith(b"SIP/"):
            statuses.append(int(message.status))
        original(message)

    voip.sip.parse_message = parse_message  # type: ignore[method-assign]
    return statuses


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class Callee:
    """What bob's phone does with a call: answer it or refuse it, and remember it."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.call: VoIPCall | None = None
        self.rang = threading.Event()

    def __call__(self, call: VoIPCall) -> None:
        self.call = call
        try:
            if self.answer:
                call.answer()
            else:
                self._deny(call)
        finally:
            self.rang.set()  # after the answer went out, so its state is settled

    @staticmethod
    def _deny(call: VoIPCall) -> None:
        # pyVoIP 1.6.8: deny() sends the 486, then stops RTP clients it never started
        # (RTPClient.stop() closes a socket only start() creates) and raises; the refusal
        # is on its way by then, which is all the switch can see.
        with contextlib.suppress(AttributeError):
            call.deny()


def answered_then_hung_up(switch: SwitchProcess) -> None:
    bob_side = Callee(answer=True)
    with phone(switch, BOB, bob_side) as bob, phone(switch, ALICE) as alice:
        outgoing = alice.call("202")
        assert bob_side.rang.wait(RING_WAIT), "the call never reached bob's phone"
        assert wait_until(lambda: outgoing.state is CallState.ANSWERED)
        answered_at = time.monotonic()  # a little after the answer: polled
        incoming = bob_side.call
        assert incoming is not None and incoming.state is CallState.ANSWERED
        outgoing.hangup()
        held = time.monotonic() - answered_at
        # bob's phone hears the BYE (sent by the switch along the dialog) and hangs up.
        assert wait_until(lambda: incoming.state is CallState.ENDED)
        assert bob.calls == {}
    # One record: the INVITE pyVoIP sent before its credentials was only challenged.
    record = only_record(switch.database_url)
    assert record.hangup_by == "caller" and record.closed_by == "signalling"
    assert record.direction == "internal" and record.destination == "202"
    assert record.caller_presented == ALICE[0]
    assert record.user_agent == f"pyVoIP {pyVoIP.__version__}"
    check_answered(record, held=held)


def declined(switch: SwitchProcess) -> None:
    bob_side = Callee(answer=False)
    with phone(switch, BOB, bob_side), phone(switch, ALICE) as alice:
        statuses = record_statuses(alice)
        outgoing = alice.call("202")
        assert bob_side.rang.wait(RING_WAIT), "the call never reached bob's phone"
        assert wait_until(lambda: 486 in statuses), statuses
        assert 200 not in statuses
        # pyVoIP has no handler for 486: its call object just stays DIALING.
        assert outgoing.state is CallState.DIALING
    record = only_record(switch.database_url)
    assert record.disposition == "busy" and record.sip_status == 486
    assert record.direction == "internal" and record.destination == "202"
    check_unanswered(record)


def test_pyvoip_call_answered_then_caller_hangs_up(switch: SwitchProcess) -> None:
    answered_then_hung_up(switch)


def test_pyvoip_call_declined_by_callee(switch: SwitchProcess) -> None:
    declined(switch)
