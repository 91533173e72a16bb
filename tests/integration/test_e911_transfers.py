"""Transfers to 911 lose the caller's location: a blind REFER to 911 inside a call is
recorded as an incident with its fee and let through, or refused when the account says so.

The phones are SIPp: pyVoIP 1.6.8 has no REFER (nor any way to send a request inside
a dialog other than BYE), so it cannot take part in a transfer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioning.e911_models import TransferIncident
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
from tests.integration.e911_peers import rows
from tests.support.cdrs import call_records, finished
from tests.support.switch_process import SwitchProcess, free_port

pytestmark = pytest.mark.sipp

HOLD = 800  # ms the caller stays on after the REFER, before hanging up


def account_id(switch: SwitchProcess) -> int:
    shown = switch.ctl_json("account", "show", "acme")
    assert isinstance(shown, dict)
    return int(shown["id"])


def test_blind_refer_to_911_is_charged_and_passed_on(
    provisioned: SwitchProcess, tmp_path: Path
) -> None:
    switch = provisioned
    bob_port = free_port()
    with started(switch):
        register(switch, tmp_path, *BOB, bob_port)
        bob = callee("e911_uas_refer.xml", peer_folder(tmp_path, "bob"), bob_port)
        alice = call(
            switch,
            peer_folder(tmp_path, "alice"),
            ALICE,
            "202",
            free_port(),
            scenario="e911_uac_referred.xml",
            hold_ms=HOLD,
        )
        transferring = bob.wait()
        incidents = rows(switch.database_url, TransferIncident)
        [record] = call_records(switch.database_url, until=finished(1))
    assert alice.ok, explain(alice)
    assert transferring.ok, explain(transferring)
    # The REFER reached the transferee through the switch, and its 202 came back.
    [refer] = received(alice, "REFER")
    assert refer.header("Refer-To") == "<sip:911@127.0.0.1>"
    assert refer.headers("Via")[0].startswith(f"SIP/2.0/UDP 127.0.0.1:{switch.port};")
    [accepted] = received(transferring, 202)
    assert accepted.header("CSeq") == "1 REFER"
    assert not received(transferring, 403)
    # One incident, charged at the default fee, for this call and this account.
    [incident] = incidents
    assert incident.call_id == refer.header("Call-ID") == record.call_id
    assert incident.kind.value == "blind_refer"
    assert (incident.fee, incident.currency) == ("150.00", "USD")
    assert incident.account_id == account_id(switch)
    assert "transfer-to-911" in record.flags
    assert record.disposition == "answered" and record.hangup_by == "caller"


def test_refer_to_911_is_refused_when_the_account_says_so(
    provisioned: SwitchProcess, tmp_path: Path
) -> None:
    switch = provisioned
    switch.ctl("e911", "settings", "acme", "--transfer-911-action", "refuse")
    bob_port = free_port()
    with started(switch):
        register(switch, tmp_path, *BOB, bob_port)
        bob = callee("e911_uas_refer.xml", peer_folder(tmp_path, "bob"), bob_port)
        # A plain caller: a REFER reaching it would fail its scenario.
        alice = call(
            switch, peer_folder(tmp_path, "alice"), ALICE, "202", free_port(), hold_ms=HOLD
        )
        transferring = bob.wait()
        [record] = call_records(switch.database_url, until=finished(1))
        incidents = rows(switch.database_url, TransferIncident, timeout=0.5)
    assert alice.ok, explain(alice)
    assert transferring.ok, explain(transferring)
    assert sent(transferring, "REFER")
    assert not received(alice, "REFER")
    [refused] = received(transferring, 403)
    assert refused.start_line == "SIP/2.0 403 Hang Up And Dial 911"
    assert "hang up and dial 911" in refused.header("Warning")
    assert refused.header("CSeq") == "1 REFER"
    assert incidents == []
    assert "transfer-to-911" not in record.flags
    assert record.disposition == "answered"
