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
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from provisioning.cdr_models import CallRecordRow
from provisioning.state import current_version
from tests.integration.calls import target
from tests.support.cdrs import call_records
from tests.support.databases import database_url
from tests.support.sipp import BackgroundSipp, run_sipp
from tests.support.switch_process import SwitchProcess, free_port

pytestmark = pytest.mark.sipp

LONDON_DIALLED = "011442079460000"
LONDON = "+442079460000"
HAVANA = "+5372345678"  # Cuba: on the shipped embargo list
RELOAD_TIMEOUT = 8.0
_RELOADED = re.compile(r"provisioning reloaded at version (\d+)")
_STATUS = re.compile(r"^SIP/2\.0 (\d{3}) (.*)$", re.MULTILINE)
ADDRESS = "1600 Pennsylvania Ave NW, Washington, DC 20500"
PASSWORDS = {"201": "Correct-Horse-Battery-9", "202": "Staple-Orbit-Lantern-4"}


@dataclass(frozen=True)
class Customer:
    """An account with extensions 201 and 202, one phone each, owning its main number."""

    name: str
    main_number: str

    def phone(self, extension: str) -> tuple[str, str]:
        return f"{self.name}-{extension}", PASSWORDS[extension]

    def provision(self, switch: SwitchProcess) -> None:
        switch.ctl("account", "create", self.name, "--main-number", self.main_number)
        switch.ctl("did", "create", self.main_number, self.name)
        for extension in ("201", "202"):
            username, password = self.phone(extension)
            switch.ctl("extension", "create", self.name, extension)
            switch.ctl(
                "device",
                "create",
                self.name,
                extension,
                username,
                "--password",
                password,
                "--address",
                ADDRESS,  # a registered E911 location: calls are not held back for lack of one
            )


# One customer per test, so the tests share a switch without sharing settings.
ACME = Customer("acme", "+12025550100")
LAPSED = Customer("lapsed", "+12025550111")
SPOOFER = Customer("spoofer", "+12025550122")


@dataclass
class PolicySwitch:
    process: SwitchProcess
    trunk_port: int
    emergency_port: int


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def policy_switch(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PolicySwitch]:
    """A running switch with trunk and emergency gateways on loopback ports (where each
    test puts a SIPp carrier) and the customers above; started once per database."""
    folder = tmp_path_factory.mktemp(f"policy-{request.param}")
    with database_url(request.param, folder) as url:
        shared = PolicySwitch(SwitchProcess(folder, url), free_port(), free_port())
        switch = shared.process
        switch.extra_env.update(
            {
                "SWITCH_TRUNK__GATEWAY": f"udp:127.0.0.1:{shared.trunk_port}",
                "SWITCH_EMERGENCY__GATEWAY": f"udp:127.0.0.1:{shared.emergency_port}",
            }
        )
        switch.ctl("migrate")
        for customer in (ACME, LAPSED, SPOOFER):
            customer.provision(switch)
        switch.ctl("account", "update", LAPSED.name, "--status", "suspended")
        switch.start()
        try:
            yield shared
        finally:
            # Not SIGTERM: the graceful drain would wait out the transactions of refused
            # calls (Timer D), and nothing here looks at the switch after the calls.
            switch.stop(signal.SIGKILL)


@dataclass
class Attempt:
    status: int
    reason: str
    response: str  # the final response as the phone received it
    call_id: str


