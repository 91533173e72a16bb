"""Calls across the trunk: out to the carrier (E.164, asserted identity) and in to a DID."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.calls import (
    call,
    callee,
    explain,
    peer_folder,
    received,
    register,
    started,
    target,
    trace,
)
from tests.integration.conftest import ALICE
from tests.support.cdrs import check_answered, no_records, only_record
from tests.support.sipp import run_sipp
from tests.support.switch_process import SwitchProcess, free_port

ALICE_DID = "+12025550123"
SPOOFED = "+19005550666"  # the number uac_call_asserting.xml claims for itself


@pytest.mark.parametrize("dialled", ["2025550199", "+12025550199"])
def test_outbound_call_reaches_the_carrier_in_e164_with_an_owned_identity(
    provisioned: SwitchProcess, tmp_path: Path, dialled: str
) -> None:
    provisioned.ctl("did", "create", ALICE_DID, "acme", "--extension", "201")
    carrier_port = free_port()
    gateway = f"udp:127.0.0.1:{carrier_port}"
    with started(provisioned, SWITCH_TRUNK__GATEWAY=gateway) as switch:
        carrier = callee("trunk_uas.xml", peer_folder(tmp_path, "carrier"), carrier_port)
        result = call(
            switch,
            peer_folder(tmp_path, "alice"),
            ALICE,
            dialled,
            free_port(),
            scenario="uac_call_asserting.xml",
            hold_ms=300,
        )
        answered = carrier.wait()
    assert result.ok, explain(result)
    assert answered.ok, explain(answered)  # includes the scenario's own E.164 checks
    [invite] = received(answered, "INVITE")
    assert invite.request_uri.startswith("sip:+12025550199@127.0.0.1:")
    # The switch vouches for a number the account owns, whatever the phone claimed.
    assert invite.headers("P-Asserted-Identity") == [f"<sip:{ALICE_DID}@127.0.0.1>"]
    assert not invite.headers("P-Preferred-Identity")
    assert SPOOFED not in invite.text
    assert not invite.headers("Proxy-Authorization")
    assert invite.headers("Via")[0].startswith(f"SIP/2.0/UDP 127.0.0.1:{switch.port};")
    # The carrier's answer and the caller's BYE crossed the switch both ways.
    assert len(received(result, 200)) == 2  # the INVITE's and the BYE's
    assert len(received(answered, "BYE")) == 1
    record = only_record(switch.database_url)
    assert record.direction == "outbound" and record.trunk == "carrier"
    assert record.hangup_by == "caller" and record.closed_by == "signalling"
    assert record.dialled == dialled and record.destination == "+12025550199"
    assert record.destination_class == "local"
    # Billed to the number the account owns; the phone's own claim is kept apart.
    assert record.caller_asserted == ALICE_DID
    assert record.caller_presented == ALICE[0]
    check_answered(record, held=0.3)


def test_inbound_call_to_a_did_rings_its_extension(
    provisioned: SwitchProcess, tmp_path: Path
) -> None:
    provisioned.ctl("did", "create", ALICE_DID, "acme", "--extension", "201")
    carrier_port, alice_port = free_port(), free_port()
    trusted = f"127.0.0.1:{carrier_port}"
    with started(provisioned, SWITCH_TRUNK__TRUSTED_SOURCES=trusted) as switch:
        register(switch, tmp_path, *ALICE, alice_port)
        alice = callee("uas_answer.xml", peer_folder(tmp_path, "alice"), alice_port)
        result = run_sipp(
            "trunk_uac.xml",
            target(switch),
            peer_folder(tmp_path, "carrier"),
            local_port=carrier_port,
            extra=["-s", ALICE_DID, "-d", "300"],
        )
        answered = alice.wait()
    assert result.ok, explain(result)  # no challenge: the carrier is trusted by address
    assert answered.ok, explain(answered)
    [invite] = received(answered, "INVITE")
    assert invite.request_uri == f"sip:{ALICE[0]}@127.0.0.1:{alice_port};transport=UDP"
    assert invite.header("To") == f"<sip:{ALICE_DID}@127.0.0.1>"
    # The carrier's word on who is calling is kept: it comes from a trusted source.
    assert invite.headers("P-Asserted-Identity") == ["<sip:+13125550142@127.0.0.1>"]
    assert invite.headers("Record-Route") == [f"<sip:127.0.0.1:{switch.port};lr>"]
    assert len(received(answered, "BYE")) == 1
    record = only_record(switch.database_url)
    assert record.direction == "inbound" and record.trunk == "carrier"
    assert record.hangup_by == "caller" and record.closed_by == "signalling"  # the carrier
    assert record.dialled == ALICE_DID and record.destination == ALICE_DID
    assert record.caller_presented == "+13125550142"
    assert record.user_agent == "SIPp carrier"
    # No device placed it: the record belongs to the account the DID rings, by no device.
    assert record.device_id is None and record.account_id is not None
    check_answered(record, held=0.3)


def test_did_call_from_an_untrusted_address_is_challenged(
    provisioned: SwitchProcess, tmp_path: Path
) -> None:
    provisioned.ctl("did", "create", ALICE_DID, "acme", "--extension", "201")
    carrier_port, alice_port = free_port(), free_port()
    trusted = f"127.0.0.1:{carrier_port}"
    with started(provisioned, SWITCH_TRUNK__TRUSTED_SOURCES=trusted) as switch:
        register(switch, tmp_path, *ALICE, alice_port)
        # Same call, one port off: not the carrier, so it must prove who it is.
        result = run_sipp(
            "trunk_uac_untrusted.xml",
            target(switch),
            peer_folder(tmp_path, "stranger"),
            local_port=free_port(),
            extra=["-s", ALICE_DID],
        )
    assert result.ok, explain(result)
    # The challenge is the first and only answer (no 100 before it: some phones stop
    # reading at the first response), and, being final, it carries a To tag.
    assert [m.status for m in trace(result) if not m.sent] == [407]
    [challenge] = received(result, 407)
    assert challenge.headers("Proxy-Authenticate")
    assert challenge.param("To", "tag")
    # No record: the call never got past authentication, so it was never an attempt.
    no_records(switch.database_url)
