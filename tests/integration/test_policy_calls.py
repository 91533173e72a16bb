"""Class of service and caller-ID policy end to end: SIPp phones call through the real
switch, SIPp carriers listen on the trunk and emergency gateways, and switchctl changes
the settings while the switch runs.

Carriers answer 486 so that a routed call ends at once; what matters is what reached
them. Each carrier takes a single call, so a carrier that sees exactly the one INVITE
of the allowed call also proves that the refused attempts before it never arrived.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from provisioning.cdr_models import CallRecordRow
from provisioning.state import current_version
from tests.integration.calls import target
from tests.integration.conftest import ALICE, BOB
from tests.support.cdrs import call_records
from tests.support.sipp import BackgroundSipp, run_sipp
from tests.support.switch_process import SwitchProcess, free_port

MAIN_NUMBER = "+12025550100"
LONDON_DIALLED = "011442079460000"
LONDON = "+442079460000"
HAVANA = "+5372345678"  # Cuba: on the shipped embargo list
RELOAD_TIMEOUT = 8.0
_RELOADED = re.compile(r"provisioning reloaded at version (\d+)")
_STATUS = re.compile(r"^SIP/2\.0 (\d{3}) (.*)$", re.MULTILINE)


@dataclass
class Gateways:
    trunk: int
    emergency: int


@pytest.fixture
def gateways(provisioned: SwitchProcess) -> Gateways:
    """Trunk and emergency gateways on loopback ports; acme owns its main number as a DID."""
    ports = Gateways(trunk=free_port(), emergency=free_port())
    provisioned.extra_env.update(
        {
            "SWITCH_TRUNK__GATEWAY": f"udp:127.0.0.1:{ports.trunk}",
            "SWITCH_EMERGENCY__GATEWAY": f"udp:127.0.0.1:{ports.emergency}",
        }
    )
    provisioned.ctl("did", "create", MAIN_NUMBER, "acme")
    return ports


@pytest.fixture
def switch(provisioned: SwitchProcess, gateways: Gateways) -> Iterator[SwitchProcess]:
    provisioned.start()
    try:
        yield provisioned
    finally:
        # Not SIGTERM: the graceful drain would wait out the transactions of refused calls
        # (Timer D), and these tests look at nothing after the calls.
        provisioned.stop(signal.SIGKILL)


@dataclass
class Attempt:
    status: int
    reason: str
    response: str  # the final response as the phone received it
    call_id: str


def dial(
    switch: SwitchProcess, folder: Path, caller: tuple[str, str], dialled: str, *, presenting: str
) -> Attempt:
    """One call from ``caller``'s phone, From user ``presenting``; returns the final answer."""
    folder.mkdir()
    result = run_sipp(
        "uac_denied.xml",
        target(switch),
        folder,
        injection=[[presenting]],
        auth=caller,
        local_port=free_port(),
        timeout=10,
        extra=["-s", dialled],
    )
    assert result.ok, result.errors + result.stderr + switch.log_text()[-2000:]
    finals = [m for m in _responses(result.messages) if m[0] >= 200 and m[0] != 407]
    status, reason, response = finals[-1]
    call_id = re.search(r"^Call-ID: (.+)$", response, re.MULTILINE)
    assert call_id is not None
    return Attempt(status, reason, response, call_id.group(1).strip())


def _responses(log: str) -> list[tuple[int, str, str]]:
    matches = list(_STATUS.finditer(log))
    found = []
    for match in matches:
        block = log[match.start() :].split("\n\n", 1)[0]
        found.append((int(match.group(1)), match.group(2).strip(), block))
    return found


def carrier(folder: Path, port: int, timeout: int = 15) -> BackgroundSipp:
    """A gateway that takes one call; with none arriving it gives up after ``timeout`` s."""
    folder.mkdir()
    return BackgroundSipp("trunk_uas_expect.xml", folder, local_port=port, timeout=timeout)


def invites(messages: str) -> list[str]:
    """The INVITE requests in a SIPp message log, headers only."""
    return [block.split("\n\n", 1)[0] for block in messages.split("INVITE sip:")[1:]]


def header(message: str, name: str) -> str | None:
    match = re.search(rf"^{name}:\s*(.+)$", message, re.MULTILINE | re.IGNORECASE)
    return match.group(1).strip() if match else None


def change(switch: SwitchProcess, *args: str) -> None:
    """Run switchctl and wait until the running switch has reloaded provisioning."""
    switch.ctl("--reason", "policy test", *args)
    engine = create_engine(switch.database_url)
    try:
        with engine.connect() as connection:
            wanted = current_version(connection)
    finally:
        engine.dispose()
    deadline = time.monotonic() + RELOAD_TIMEOUT
    while time.monotonic() < deadline:
        seen = [int(v) for v in _RELOADED.findall(switch.log_text())]
        if seen and max(seen) >= wanted:
            return
        time.sleep(0.05)
    raise AssertionError(f"switch did not reload provisioning version {wanted}")


def record_of(switch: SwitchProcess, call_id: str) -> CallRecordRow:
    def done(rows: list[CallRecordRow]) -> bool:
        return any(r.call_id == call_id and r.end_time is not None for r in rows)

    rows = call_records(switch.database_url, until=done, timeout=5.0)
    [record] = [r for r in rows if r.call_id == call_id]
    return record


