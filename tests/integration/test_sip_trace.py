"""Per-device SIP trace: `switchctl trace start` makes the running switch log every message
of one device in full (credentials redacted), and the trace ends by itself or on `stop`."""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from switch.core.directory import AccountRecord, DeviceRecord, Directory
from switch.core.location import Binding, LocationService
from switch.core.trace import TRACE_LOGGER, SipTracer
from switch.sip.message import parse_message
from switch.transport.peer import Peer
from tests.integration.conftest import ALICE, BOB
from tests.support.sipp import SippResult, run_sipp
from tests.support.switch_process import SwitchProcess, free_port

RELOAD_TIMEOUT = 8.0
_MESSAGE_LINE = re.compile(r"SIP trace \S+: (received from|sent to) ")


# -- against the real switch ------------------------------------------------------------------


@pytest.fixture
def switch(provisioned: SwitchProcess) -> Iterator[SwitchProcess]:
    """A running switch writing JSON log lines (so each line's context can be read)."""
    provisioned.extra_env["SWITCH_LOG__FORMAT"] = "json"
    provisioned.start()
    try:
        yield provisioned
    finally:
        # Shutdown is not under test here: skip the graceful drain.
        provisioned.stop(signal.SIGKILL)


def log_entries(switch: SwitchProcess) -> list[dict[str, str]]:
    entries = []
    for line in switch.log_text().splitlines():
        if line.startswith("{"):
            entries.append(json.loads(line))
    return entries


def traced(switch: SwitchProcess) -> list[dict[str, str]]:
    """Trace lines that carry a SIP message (not the start/stop notices)."""
    return [
        e
        for e in log_entries(switch)
        if e["logger"] == TRACE_LOGGER and _MESSAGE_LINE.match(e["msg"])
    ]


