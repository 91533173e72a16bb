"""Phones registering with the real switch over loopback: SIPp and pyVoIP as the phones."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from provisioning.models import Registration
from tests.integration.conftest import ALICE
from tests.support.sipp import run_sipp
from tests.support.switch_process import SwitchProcess, free_port


def _bindings(switch: SwitchProcess, wait_for: int | None = None) -> list[Registration]:
    """Registrations as persisted; waits briefly for the background writer."""
    engine = create_engine(switch.database_url)
    try:
        deadline = time.monotonic() + 5
        while True:
            with Session(engine) as session:
                rows = list(session.scalars(select(Registration)))
            if wait_for is None or len(rows) == wait_for or time.monotonic() > deadline:
                return rows
            time.sleep(0.1)
    finally:
        engine.dispose()


def _target(switch: SwitchProcess) -> str:
    return f"{switch.host}:{switch.port}"


def test_sipp_registers_with_digest_and_binding_is_stored(
    running: SwitchProcess, tmp_path: Path
) -> None:
    port = free_port()
    result = run_sipp(
        "register_auth.xml",
        _target(running),
        tmp_path,
        injection=[[ALICE[0], "", "600"]],
        auth=(ALICE[0], ALICE[1]),
        local_port=port,
    )
    assert result.ok, result.errors + result.stderr
    [binding] = _bindings(running, wait_for=1)
    assert binding.contact == f"sip:{ALICE[0]}@127.0.0.1:{port};transport=UDP"
    assert (binding.source_transport, binding.source_host, binding.source_port) == (
        "udp",
        "127.0.0.1",
        port,
    )
    assert binding.user_agent == "SIPp"
    remaining = binding.expires_at.timestamp() - time.time()
    assert 590 < remaining <= 600


def test_sipp_registers_over_tcp(running: SwitchProcess, tmp_path: Path) -> None:
    result = run_sipp(
        "register_auth.xml",
        _target(running),
        tmp_path,
        injection=[[ALICE[0], "", "600"]],
        auth=(ALICE[0], ALICE[1]),
        transport="t1",
        local_port=free_port(),
    )
    assert result.ok, result.errors + result.stderr
    [binding] = _bindings(running, wait_for=1)
    assert binding.source_transport == "tcp"


def test_wrong_password_gets_401_again_and_no_binding(
    running: SwitchProcess, tmp_path: Path
) -> None:
    result = run_sipp(
        "register_refused.xml",
        _target(running),
        tmp_path,
        injection=[[ALICE[0], "", "600"]],
        auth=(ALICE[0], "not-the-password"),
        local_port=free_port(),
    )
    assert result.ok, result.errors + result.stderr
    time.sleep(0.5)
    assert _bindings(running) == []


def test_unknown_user_gets_401_again_and_no_binding(running: SwitchProcess, tmp_path: Path) -> None:
    result = run_sipp(
        "register_refused.xml",
        _target(running),
        tmp_path,
        injection=[["mallory", "", "600"]],
        auth=("mallory", "whatever-password-1"),
        local_port=free_port(),
    )
    assert result.ok, result.errors + result.stderr
    time.sleep(0.5)
    assert _bindings(running) == []


def test_binding_expires(provisioned: SwitchProcess, tmp_path: Path) -> None:
    provisioned.extra_env["SWITCH_REGISTRAR__MIN_EXPIRES"] = "1"
    provisioned.start()
    try:
        result = run_sipp(
            "register_auth.xml",
            _target(provisioned),
            tmp_path,
            injection=[[ALICE[0], "", "2"]],
            auth=(ALICE[0], ALICE[1]),
            local_port=free_port(),
        )
        assert result.ok, result.errors + result.stderr
        assert len(_bindings(provisioned, wait_for=1)) == 1
        assert _bindings(provisioned, wait_for=0) == []
    finally:
        provisioned.stop()


def test_binding_survives_restart(provisioned: SwitchProcess, tmp_path: Path) -> None:
    provisioned.start()
    port = free_port()
    try:
        result = run_sipp(
            "register_auth.xml",
            _target(provisioned),
            tmp_path,
            injection=[[ALICE[0], "", "600"]],
            auth=(ALICE[0], ALICE[1]),
            local_port=port,
        )
        assert result.ok, result.errors + result.stderr
        assert len(_bindings(provisioned, wait_for=1)) == 1
    finally:
        assert provisioned.stop() == 0
    provisioned.start()
    try:
        # A query REGISTER (no Contact) shows what the restarted switch holds in memory.
        result = run_sipp(
            "register_query.xml",
            _target(provisioned),
            tmp_path,
            injection=[[ALICE[0], ""]],
            auth=ALICE,
            local_port=free_port(),
        )
        assert result.ok, result.errors + result.stderr
        final = result.messages.rsplit("SIP/2.0 200", 1)[1]
        assert f"<sip:{ALICE[0]}@127.0.0.1:{port};transport=UDP>;expires=" in final
    finally:
        provisioned.stop()


def test_pyvoip_phone_registers(running: SwitchProcess) -> None:
    from pyVoIP.VoIP import PhoneStatus, VoIPPhone

    sip_port = free_port()
    phone = VoIPPhone(
        running.host,
        running.port,
        ALICE[0],
        ALICE[1],
        myIP="127.0.0.1",
        sipPort=sip_port,
        rtpPortLow=30000,
        rtpPortHigh=30100,
    )
    phone.start()
    try:
        deadline = time.monotonic() + 10
        while phone.get_status() != PhoneStatus.REGISTERED and time.monotonic() < deadline:
            time.sleep(0.1)
        assert phone.get_status() == PhoneStatus.REGISTERED
        [binding] = _bindings(running, wait_for=1)
        assert binding.source_port == sip_port
        assert binding.source_transport == "udp"
    finally:
        phone.stop()
    # pyVoIP unregisters on stop (Expires: 0): the binding goes.
    assert _bindings(running, wait_for=0) == []
