"""Calls through the switch between real SIP peers (SIPp and pyVoIP) over loopback."""

from __future__ import annotations

from pathlib import Path

from tests.integration.calls import call, callee, register
from tests.integration.conftest import ALICE, BOB
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
