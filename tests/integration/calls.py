"""Helpers for call tests: phones registered with SIPp, then driven as caller or callee."""

from __future__ import annotations

from pathlib import Path

from tests.support.sipp import BackgroundSipp, SippResult, run_sipp
from tests.support.switch_process import SwitchProcess


def target(switch: SwitchProcess) -> str:
    return f"{switch.host}:{switch.port}"


def register(switch: SwitchProcess, folder: Path, user: str, password: str, port: int) -> None:
    """Register ``user`` with its contact on 127.0.0.1:port (where a UAS will listen)."""
    result = run_sipp(
        "register_auth.xml",
        target(switch),
        folder,
        injection=[[user, "", "600"]],
        auth=(user, password),
        local_port=port,
    )
    assert result.ok, result.errors + result.stderr


def callee(scenario: str, folder: Path, port: int, **options: object) -> BackgroundSipp:
    return BackgroundSipp(scenario, folder, local_port=port, **options)  # type: ignore[arg-type]


def call(
    switch: SwitchProcess,
    folder: Path,
    caller: tuple[str, str],
    dialled: str,
    port: int,
    *,
    scenario: str = "uac_call.xml",
    hold_ms: int = 1000,
    transport: str = "u1",
) -> SippResult:
    return run_sipp(
        scenario,
        target(switch),
        folder,
        injection=[[caller[0], str(hold_ms)]],
        auth=caller,
        local_port=port,
        transport=transport,
        extra=["-s", dialled],
    )
