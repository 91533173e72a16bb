"""SIGTERM during calls: the switch refuses new calls, lets the ones being set up finish,
exits 0 within its bound, and no call loses its billing record.

What happens to each call:
- a call still ringing is given the drain to finish; here its ring timeout (5 s) falls
  inside the drain (8 s), so the switch cancels the callee, answers the caller 480 and
  closes the record itself (no-answer) before it exits;
- answered calls outlast the drain (their media does not go through the switch, and the
  process must end): their records are stored open at exit, and the next start closes
  them by recovery at the last moment the old process was known alive.
"""

from __future__ import annotations

import signal
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from provisioning.cdr_models import CallRecordRow
from tests.integration.conftest import ALICE, BOB
from tests.support.cdrs import call_records, finished
from tests.support.sipp import BackgroundSipp, run_sipp
from tests.support.switch_process import SwitchProcess, free_port

CAROL = ("carol-203", "Velvet-Harbor-Compass-8")
RING_TIMEOUT = 5
DRAIN_SECONDS = 8.0
# The drain, the CDR flush (at most 5 s) and start-up/teardown slack.
EXIT_BOUND = DRAIN_SECONDS + 5.0 + 3.0
HOLD_MS = 60_000


@pytest.fixture
def peers() -> Iterator[list[BackgroundSipp]]:
    """SIPp processes still holding calls when the test ends are ended here."""
    running: list[BackgroundSipp] = []
    yield running
    for peer in running:
        if peer.process.poll() is None:
            peer.process.kill()
        peer.process.communicate()


def register(switch: SwitchProcess, folder: Path, phone: tuple[str, str], port: int) -> None:
    folder.mkdir()
    result = run_sipp(
        "register_auth.xml",
        f"{switch.host}:{switch.port}",
        folder,
        injection=[[phone[0], "", "600"]],
        auth=phone,
        local_port=port,
        timeout=10,
    )
    assert result.ok, result.errors + result.stderr


def background(
    folder: Path, scenario: str, target: str | None = None, **options: object
) -> BackgroundSipp:
    folder.mkdir()
    return BackgroundSipp(scenario, folder, target, timeout=90, **options)


