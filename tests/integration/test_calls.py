"""Calls through the switch between real SIP peers (SIPp and pyVoIP) over loopback."""

from __future__ import annotations

from pathlib import Path

from tests.integration.calls import (
    branch_of,
    call,
    callee,
    explain,
    peer_folder,
    received,
    register,
    sent,
    started,
)
from tests.integration.conftest import ALICE, BOB
from tests.support.cdrs import check_answered, check_unanswered, only_record
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
    # One call attempt, one record: the challenged INVITE before it is not an attempt.
    record = only_record(running.database_url)
    assert record.direction == "internal" and record.destination == "202"
    assert record.hangup_by == "caller" and record.closed_by == "signalling"
    check_answered(record, held=1.0)


def test_answered_call_leaves_one_billing_record(running: SwitchProcess, tmp_path: Path) -> None:
    bob_port = free_port()
    register(running, tmp_path, BOB[0], BOB[1], bob_port)
    uas = callee("uas_answer.xml", tmp_path, bob_port)
    result = call(running, tmp_path, ALICE, "202", free_port(), hold_ms=2000)
    assert result.ok, result.errors + result.stderr
    assert uas.wait().ok
    record = only_record(running.database_url)
    assert record.direction == "internal"
    assert record.disposition == "answered" and record.sip_status == 200
    assert record.hangup_by == "caller" and record.closed_by == "signalling"
    assert record.dialled == "202" and record.destination == "202"
    assert record.destination_class == "internal"
    assert record.caller_presented == ALICE[0]
    assert record.caller_asserted == "201"  # the extension the switch vouches for
    assert record.trunk is None
    assert record.user_agent == "SIPp caller"
    assert record.source_address is not None and record.source_address.startswith("udp:127.0.0.1:")
    # The caller held the call for 2 s: billable time is that, rounded up to whole seconds.
    check_answered(record, held=2.0)


def _switch_via(switch: SwitchProcess) -> str:
    return f"SIP/2.0/UDP 127.0.0.1:{switch.port};branch=z9hG4bK"


def test_busy_callee_is_reported_and_acknowledged_hop_by_hop(
    running: SwitchProcess, tmp_path: Path
) -> None:
    bob_port = free_port()
    register(running, tmp_path, *BOB, bob_port)
    uas = callee("uas_busy.xml", peer_folder(tmp_path, "bob"), bob_port)
    result = call(
        running, peer_folder(tmp_path, "alice"), ALICE, "202", free_port(), scenario="uac_busy.xml"
    )
    busy = uas.wait()
    assert result.ok, explain(result)
    assert busy.ok, explain(busy)
    [invite] = received(busy, "INVITE")
    [ack] = received(busy, "ACK")
    # The switch ACKs the 486 itself (RFC 3261 §17.1.1.3): only its Via, with the branch
    # of the INVITE it sent; the caller's ACK ends at the switch.
    [ack_via] = ack.headers("Via")
    assert ack_via.startswith(_switch_via(running))
    assert branch_of(ack_via) == branch_of(invite.headers("Via")[0])
    # The caller sees the callee's answer with the switch's own Via taken off.
    [busy_here] = received(result, 486)
    assert busy_here.param("To", "tag") == sent(busy, 486)[0].param("To", "tag")
    [caller_via] = busy_here.headers("Via")
    assert caller_via.startswith("SIP/2.0/UDP 127.0.0.1:") and "z9hG4bK-" in caller_via
    record = only_record(running.database_url)
    assert record.disposition == "busy" and record.sip_status == 486
    assert record.direction == "internal"
    assert record.destination == "202" and record.destination_class == "internal"
    check_unanswered(record)


