"""Requests inside an established call pass through the switch: re-INVITE, REFER, NOTIFY."""

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
)
from tests.integration.conftest import ALICE, BOB
from tests.support.cdrs import check_answered, only_record
from tests.support.switch_process import SwitchProcess, free_port


def test_reinvite_refer_and_notify_pass_through_the_call(
    running: SwitchProcess, tmp_path: Path
) -> None:
    bob_port = free_port()
    register(running, tmp_path, *BOB, bob_port)
    uas = callee("uas_reinvite_refer.xml", peer_folder(tmp_path, "bob"), bob_port)
    result = call(
        running,
        peer_folder(tmp_path, "alice"),
        ALICE,
        "202",
        free_port(),
        scenario="uac_reinvite_refer.xml",
    )
    answered = uas.wait()
    assert result.ok, explain(result)
    assert answered.ok, explain(answered)
    switch_via = f"SIP/2.0/UDP 127.0.0.1:{running.port};branch=z9hG4bK"

    # The re-INVITE reaches the callee through the switch, inside the same dialog.
    first, again = received(answered, "INVITE")
    bob_tag = sent(answered, 200)[0].param("To", "tag")
    assert again.param("To", "tag") == bob_tag
    assert again.header("CSeq") == "3 INVITE"
    assert "a=sendonly" in again.text  # the caller's new offer, untouched
    assert again.headers("Via")[0].startswith(switch_via)
    assert branch_of(again.headers("Via")[0]) != branch_of(first.headers("Via")[0])
    [reinvite_ok] = [m for m in received(result, 200) if m.header("CSeq") == "3 INVITE"]
    assert "a=recvonly" in reinvite_ok.text

    # REFER -> 202 from the callee; the callee's NOTIFY comes back to the caller.
    [refer] = received(answered, "REFER")
    assert refer.header("Refer-To") == "<sip:203@127.0.0.1>"
    assert refer.headers("Via")[0].startswith(switch_via)
    [accepted] = received(result, 202)
    assert accepted.header("CSeq") == "4 REFER"
    [notify] = received(result, "NOTIFY")
    assert notify.header("Event") == "refer"
    assert notify.text.rstrip().endswith("SIP/2.0 200 OK")  # the sipfrag body
    assert notify.headers("Via")[0].startswith(switch_via)
    assert notify.param("From", "tag") == bob_tag
    assert len(received(answered, 200)) == 1  # the caller's 200 for the NOTIFY

    # The re-INVITE did not replace the call: the caller's BYE still ends the one record.
    record = only_record(running.database_url)
    assert record.hangup_by == "caller" and record.closed_by == "signalling"
    assert record.direction == "internal" and record.destination == "202"
    [ack] = [m for m in sent(result, "ACK") if m.header("CSeq") == "2 ACK"]
    [reinvite] = [m for m in sent(result, "INVITE") if m.header("CSeq") == "3 INVITE"]
    [bye] = sent(result, "BYE")
    [bye_ok] = [m for m in received(result, 200) if m.header("CSeq") == "5 BYE"]
    check_answered(record, held=bye.at - ack.at)
    # Same clock on both sides (loopback): the answer is the first 200, before the
    # re-INVITE; the end is the BYE, after the REFER and NOTIFY. SIPp's log time may lag.
    assert record.answer_time is not None and record.end_time is not None
    assert record.answer_time.timestamp() <= reinvite.at
    assert bye.at - 0.05 <= record.end_time.timestamp() <= bye_ok.at + 0.05