def test_international_follows_class_of_service(
    switch: SwitchProcess, gateways: Gateways, tmp_path: Path
) -> None:
    ports = gateways
    trunk = carrier(tmp_path / "carrier1", ports.trunk)

    # A new account: international is off, so the call is refused and explained.
    refused = dial(switch, tmp_path / "a1", ALICE, LONDON_DIALLED, presenting=ALICE[0])
    assert (refused.status, refused.reason) == (403, "International Calling Not Enabled")
    assert 'cause=403 ;text="cos.international"' in (header(refused.response, "Reason") or "")
    assert "(cos.international)" in (header(refused.response, "Warning") or "")
    record = record_of(switch, refused.call_id)
    assert (record.destination_class, record.destination) == ("international", LONDON)
    assert (record.policy_verdict, record.policy_rule) == ("deny", "cos.international")
    assert (record.disposition, record.sip_status, record.trunk) == ("rejected", 403, None)

    # Enabled for extension 201 only: 201 goes out as E.164, its sibling 202 is refused.
    change(switch, "cos", "set", "acme", "--extension", "201", "--international", "allow")
    sibling = dial(switch, tmp_path / "b1", BOB, LONDON_DIALLED, presenting=BOB[0])
    assert (sibling.status, sibling.reason) == (403, "International Calling Not Enabled")
    routed = dial(switch, tmp_path / "a2", ALICE, LONDON_DIALLED, presenting=ALICE[0])
    assert routed.status == 486  # the carrier's answer, relayed
    seen = trunk.wait()
    [invite] = invites(seen.messages)  # nothing from the three attempts before
    assert invite.startswith(f"{LONDON}@127.0.0.1:{ports.trunk};user=phone SIP/2.0")
    assert header(invite, "Call-ID") == routed.call_id
    assert header(invite, "P-Asserted-Identity") == f"<sip:{MAIN_NUMBER}@127.0.0.1>"
    assert record_of(switch, routed.call_id).trunk == "carrier"

    # Enabled for the account: 202 goes out too; an embargoed country never does.
    change(switch, "cos", "set", "acme", "--international", "on")
    trunk = carrier(tmp_path / "carrier2", ports.trunk)
    embargoed = dial(switch, tmp_path / "a3", ALICE, "011" + HAVANA[1:], presenting=ALICE[0])
    assert (embargoed.status, embargoed.reason) == (403, "Embargoed Destination")
    assert 'text="embargo"' in (header(embargoed.response, "Reason") or "")
    assert record_of(switch, embargoed.call_id).policy_rule == "embargo"
    sibling = dial(switch, tmp_path / "b2", BOB, LONDON_DIALLED, presenting=BOB[0])
    assert sibling.status == 486
    [invite] = invites(trunk.wait().messages)
    assert header(invite, "Call-ID") == sibling.call_id
    assert invite.startswith(f"{LONDON}@")


def test_suspended_account_still_reaches_emergency_route(
    switch: SwitchProcess, gateways: Gateways, tmp_path: Path
) -> None:
    change(switch, "account", "update", "acme", "--status", "suspended")
    trunk = carrier(tmp_path / "carrier", gateways.trunk, timeout=3)
    psap = carrier(tmp_path / "psap", gateways.emergency)

    refused = dial(switch, tmp_path / "a1", ALICE, "2125550123", presenting=ALICE[0])
    assert (refused.status, refused.reason) == (403, "Account Suspended")
    emergency = dial(switch, tmp_path / "a2", ALICE, "9911", presenting=ALICE[0])
    assert emergency.status == 486  # the emergency gateway's answer, relayed

    [invite] = invites(psap.wait().messages)
    assert invite.startswith(f"911@127.0.0.1:{gateways.emergency};user=phone SIP/2.0")
    assert header(invite, "P-Asserted-Identity") == f"<sip:{MAIN_NUMBER}@127.0.0.1>"
    record = record_of(switch, emergency.call_id)
    assert (record.destination_class, record.policy_rule) == ("emergency", "emergency")
    assert "account_suspended" in record.flags
    # Only the emergency call left the switch: the trunk saw nothing before its timeout.
    silent = trunk.wait()
    assert not silent.ok and invites(silent.messages) == []


def test_spoofed_caller_id_is_replaced_or_refused(
    switch: SwitchProcess, gateways: Gateways, tmp_path: Path
) -> None:
    spoofed = "+13105550199"  # a number acme neither owns nor has verified
    trunk = carrier(tmp_path / "carrier", gateways.trunk)
    replaced = dial(switch, tmp_path / "a1", ALICE, "13125550123", presenting=spoofed)
    assert replaced.status == 486
    [invite] = invites(trunk.wait().messages)
    assert header(invite, "P-Asserted-Identity") == f"<sip:{MAIN_NUMBER}@127.0.0.1>"
    record = record_of(switch, replaced.call_id)
    assert (record.caller_presented, record.caller_asserted) == (spoofed, MAIN_NUMBER)
    assert record.policy_rule == "callerid.replaced"

    change(switch, "account", "update", "acme", "--caller-id-mode", "reject")
    trunk = carrier(tmp_path / "carrier2", gateways.trunk)
    refused = dial(switch, tmp_path / "a2", ALICE, "13125550123", presenting=spoofed)
    assert (refused.status, refused.reason) == (403, "Caller ID Not Permitted")
    assert 'text="callerid.not_owned"' in (header(refused.response, "Reason") or "")
    # The account's own number is still fine under "reject".
    allowed = dial(switch, tmp_path / "a3", ALICE, "13125550123", presenting=MAIN_NUMBER)
    assert allowed.status == 486
    [invite] = invites(trunk.wait().messages)
    assert header(invite, "Call-ID") == allowed.call_id