def test_unanswered_call_is_cancelled_at_ring_timeout(
    provisioned: SwitchProcess, tmp_path: Path
) -> None:
    with started(provisioned, SWITCH_PROXY__RING_TIMEOUT="2") as switch:
        bob_port = free_port()
        register(switch, tmp_path, *BOB, bob_port)
        uas = callee("uas_ring_cancelled.xml", peer_folder(tmp_path, "bob"), bob_port)
        result = call(
            switch,
            peer_folder(tmp_path, "alice"),
            ALICE,
            "202",
            free_port(),
            scenario="uac_no_answer.xml",
        )
        ringing = uas.wait()
    assert result.ok, explain(result)
    assert ringing.ok, explain(ringing)
    # The switch, not the caller, gave up: its CANCEL targets the INVITE it sent (§9.1).
    [invite] = received(ringing, "INVITE")
    [cancel] = received(ringing, "CANCEL")
    assert cancel.headers("Via") == invite.headers("Via")[:1]
    assert len(received(ringing, "ACK")) == 1  # the switch ACKed the 487
    # The caller hears 480 after the configured ring time, not the callee's 487.
    [unavailable] = received(result, 480)
    assert not received(result, 487)
    [authenticated_invite] = [m for m in sent(result, "INVITE") if "CSeq: 2 INVITE" in m.text]
    assert 1.9 <= unavailable.at - authenticated_invite.at <= 5.0
    record = only_record(switch.database_url)
    assert record.disposition == "no-answer" and record.sip_status == 480
    assert record.direction == "internal" and record.destination == "202"
    check_unanswered(record)
    # The attempt lasted the ring time: from the accepted INVITE to the switch giving up.
    assert 1.9 <= record.duration_seconds <= 5.0


def test_caller_cancels_while_ringing(running: SwitchProcess, tmp_path: Path) -> None:
    bob_port = free_port()
    register(running, tmp_path, *BOB, bob_port)
    uas = callee("uas_ring_cancelled.xml", peer_folder(tmp_path, "bob"), bob_port)
    result = call(
        running,
        peer_folder(tmp_path, "alice"),
        ALICE,
        "202",
        free_port(),
        scenario="uac_cancel.xml",
    )
    ringing = uas.wait()
    assert result.ok, explain(result)
    assert ringing.ok, explain(ringing)
    # The caller's CANCEL is answered by the switch, which sends its own to the callee.
    [cancel_ok] = received(result, 200)
    assert cancel_ok.header("CSeq") == "2 CANCEL"
    [terminated] = received(result, 487)
    assert terminated.header("CSeq") == "2 INVITE"
    [invite] = received(ringing, "INVITE")
    [cancel] = received(ringing, "CANCEL")
    assert cancel.headers("Via") == invite.headers("Via")[:1]
    assert len(received(ringing, "ACK")) == 1
    # A call that never connected is hung up by nobody (docs/cdr-csv.md): the caller's
    # giving up is what "cancelled" says.
    record = only_record(running.database_url)
    assert record.disposition == "cancelled" and record.sip_status == 487
    assert record.direction == "internal" and record.destination == "202"
    check_unanswered(record)


def test_callee_hangs_up_through_the_record_route(running: SwitchProcess, tmp_path: Path) -> None:
    bob_port, alice_port = free_port(), free_port()
    register(running, tmp_path, *BOB, bob_port)
    uas = callee("uas_hangup.xml", peer_folder(tmp_path, "bob"), bob_port, extra=["-d", "500"])
    result = call(
        running,
        peer_folder(tmp_path, "alice"),
        ALICE,
        "202",
        alice_port,
        scenario="uac_wait_bye.xml",
    )
    hung_up = uas.wait()
    assert result.ok, explain(result)
    assert hung_up.ok, explain(hung_up)
    # The callee's BYE is routed by the switch's Record-Route ...
    [bye_out] = sent(hung_up, "BYE")
    assert bye_out.headers("Route") == [f"<sip:127.0.0.1:{running.port};lr>"]
    # ... and reaches the caller from the switch, at the caller's Contact, Route consumed.
    [bye] = received(result, "BYE")
    assert bye.request_uri == f"sip:{ALICE[0]}@127.0.0.1:{alice_port};transport=UDP"
    vias = bye.headers("Via")
    assert len(vias) == 2 and vias[0].startswith(_switch_via(running))
    assert f"127.0.0.1:{bob_port}" in vias[1]
    assert not bye.headers("Route")
    assert bye.param("From", "tag") == sent(hung_up, 200)[0].param("To", "tag")
    # The caller's 200 made it back to the callee (its scenario waits for it).
    assert len(received(hung_up, 200)) == 1
    record = only_record(running.database_url)
    assert record.hangup_by == "callee" and record.closed_by == "signalling"
    assert record.direction == "internal" and record.destination == "202"
    check_answered(record, held=0.5)