def wait_for_log(switch: SwitchProcess, text: str, timeout: float = RELOAD_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(text in e["msg"] for e in log_entries(switch)):
            return
        time.sleep(0.05)
    raise AssertionError(f"no log line with {text!r}: {switch.log_text()[-2000:]}")


def register(switch: SwitchProcess, folder: Path, user: str, password: str) -> SippResult:
    folder.mkdir()
    result = run_sipp(
        "register_auth.xml",
        f"{switch.host}:{switch.port}",
        folder,
        injection=[[user, "", "600"]],
        auth=(user, password),
        local_port=free_port(),
        timeout=10,
    )
    assert result.ok, result.errors + result.stderr
    return result


def sipp_header(result: SippResult, name: str) -> str:
    match = re.search(rf"^{name}:\s*(.+)$", result.messages, re.MULTILINE)
    assert match is not None, f"no {name} in {result.messages[:2000]}"
    return match.group(1).strip()


def test_trace_logs_one_devices_messages_redacted_and_stops(
    switch: SwitchProcess, tmp_path: Path
) -> None:
    switch.ctl("trace", "start", ALICE[0], "--minutes", "5")
    wait_for_log(switch, f"SIP trace of {ALICE[0]} on until")

    alice = register(switch, tmp_path / "alice", *ALICE)
    bob = register(switch, tmp_path / "bob", *BOB)
    alice_port = re.search(r"Via: SIP/2\.0/UDP 127\.0\.0\.1:(\d+)", alice.messages)
    bob_port = re.search(r"Via: SIP/2\.0/UDP 127\.0\.0\.1:(\d+)", bob.messages)
    assert alice_port is not None and bob_port is not None
    alice_peer = f"udp:127.0.0.1:{alice_port.group(1)}"

    lines = traced(switch)
    summary = [e["msg"].split("\n", 2)[:2] for e in lines]
    # Both REGISTERs in, the challenge and the 200 out, in order, all about alice.
    assert [(head.split(": ", 1)[1].rsplit(" (", 1)[0], first) for head, first in summary] == [
        (f"received from {alice_peer}", f"REGISTER sip:127.0.0.1:{switch.port} SIP/2.0"),
        (f"sent to {alice_peer}", "SIP/2.0 401 Unauthorized"),
        (f"received from {alice_peer}", f"REGISTER sip:127.0.0.1:{switch.port} SIP/2.0"),
        (f"sent to {alice_peer}", "SIP/2.0 200 OK"),
    ]
    assert all(e["msg"].startswith(f"SIP trace {ALICE[0]}: ") for e in lines)
    # Each line carries the REGISTER's Call-ID and the account as log context.
    call_id = sipp_header(alice, "Call-ID")
    assert {(e.get("call_id"), e.get("account")) for e in lines} == {(call_id, "acme")}
    # The full message is there, but not the digest response.
    answered = lines[2]["msg"]
    assert "Authorization: Digest [redacted]" in answered and "Contact: <sip:alice-201@" in answered
    response = re.search(r'response="?([0-9a-f]{32,64})', alice.messages)
    assert response is not None
    assert response.group(1) not in switch.log_text()
    # Bob was never traced.
    assert not any(BOB[0] in e["msg"] or f":{bob_port.group(1)} " in e["msg"] for e in lines)

    switch.ctl("trace", "stop", ALICE[0])
    wait_for_log(switch, f"SIP trace of {ALICE[0]} stopped")
    register(switch, tmp_path / "alice-again", *ALICE)
    assert len(traced(switch)) == len(lines), "nothing is traced once the trace is stopped"


def test_trace_turns_itself_off_when_its_time_is_up(switch: SwitchProcess, tmp_path: Path) -> None:
    switch.ctl("trace", "start", ALICE[0], "--seconds", "6")
    wait_for_log(switch, f"SIP trace of {ALICE[0]} on until")
    register(switch, tmp_path / "during", *ALICE)
    during = len(traced(switch))
    assert during == 4
    # Nobody acts: the switch notices the end by itself ...
    wait_for_log(switch, f"SIP trace of {ALICE[0]} ended", timeout=10.0)
    register(switch, tmp_path / "after", *ALICE)
    # ... and traces nothing more.
    assert len(traced(switch)) == during
    assert switch.ctl_json("trace", "list") == []


def test_trace_commands_check_input_and_are_audited(provisioned: SwitchProcess) -> None:
    switch = provisioned
    unknown = switch.ctl("trace", "start", "nobody-999", check=False)
    assert unknown.returncode == 2 and "unknown device 'nobody-999'" in unknown.stderr
    too_long = switch.ctl("trace", "start", ALICE[0], "--minutes", "241", check=False)
    assert too_long.returncode == 2 and "--minutes must be between 1 and 240" in too_long.stderr
    nothing = switch.ctl("trace", "stop", ALICE[0], check=False)
    assert nothing.returncode == 2 and "no running trace" in nothing.stderr

    started = switch.ctl_json("trace", "start", ALICE[0])
    assert isinstance(started, dict)
    # The default is 15 minutes.
    assert 14 * 60 < started["remaining_seconds"] <= 15 * 60
    listing = switch.ctl_json("trace", "list")
    assert isinstance(listing, list)
    [listed] = listing
    assert listed["username"] == ALICE[0] and listed["created_by"] == "pytest"
    switch.ctl("trace", "stop", ALICE[0])
    assert switch.ctl_json("trace", "list") == []

    audit = switch.ctl_json("audit", "list")
    assert isinstance(audit, list)
    trace_rows = [row for row in audit if row["entity"] == "sip_trace"]
    assert [row["action"] for row in trace_rows] == ["update", "create"]  # newest first
    assert all(row["actor"] == "pytest" for row in trace_rows)
    assert all(row["details"]["username"] == ALICE[0] for row in trace_rows)


# -- the matching rules, in process -----------------------------------------------------------

NOW = 1_700_000_000.0
ALICE_HOME = Peer("udp", "198.51.100.20", 5062)


def _directory() -> Directory:
    def device(device_id: int, username: str, extension: str) -> DeviceRecord:
        return DeviceRecord(device_id, username, "r", {}, 10 + device_id, extension, 1, 3, True)

    account = AccountRecord(1, "acme", "active", "+12025550100", frozenset())
    return Directory(
        version=1,
        devices={
            "alice-201": device(1, "alice-201", "201"),
            "bob-202": device(2, "bob-202", "202"),
        },
        accounts={1: account},
    )


def _tracer(clock: list[float]) -> SipTracer:
    location = LocationService()
    location.replace(
        1,
        [Binding(1, "sip:alice-201@r", "sip:alice-201@10.0.0.5", NOW + 600, "c", 1, ALICE_HOME)],
    )
    directory = _directory()
    return SipTracer(lambda: directory, location, clock=lambda: clock[0])


def _invite(to_user: str, from_user: str) -> bytes:
    return (
        f"INVITE sip:{to_user}@10.0.0.5 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK77\r\n"
        f"From: <sip:{from_user}@r>;tag=1\r\nTo: <sip:{to_user}@r>\r\n"
        "Call-ID: abc\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def test_messages_to_a_registered_address_are_traced_without_the_username(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [NOW]
    tracer = _tracer(clock)
    tracer.replace({"alice-201": NOW + 60})
    caplog.set_level("INFO", TRACE_LOGGER)
    # An INVITE for extension 201 on its way to alice's phone names no username ...
    tracer.sent(_invite("201", "+12025550199"), ALICE_HOME)
    # ... the same INVITE to some other address is not alice's, and bob's is not traced.
    tracer.sent(_invite("201", "+12025550199"), Peer("udp", "198.51.100.99", 5060))
    tracer.received(_invite("202", "bob-202"), Peer("udp", "198.51.100.30", 5060), None)
    messages = [r.getMessage() for r in caplog.records if _MESSAGE_LINE.match(r.getMessage())]
    assert len(messages) == 1
    assert messages[0].startswith(f"SIP trace alice-201: sent to {ALICE_HOME} (")
    # A message that names alice is hers wherever it comes from.
    tracer.received(_invite("202", "alice-201"), Peer("tcp", "203.0.113.9", 40000), None)
    assert sum(bool(_MESSAGE_LINE.match(r.getMessage())) for r in caplog.records) == 2


def test_trace_stops_matching_at_its_end(caplog: pytest.LogCaptureFixture) -> None:
    clock = [NOW]
    tracer = _tracer(clock)
    tracer.replace({"alice-201": NOW + 60})
    caplog.set_level("INFO", TRACE_LOGGER)
    assert tracer.match(_invite("202", "alice-201"), ALICE_HOME, None) == "alice-201"
    clock[0] = NOW + 60
    assert tracer.match(_invite("202", "alice-201"), ALICE_HOME, None) is None
    tracer.expire()
    assert tracer.traces == {}
    assert "SIP trace of alice-201 ended" in caplog.text


def test_account_of_a_message_is_its_devices_account() -> None:
    tracer = _tracer([NOW])
    assert tracer.account_of(parse_message(_invite("202", "alice-201"))) == "acme"
    assert tracer.account_of(parse_message(_invite("999", "+12025550199"))) is None
