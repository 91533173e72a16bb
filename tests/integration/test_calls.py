"""Calls through the switch between real SIP peers (SIPp and pyVoIP) over loopback."""

from __future__ import annotations

from pathlib import Path

from tests.integration.calls import call, callee, register
from tests.integration.conftest import ALICE, BOB
from tests.support.cdrs import call_records, finished
from tests.support.switch_process import SwitchProcess, free_port


def test_answered_call_between_two_extensions(running: SwitchProcess, tmp_path: Path) -> None:
    bob_port = free_port()
    register(running, tmp_path, BOB[0], BOB[1], bob_port)
    uas = callee("uas_answer.xml", tmp_path, bob_port)
    result = call(running, tmp_path, ALICE, "202", free_port())
    answered = uas.wait()
    assert result.ok, result.errors + result.stderr
    assert answered.ok, answered.errors + answered.stderr
    # The callee saw the switch in the path: Record-Route and the switch's Via on top.
    invite = answered.messages.split("INVITE sip:", 1)[1].split("\n\n", 1)[0]
    assert f"Record-Route: <sip:127.0.0.1:{running.port};lr>" in invite
    assert f"Via: SIP/2.0/UDP 127.0.0.1:{running.port};branch=z9hG4bK" in invite
    assert "Proxy-Authorization" not in invite


def test_answered_call_leaves_one_billing_record(running: SwitchProcess, tmp_path: Path) -> None:
    bob_port = free_port()
    register(running, tmp_path, BOB[0], BOB[1], bob_port)
    uas = callee("uas_answer.xml", tmp_path, bob_port)
    result = call(running, tmp_path, ALICE, "202", free_port(), hold_ms=2000)
    assert result.ok, result.errors + result.stderr
    assert uas.wait().ok
    [record] = call_records(running.database_url, until=finished(1))
    assert record.direction == "internal"
    assert record.disposition == "answered" and record.sip_status == 200
    assert record.hangup_by == "caller" and record.closed_by == "signalling"
    assert record.dialled == "202" and record.destination == "202"
    assert record.destination_class == "internal"
    assert record.caller_presented == ALICE[0]
    assert record.user_agent == "SIPp caller"
    assert record.source_address is not None and record.source_address.startswith("udp:127.0.0.1:")
    assert record.answer_time is not None and record.end_time is not None
    # The caller held the call for 2 s: billable time is that, rounded up to whole seconds.
    assert 2 <= record.billable_seconds <= 4
    assert record.start_time <= record.answer_time <= record.end_time