def dial(
    switch: SwitchProcess,
    folder: Path,
    caller: tuple[str, str],
    dialled: str,
    *,
    presenting: str | None = None,
) -> Attempt:
    """One call from ``caller``'s phone with From user ``presenting`` (by default its
    username, as phones do); returns the final answer the phone got."""
    folder.mkdir()
    result = run_sipp(
        "uac_denied.xml",
        target(switch),
        folder,
        injection=[[presenting or caller[0]]],
        auth=caller,
        local_port=free_port(),
        timeout=10,
        rate=100,  # SIPp exits at the end of its rate period: 10 ms, not 1 s
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


Carrier = Callable[[str, int], BackgroundSipp]


@pytest.fixture
def carrier(tmp_path: Path) -> Iterator[Carrier]:
    """Starts a gateway that takes one call, listening by the time it returns; any still
    running at the end of the test is stopped, so the next test finds the port free."""
    started: list[BackgroundSipp] = []

    def start(name: str, port: int) -> BackgroundSipp:
        folder = tmp_path / name
        folder.mkdir()
        sipp = BackgroundSipp("trunk_uas_expect.xml", folder, local_port=port, timeout=15)
        started.append(sipp)
        deadline = time.monotonic() + 5
        while _udp_port_free(port):
            assert sipp.process.poll() is None and time.monotonic() < deadline, "carrier not up"
            time.sleep(0.02)
        return sipp

    yield start
    for sipp in started:
        if sipp.process.poll() is None:
            sipp.process.kill()
            sipp.wait()


def _udp_port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


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
    policy_switch: PolicySwitch, carrier: Carrier, tmp_path: Path
) -> None:
    switch = policy_switch.process
    alice, bob = ACME.phone("201"), ACME.phone("202")
    trunk = carrier("carrier1", policy_switch.trunk_port)

    # A new account: international is off, so the call is refused and explained.
    refused = dial(switch, tmp_path / "a1", alice, LONDON_DIALLED)
    assert (refused.status, refused.reason) == (403, "International Calling Not Enabled")
    assert 'cause=403 ;text="cos.international"' in (header(refused.response, "Reason") or "")
    assert "(cos.international)" in (header(refused.response, "Warning") or "")
    record = record_of(switch, refused.call_id)
    assert (record.destination_class, record.destination) == ("international", LONDON)
    assert (record.policy_verdict, record.policy_rule) == ("deny", "cos.international")
    assert (record.disposition, record.sip_status, record.trunk) == ("rejected", 403, None)

    # Enabled for extension 201 only: 201 goes out as E.164, its sibling 202 is refused.
    change(switch, "cos", "set", ACME.name, "--extension", "201", "--international", "allow")
    sibling = dial(switch, tmp_path / "b1", bob, LONDON_DIALLED)
    assert (sibling.status, sibling.reason) == (403, "International Calling Not Enabled")
    routed = dial(switch, tmp_path / "a2", alice, LONDON_DIALLED)
    assert routed.status == 486  # the carrier's answer, relayed
    [invite] = invites(trunk.wait().messages)  # nothing from the two refused attempts
    port = policy_switch.trunk_port
    assert invite.startswith(f"{LONDON}@127.0.0.1:{port};user=phone SIP/2.0")
    assert header(invite, "Call-ID") == routed.call_id
    assert header(invite, "P-Asserted-Identity") == f"<sip:{ACME.main_number}@127.0.0.1>"
    assert record_of(switch, routed.call_id).trunk == "carrier"

    # Enabled for the account: 202 goes out too; an embargoed country never does.
    change(switch, "cos", "set", ACME.name, "--international", "on")
    trunk = carrier("carrier2", port)
    embargoed = dial(switch, tmp_path / "a3", alice, "011" + HAVANA[1:])
    assert (embargoed.status, embargoed.reason) == (403, "Embargoed Destination")
    assert 'text="embargo"' in (header(embargoed.response, "Reason") or "")
    assert record_of(switch, embargoed.call_id).policy_rule == "embargo"
    sibling = dial(switch, tmp_path / "b2", bob, LONDON_DIALLED)
    assert sibling.status == 486
    [invite] = invites(trunk.wait().messages)
    assert header(invite, "Call-ID") == sibling.call_id
    assert invite.startswith(f"{LONDON}@")


def test_suspended_account_still_reaches_emergency_route(
    policy_switch: PolicySwitch, carrier: Carrier, tmp_path: Path
) -> None:
    switch, phone = policy_switch.process, LAPSED.phone("201")
    trunk = carrier("carrier", policy_switch.trunk_port)
    psap = carrier("psap", policy_switch.emergency_port)

    refused = dial(switch, tmp_path / "a1", phone, "2125550123")
    assert (refused.status, refused.reason) == (403, "Account Suspended")
    emergency = dial(switch, tmp_path / "a2", phone, "9911")
    assert emergency.status == 486  # the emergency gateway's answer, relayed

    [invite] = invites(psap.wait().messages)
    port = policy_switch.emergency_port
    assert invite.startswith(f"911@127.0.0.1:{port};user=phone SIP/2.0")
    assert header(invite, "P-Asserted-Identity") == f"<sip:{LAPSED.main_number}@127.0.0.1>"
    record = record_of(switch, emergency.call_id)
    assert (record.destination_class, record.policy_rule) == ("emergency", "emergency")
    assert "account_suspended" in record.flags
    # Only the emergency call left the switch: the trunk, which would have answered
    # and ended after one call, is still waiting with nothing in its log.
    assert trunk.process.poll() is None
    trunk.process.terminate()
    assert invites(trunk.wait().messages) == []


def test_spoofed_caller_id_is_replaced_or_refused(
    policy_switch: PolicySwitch, carrier: Carrier, tmp_path: Path
) -> None:
    switch, phone = policy_switch.process, SPOOFER.phone("201")
    spoofed = "+13105550199"  # a number the account neither owns nor has verified
    trunk = carrier("carrier", policy_switch.trunk_port)
    replaced = dial(switch, tmp_path / "a1", phone, "13125550123", presenting=spoofed)
    assert replaced.status == 486
    [invite] = invites(trunk.wait().messages)
    assert header(invite, "P-Asserted-Identity") == f"<sip:{SPOOFER.main_number}@127.0.0.1>"
    record = record_of(switch, replaced.call_id)
    assert (record.caller_presented, record.caller_asserted) == (spoofed, SPOOFER.main_number)
    assert record.policy_rule == "callerid.replaced"

    change(switch, "account", "update", SPOOFER.name, "--caller-id-mode", "reject")
    trunk = carrier("carrier2", policy_switch.trunk_port)
    refused = dial(switch, tmp_path / "a2", phone, "13125550123", presenting=spoofed)
    assert (refused.status, refused.reason) == (403, "Caller ID Not Permitted")
    assert 'text="callerid.not_owned"' in (header(refused.response, "Reason") or "")
    # The account's own number is still fine under "reject".
    own = dial(switch, tmp_path / "a3", phone, "13125550123", presenting=SPOOFER.main_number)
    assert own.status == 486
    [invite] = invites(trunk.wait().messages)
    assert header(invite, "Call-ID") == own.call_id