def invite_while_draining(switch: SwitchProcess) -> str:
    """A new INVITE straight from a socket; returns the final response's text."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(3.0)
        port = sock.getsockname()[1]
        branch = "z9hG4bK" + uuid.uuid4().hex
        head = (
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch={branch};rport\r\n"
            f"From: <sip:{ALICE[0]}@127.0.0.1>;tag=drain{port}\r\n"
            f"To: <sip:202@127.0.0.1>\r\nCall-ID: {uuid.uuid4().hex}\r\n"
        )
        sock.sendto(
            (
                f"INVITE sip:202@{switch.host}:{switch.port} SIP/2.0\r\n{head}"
                f"CSeq: 1 INVITE\r\nContact: <sip:{ALICE[0]}@127.0.0.1:{port}>\r\n"
                "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            ).encode(),
            (switch.host, switch.port),
        )
        while True:
            answer = sock.recv(65535).decode()
            if not answer.startswith("SIP/2.0 1"):
                break
        to = next(line for line in answer.split("\r\n") if line.lower().startswith("to:"))
        ack_head = head.replace("To: <sip:202@127.0.0.1>", to)
        ack = f"ACK sip:202@{switch.host}:{switch.port} SIP/2.0\r\n{ack_head}"
        sock.sendto(
            f"{ack}CSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n".encode(),
            (switch.host, switch.port),
        )
        return answer


def test_sigterm_during_calls_loses_no_call_record(
    provisioned: SwitchProcess, tmp_path: Path, peers: list[BackgroundSipp]
) -> None:
    switch = provisioned
    switch.ctl("extension", "create", "acme", "203")
    switch.ctl("device", "create", "acme", "203", CAROL[0], "--password", CAROL[1], "--site", "hq")
    switch.extra_env["SWITCH_PROXY__RING_TIMEOUT"] = str(RING_TIMEOUT)
    # Three calls at once from one phone: a seat limit would refuse the third.
    switch.extra_env["SWITCH_DETECT__SEAT_LIMIT_ACTION"] = "flag"
    switch.start()
    target = f"{switch.host}:{switch.port}"
    bob_port, carol_port = free_port(), free_port()
    register(switch, tmp_path / "reg-bob", BOB, bob_port)
    register(switch, tmp_path / "reg-carol", CAROL, carol_port)

    # Bob answers two calls and holds them; carol's phone rings and never answers.
    peers.append(background(tmp_path / "bob", "uas_answer.xml", local_port=bob_port, calls=2))
    peers.append(background(tmp_path / "carol", "uas_ring_cancelled.xml", local_port=carol_port))
    for n in (1, 2):
        peers.append(
            background(
                tmp_path / f"caller-{n}",
                "uac_call.xml",
                target,
                injection=[[ALICE[0]]],
                auth=ALICE,
                local_port=free_port(),
                extra=["-s", "202", "-d", str(HOLD_MS)],
            )
        )
        call_records(switch.database_url, until=answered_calls(n))
    ringing = background(
        tmp_path / "caller-ringing",
        "uac_no_answer.xml",
        target,
        injection=[[ALICE[0]]],
        auth=ALICE,
        local_port=free_port(),
        extra=["-s", "203"],
    )
    peers.append(ringing)
    rows = call_records(switch.database_url, until=lambda rows: len(rows) == 3)
    assert len(rows) == 3 and all(r.end_time is None for r in rows)

    assert switch.process is not None
    switch.process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    time.sleep(0.3)  # the signal is handled by the event loop: let it get there
    refused = invite_while_draining(switch)
    assert refused.startswith("SIP/2.0 503 "), refused
    assert "\r\nRetry-After: " in refused

    code = switch.process.wait(timeout=EXIT_BOUND + 5)
    elapsed = time.monotonic() - signalled
    exited_at = time.time()
    switch.process = None
    assert code == 0, switch.log_text()[-3000:]
    assert elapsed <= EXIT_BOUND, f"took {elapsed:.1f} s to exit"
    # The ringing caller was told, within the drain, that nobody answered.
    assert ringing.wait().ok

    rows = call_records(switch.database_url, timeout=1.0)
    # Exactly the three calls (the INVITE refused with 503 never became a call).
    assert sorted(r.dialled or "" for r in rows) == ["202", "202", "203"]
    by_dialled = _by_dialled(rows)
    [rang] = by_dialled["203"]
    assert rang.end_time is not None and rang.answer_time is None
    assert rang.disposition == "no-answer" and rang.closed_by == "signalling"
    assert all(r.answer_time is not None and r.end_time is None for r in by_dialled["202"])

    # The next start closes the answered calls, billed no further than the old process lived.
    switch.start()
    try:
        rows = call_records(switch.database_url, until=finished(3), timeout=15)
    finally:
        switch.stop(signal.SIGKILL)
    answered = _by_dialled(rows)["202"]
    assert len(answered) == 2
    for record in answered:
        assert record.closed_by == "recovery" and record.disposition == "answered"
        assert record.end_time is not None and record.answer_time is not None
        assert record.end_time.timestamp() <= exited_at + 1
        assert record.billable_seconds >= 1


def answered_calls(count: int) -> Callable[[list[CallRecordRow]], bool]:
    return lambda rows: sum(r.answer_time is not None for r in rows) == count


def _by_dialled(rows: list[CallRecordRow]) -> dict[str, list[CallRecordRow]]:
    grouped: dict[str, list[CallRecordRow]] = {}
    for row in rows:
        grouped.setdefault(row.dialled or "", []).append(row)
    return {key: grouped[key] for key in sorted(grouped)}
