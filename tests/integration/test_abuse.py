"""Abuse detection with real peers: a sequential dialler is flagged and throttled while 911
still goes through, a third call on a seat is refused (or flagged), a password guesser is
banned while the phones around it keep working, and ``switchctl alert lift`` reaches the
running switch."""

from __future__ import annotations

import re
import signal
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from switch.config import DetectSettings
from switch.detect import DetectConfig, DetectorKind, Level
from switch.detect.actions import DEFAULT_RULES, ActionKind
from switch.sip.digest_client import build_authorization
from tests.integration.calls import (
    Traced,
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
from tests.integration.conftest import ALICE, BOB
from tests.integration.e911_peers import Expected, emergency_gateway, wait_reloaded
from tests.support.cdrs import call_records, finished
from tests.support.sipp import BackgroundSipp, SippResult, run_sipp
from tests.support.switch_process import SwitchProcess, free_port

pytestmark = pytest.mark.sipp

AUTODIAL = DetectConfig().autodial
DETECT = DetectSettings()
# The throttle an autodial alert puts on the dialler: 503 with this Retry-After.
[THROTTLE] = [
    a
    for a in DEFAULT_RULES[(DetectorKind.AUTODIAL, Level.CRITICAL)]
    if a.kind is ActionKind.THROTTLE
]
# Enough calls for the detector's minimum sample, and a few more to meet the throttle.
DIALS = AUTODIAL.min_attempts + 6
HOLD_MS = 300  # short calls: the dialler signature (and never two at once on the seat)
ALICE_DID = "+12025550123"  # outbound calls present a number the account owns
# alice-201's callback number and registered location (see conftest.provision).
ALICE_AT_HQ = Expected(ALICE_DID, "1600", "PENNSYLVANIA", "2", "201")
WAIT = 8.0
SILENCE = 0.2  # seconds without an answer that count as none (loopback answers in ms)


# -- peers -----------------------------------------------------------------------------------


def dial(
    switch: SwitchProcess,
    folder: Path,
    numbers: list[str],
    *,
    rate: float = 2,
    hold_ms: int = HOLD_MS,
) -> SippResult:
    """alice-201 dials ``numbers`` in order, ``rate`` calls a second (uac_dialer.xml)."""
    return run_sipp(
        "uac_dialer.xml",
        target(switch),
        folder,
        injection=[[ALICE[0], number] for number in numbers],
        auth=ALICE,
        local_port=free_port(),
        calls=len(numbers),
        rate=rate,
        timeout=20 + int(len(numbers) / rate),
        extra=["-d", str(hold_ms)],
    )


def finals(result: SippResult) -> list[Traced]:
    """The final answer to each call's authenticated INVITE, in the order of the calls."""
    first: dict[str, Traced] = {}
    for message in received(result, 200) + received(result, 403) + received(result, 503):
        if message.header("CSeq") == "2 INVITE":
            first.setdefault(message.header("Call-ID"), message)
    return sorted(first.values(), key=lambda m: m.at)


def soft_stop(peer: BackgroundSipp) -> SippResult:
    """A SIPp UAS told to finish the calls it has and take no more (SIGUSR1)."""
    peer.process.send_signal(signal.SIGUSR1)
    return peer.wait()


def alerts(switch: SwitchProcess, detector: str, *, until: int = 1) -> list[dict[str, Any]]:
    """``switchctl alert list`` for one detector, once ``until`` rows are there (written off
    the packet path) or the wait is over."""
    deadline = time.monotonic() + WAIT
    while True:
        found = switch.ctl_json("alert", "list", "--detector", detector)
        assert isinstance(found, list)
        if len(found) >= until or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def shown(switch: SwitchProcess, alert_id: int) -> dict[str, Any]:
    view = switch.ctl_json("alert", "show", str(alert_id))
    assert isinstance(view, dict)
    return view


def metric(switch: SwitchProcess, name: str, **labels: str) -> float:
    """One sample of the switch's /metrics page (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.compile(rf"^softswitch_{name}\{{([^}}]*)\}} (\S+)$", re.MULTILINE)
    for found in pattern.finditer(switch.scrape()):
        if ",".join(sorted(found.group(1).split(","))) == wanted:
            return float(found.group(2))
    return 0.0


def device_of(switch: SwitchProcess, username: str) -> dict[str, Any]:
    view = switch.ctl_json("device", "show", username)
    assert isinstance(view, dict)
    return view


@pytest.fixture
def provisioned(provisioned: SwitchProcess) -> SwitchProcess:
    """The test account, with a DID on alice's extension for her outbound calls."""
    provisioned.ctl("did", "create", ALICE_DID, "acme", "--extension", "201")
    return provisioned


def trunk_env(carrier_port: int, **more: str) -> dict[str, str]:
    return {"SWITCH_TRUNK__GATEWAY": f"udp:127.0.0.1:{carrier_port}", **more}


# -- 1. the dialler --------------------------------------------------------------------------


def assert_flagged_then_throttled(dialled: SippResult, carrier: SippResult) -> None:
    """Answered up to the detector's minimum sample, then 503 with Retry-After."""
    assert dialled.ok, explain(dialled)
    statuses = [m.status for m in finals(dialled)]
    assert statuses == [200] * AUTODIAL.min_attempts + [503] * (DIALS - AUTODIAL.min_attempts)
    assert len(received(carrier, "INVITE")) == AUTODIAL.min_attempts
    assert finals(dialled)[-1].header("Retry-After") == str(THROTTLE.retry_after)


def assert_autodial_alerts(
    switch: SwitchProcess, dialled: SippResult, extension_id: int
) -> list[dict[str, Any]]:
    """One critical alert on the extension (with the calls as evidence), one on the account."""
    found = alerts(switch, "autodial", until=2)
    account = switch.ctl_json("account", "show", "acme")
    assert isinstance(account, dict)
    subjects = {a["subject"]: a for a in found}
    assert set(subjects) == {f"extension {extension_id}", f"account {account['id']}"}
    mine = shown(switch, subjects[f"extension {extension_id}"]["id"])
    assert mine["level"] == "critical"
    assert mine["figures"]["attempts"] == AUTODIAL.min_attempts
    assert mine["figures"]["sequential_share"] == 1.0
    call_ids = {m.header("Call-ID") for m in finals(dialled)}
    assert set(mine["evidence"]) <= call_ids and len(mine["evidence"]) == AUTODIAL.min_attempts
    assert any("throttle" in action for action in mine["actions"])
    assert metric(switch, "detector_alerts_total", detector="autodial", level="critical") == 2
    return found


def replay_export(switch: SwitchProcess, folder: Path, calls: int) -> dict[str, Any]:
    """``switchctl cdr export`` of the last hour, then ``switchctl detect replay`` over it."""
    call_records(switch.database_url, until=finished(calls))
    export = folder / "acme.csv"
    now = datetime.now(UTC)
    start, end = (now - timedelta(hours=1)).isoformat(), (now + timedelta(hours=1)).isoformat()
    switch.ctl("cdr", "export", "--account", "acme", "--from", start, "--to", end,
               "--output", str(export))  # fmt: skip
    report = switch.ctl_json("detect", "replay", str(export))
    assert isinstance(report, dict) and report["records"] == calls
    report["text"] = switch.ctl("detect", "replay", str(export)).stdout
    return report


def test_sequential_dialler_is_throttled_while_911_goes_through_until_lifted(
    provisioned: SwitchProcess, tmp_path: Path
) -> None:
    switch = provisioned
    carrier_port, psap_port = free_port(), free_port()
    env = trunk_env(carrier_port, SWITCH_EMERGENCY__GATEWAY=f"udp:127.0.0.1:{psap_port}")
    numbers = [f"202555{1000 + n:04d}" for n in range(DIALS)]  # consecutive numbers
    extension_id = device_of(switch, ALICE[0])["extension_id"]
    with started(switch, **env):
        carrier = callee(
            "trunk_uas.xml", peer_folder(tmp_path, "carrier"), carrier_port, calls=DIALS, timeout=60
        )
        dialled = dial(switch, peer_folder(tmp_path, "dialler"), numbers)
        assert_flagged_then_throttled(dialled, soft_stop(carrier))
        found = assert_autodial_alerts(switch, dialled, extension_id)

        # 911 from the throttled extension still goes through to the emergency gateway.
        psap = emergency_gateway(peer_folder(tmp_path, "psap"), psap_port, ALICE_AT_HQ)
        emergency = call(
            switch, peer_folder(tmp_path, "alice911"), ALICE, "911", free_port(), hold_ms=HOLD_MS
        )
        assert emergency.ok, explain(emergency)
        assert psap.wait().ok
        # Anything else is still throttled...
        again = dial(switch, peer_folder(tmp_path, "again"), ["2025559999"])
        assert [m.status for m in finals(again)] == [503]

        # ...until the operator lifts the alerts: the running switch lets calls through.
        for alert in found:
            switch.ctl("alert", "lift", str(alert["id"]))
        wait_reloaded(switch)
        assert "lifted by pytest" in switch.log_text()
        carrier = callee("trunk_uas.xml", peer_folder(tmp_path, "carrier2"), carrier_port)
        freed = dial(switch, peer_folder(tmp_path, "freed"), ["2025559999"])
        assert [m.status for m in finals(freed)] == [200], explain(freed)
        assert carrier.wait().ok
        assert {a["state"] for a in alerts(switch, "autodial")} == {"lifted"}

    # The same detectors over the exported records find the same dialler.
    report = replay_export(switch, tmp_path, DIALS + 3)  # with the 911 call and the two after
    replayed = {(a["detector"], a["level"], a["subject"]) for a in report["alerts"]}
    assert ("autodial", "critical", f"extension {extension_id}") in replayed
    assert f"autodial     extension {extension_id}" in report["text"]


# -- 2. the seat limit -----------------------------------------------------------------------


@pytest.mark.parametrize("action", ["refuse", "flag"])
def test_a_third_call_at_once_on_a_seat_is_refused_or_flagged(
    provisioned: SwitchProcess, tmp_path: Path, action: str
) -> None:
    switch = provisioned
    limit = DETECT.max_calls_per_seat
    carrier_port = free_port()
    through = limit + 1 if action == "flag" else limit
    env = trunk_env(carrier_port, SWITCH_DETECT__SEAT_LIMIT_ACTION=action)
    with started(switch, **env):
        carrier = callee(
            "trunk_uas.xml", peer_folder(tmp_path, "carrier"), carrier_port, calls=through
        )
        # One call every 100 ms, each held 2 s: all of them at once on alice's phone.
        result = dial(
            switch,
            peer_folder(tmp_path, "alice"),
            ["2025550199"] * (limit + 1),
            rate=10,
            hold_ms=2000,
        )
        answered = carrier.wait()
        found = alerts(switch, "trunking")
    assert result.ok, explain(result)
    assert answered.ok, explain(answered)
    statuses = [m.status for m in finals(result)]
    if action == "refuse":
        assert statuses == [200] * limit + [403]
        assert finals(result)[-1].start_line == "SIP/2.0 403 Too Many Calls On This Line"
    else:
        assert statuses == [200] * (limit + 1)
    # The calls that went through were up together (a consult transfer's worth at least).
    messages = trace(answered)
    first_bye = min(m.at for m in messages if not m.sent and m.method == "BYE")
    assert (
        len([m for m in messages if not m.sent and m.method == "INVITE" and m.at < first_bye])
        == through
    )

    device = device_of(switch, ALICE[0])
    [alert] = found  # flagged once, by the guard or the detector, never twice
    assert alert["subject"] == f"device {device['id']}" and alert["level"] == "warning"
    view = shown(switch, alert["id"])
    assert view["figures"]["concurrent_calls"] == limit + 1
    assert view["figures"]["seat_limit"] == limit
    third = finals(result)[-1].header("Call-ID")
    assert third in view["evidence"] and len(view["evidence"]) == limit + 1
    assert any(("refused" if action == "refuse" else "allowed") in a for a in view["actions"])


# -- 3. the password guesser -----------------------------------------------------------------


@dataclass
class Phone:
    """A bare SIP client on its own loopback address: REGISTER with digest, OPTIONS."""

    host: str
    switch: SwitchProcess
    timeout: float = 2.0

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.host, 0))
        self.port = self.sock.getsockname()[1]
        self.challenge: str | None = None
        self.cseq = 0

    def close(self) -> None:
        self.sock.close()

    def _request(self, method: str, user: str, headers: str = "") -> int | None:
        """Send one request; the status of the answer, or None when nothing came back."""
        self.cseq += 1
        uri = f"sip:{self.switch.host}:{self.switch.port}"
        message = (
            f"{method} {uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {self.host}:{self.port};branch=z9hG4bK{uuid.uuid4().hex};rport\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:{user}@{self.switch.host}>;tag=t{self.port}\r\n"
            f"To: <sip:{user}@{self.switch.host}>\r\nCall-ID: {self.host}-{self.port}\r\n"
            f"CSeq: {self.cseq} {method}\r\n"
            f"Contact: <sip:{user}@{self.host}:{self.port}>\r\nExpires: 600\r\n"
            f"{headers}User-Agent: test phone\r\nContent-Length: 0\r\n\r\n"
        )
        self.sock.sendto(message.encode(), (self.switch.host, self.switch.port))
        self.sock.settimeout(self.timeout)
        try:
            data = self.sock.recv(65535).decode(errors="replace")
        except TimeoutError:
            return None
        for line in data.split("\r\n"):
            if line.lower().startswith("www-authenticate:"):
                self.challenge = line.split(":", 1)[1].strip()
                break
        return int(data.split(" ", 2)[1])

    def register(self, user: str, password: str) -> list[int | None]:
        """The answers to a REGISTER and to its retry with digest credentials."""
        answers = [self._request("REGISTER", user)]
        if self.challenge is None:
            return [*answers, None]
        uri = f"sip:{self.switch.host}:{self.switch.port}"
        credentials = build_authorization(
            self.challenge, "REGISTER", uri, user, password, cnonce=uuid.uuid4().hex[:16]
        )
        answers.append(self._request("REGISTER", user, f"Authorization: {credentials}\r\n"))
        return answers

    def options(self) -> int | None:
        return self._request("OPTIONS", "probe")


