"""The systemd unit: systemd accepts it and it keeps the service confined."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.ops.assets import DEPLOY

UNIT = DEPLOY / "systemd" / "softswitch.service"
EXEC_START = "/opt/softswitch/.venv/bin/softswitch"


def systemd_analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (Debian package 'systemd')")
    probe = subprocess.run([tool, "--version"], capture_output=True, timeout=30, check=False)
    if probe.returncode != 0:
        pytest.skip("systemd-analyze cannot run in this environment")
    return tool


def directives(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def runnable_copy(tmp_path: Path, extra: str = "") -> Path:
    """The unit with ExecStart pointing at a binary that exists here (verify checks it)."""
    true = shutil.which("true")
    assert true is not None
    text = UNIT.read_text(encoding="utf-8").replace(EXEC_START, true, 1)
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace("[Service]\n", f"[Service]\n{extra}", 1), encoding="utf-8")
    return copy


def verify(tool: str, unit: Path) -> tuple[int, str]:
    result = subprocess.run(
        [tool, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    complaints = [
        line for line in (result.stdout + result.stderr).splitlines() if unit.name in line
    ]
    return result.returncode, "\n".join(complaints)


def test_systemd_verify_accepts_the_unit(tmp_path: Path) -> None:
    tool = systemd_analyze()
    code, complaints = verify(tool, runnable_copy(tmp_path))
    assert (code, complaints) == (0, "")


def test_systemd_verify_would_report_a_misspelt_directive(tmp_path: Path) -> None:
    # The check above relies on verify naming the unit in its complaints.
    tool = systemd_analyze()
    _, complaints = verify(tool, runnable_copy(tmp_path, "ProtectSytem=strict\n"))
    assert "ProtectSytem" in complaints


def test_exposure_score_is_low(tmp_path: Path) -> None:
    tool = systemd_analyze()
    result = subprocess.run(
        [tool, "security", "--offline=yes", "--no-pager", str(runnable_copy(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    if result.returncode != 0 or match is None:
        pytest.skip(f"offline security analysis unavailable: {result.stderr.strip()[:200]}")
    # 0 is fully confined, 10 is unprotected; a network daemon cannot go much below 1.
    assert float(match.group(1)) <= 2.0


def test_unit_runs_the_switch_confined() -> None:
    d = directives(UNIT.read_text(encoding="utf-8"))
    assert d["ExecStart"] == [f"{EXEC_START} --config /etc/softswitch/softswitch.toml"]
    expected = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "StateDirectory": "softswitch",
        "CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
        "AmbientCapabilities": "CAP_NET_BIND_SERVICE",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "MemoryDenyWriteExecute": "yes",
        "Restart": "on-failure",
        "KillSignal": "SIGTERM",
    }
    for key, value in expected.items():
        assert d.get(key) == [value], key
    assert "@system-service" in d["SystemCallFilter"]
    assert d.get("DynamicUser") == ["yes"] or "User" in d
    stop = d["TimeoutStopSec"][0]
    assert stop.endswith("s") and 0 < int(stop[:-1]) <= 90
