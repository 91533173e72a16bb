"""An extension with two phones: both ring, the first to answer gets the call."""

from __future__ import annotations

from pathlib import Path

from tests.integration.calls import (
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
from tests.support.cdrs import check_answered, only_record
from tests.support.switch_process import SwitchProcess, free_port

BOB_DESK = ("bob-desk", "Copper-Meadow-Violin-7")


def test_both_phones_ring_and_the_other_is_cancelled_when_one_answers(
    provisioned: SwitchProcess, tmp_path: Path
) -> None:
    provisioned.ctl(
        "device", "create", "acme", "202", BOB_DESK[0], "--password", BOB_DESK[1], "--site", "hq"
    )
    with started(provisioned) as switch:
        mobile_port, desk_port = free_port(), free_port()
        register(switch, tmp_path, *BOB, mobile_port)
        register(switch, tmp_path, *BOB_DESK, desk_port)
        desk = callee("uas_ring_cancelled.xml", peer_folder(tmp_path, "desk"), desk_port)
        # The mobile rings for a second before answering: the desk phone is surely ringing.
        mobile = callee(
            "uas_ring_answer.xml",
            peer_folder(tmp_path, "mobile"),
            mobile_port,
            extra=["-d", "1000"],
        )
        result = call(
            switch,
            peer_folder(tmp_path, "alice"),
            ALICE,
            "202",
            free_port(),
            scenario="uac_call_forked.xml",
            hold_ms=300,
        )
        answered, cancelled = mobile.wait(), desk.wait()
    assert result.ok, explain(result)
    assert answered.ok, explain(answered)
    assert cancelled.ok, explain(cancelled)

    # One call, forked: the same Call-ID reached both phones, each on its own branch.
    [to_mobile] = received(answered, "INVITE")
    [to_desk] = received(cancelled, "INVITE")
    assert to_mobile.header("Call-ID") == to_desk.header("Call-ID")
    assert to_mobile.request_uri == f"sip:{BOB[0]}@127.0.0.1:{mobile_port};transport=UDP"
    assert to_desk.request_uri == f"sip:{BOB_DESK[0]}@127.0.0.1:{desk_port};transport=UDP"
    assert to_mobile.headers("Via")[0] != to_desk.headers("Via")[0]
    # The caller heard both ring, then exactly one answer: the mobile's.
    assert len(received(result, 180)) == 2
    [answer] = received(result, 200)[:1]
    assert answer.header("CSeq") == "2 INVITE"
    assert [m for m in received(result, 200) if m.header("CSeq") == "2 INVITE"] == [answer]
    assert answer.param("To", "tag") == sent(answered, 200)[0].param("To", "tag")
    # The desk phone was cancelled on the branch it rang on (§16.7 step 10), and only that.
    [cancel] = received(cancelled, "CANCEL")
    assert cancel.headers("Via") == to_desk.headers("Via")[:1]
    assert not received(cancelled, "BYE")
    # The call itself went on with the mobile: ACK and the caller's BYE reached it.
    assert len(received(answered, "ACK")) == 1
    assert len(received(answered, "BYE")) == 1
    # One record for the call, not one per branch; the desk's cancellation leaves it alone.
    record = only_record(switch.database_url)
    assert record.hangup_by == "caller" and record.closed_by == "signalling"
    assert record.direction == "internal"
    assert record.destination == "202" and record.destination_class == "internal"
    check_answered(record, held=0.3)
    # Answered when the mobile answered, after ringing a second, not when the call started.
    assert record.answer_time is not None
    assert (record.answer_time - record.start_time).total_seconds() >= 0.9