def test_password_guesser_is_banned_and_the_phones_around_it_keep_working(
    provisioned: SwitchProcess, tmp_path: Path
) -> None:
    switch = provisioned
    carrier_port, alice_port = free_port(), free_port()
    guesses = DETECT.ban_failures + 10
    with started(switch, **trunk_env(carrier_port)):
        register(switch, peer_folder(tmp_path, "alice"), *ALICE, alice_port)  # on 127.0.0.1
        guesser, office = Phone("127.0.0.2", switch), Phone("127.0.0.3", switch)
        try:
            # bob-202 is registered from 127.0.0.3; a stale password there is not an attack.
            assert office.register(*BOB) == [401, 200]
            for _ in range(guesses):
                assert office.register(BOB[0], "stale-password") == [401, 401]
            assert office.options() == 200

            answered = []
            for _ in range(guesses):
                answered.append(guesser.register(ALICE[0], "guess-" + uuid.uuid4().hex[:6]))
                if len(answered) == DETECT.ban_failures:
                    # Banned from here on: wait briefly (a late answer would still be read
                    # at the next guess and fail the test).
                    guesser.timeout = SILENCE
            # Each failure is answered up to the ban; after it, the source hears nothing.
            assert answered == [[401, 401]] * DETECT.ban_failures + [[None, None]] * 10
            assert guesser.options() is None
            assert metric(switch, "sip_dropped_messages_total", reason="banned") >= 21

            # The phone on 127.0.0.1 registers and calls as before.
            register(switch, peer_folder(tmp_path, "alice2"), *ALICE, alice_port)
            carrier = callee("trunk_uas.xml", peer_folder(tmp_path, "carrier"), carrier_port)
            placed = call(
                switch,
                peer_folder(tmp_path, "call"),
                ALICE,
                "2025550199",
                free_port(),
                hold_ms=HOLD_MS,
            )
            assert placed.ok, explain(placed)
            assert carrier.wait().ok

            found = alerts(switch, "brute_force", until=2)
            actions = [action for a in found for action in shown(switch, a["id"])["actions"]]
            assert [a for a in actions if a.startswith("banned")] == [
                f"banned source 127.0.0.2 for {DETECT.ban_seconds:g} s"
            ]
            [ban] = [
                a
                for a in found
                if a["subject"] == "source 127.0.0.2" and shown(switch, a["id"])["actions"]
            ]
            assert ALICE[0] in shown(switch, ban["id"])["evidence"]

            # Lifting the alert lifts the ban in the running switch.
            switch.ctl("alert", "lift", str(ban["id"]))
            wait_reloaded(switch)
            guesser.timeout = 2.0
            assert guesser.options() == 200
        finally:
            guesser.close()
            office.close()
