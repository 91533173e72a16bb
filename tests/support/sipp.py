"""Runs SIPp scenarios from tests/sipp against the switch on loopback."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SCENARIOS = Path(__file__).resolve().parent.parent / "sipp"


@dataclass
class SippResult:
    returncode: int
    stdout: str
    stderr: str
    errors: str
    messages: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def require_sipp() -> str:
    path = shutil.which("sipp")
    if path is None:
        pytest.fail("SIPp is not installed (Debian package sip-tester); run bash .ci/run")
    return path


def sipp_args(
    scenario: str,
    target: str | None,
    folder: Path,
    *,
    injection: list[list[str]] | None = None,
    auth: tuple[str, str] | None = None,
    transport: str = "u1",
    calls: int = 1,
    rate: float = 1,
    local_port: int | None = None,
    timeout: int = 20,
    extra: list[str] | None = None,
) -> tuple[list[str], Path, Path]:
    sipp = require_sipp()
    name = Path(scenario).stem
    errors = folder / f"{name}_errors.log"
    messages = folder / f"{name}_messages.log"
    args = [
        sipp,
        *([target] if target else []),
        "-sf",
        str(SCENARIOS / scenario),
        "-t",
        transport,
        "-i",
        "127.0.0.1",
        "-m",
        str(calls),
        "-r",
        str(rate),
        "-timeout",
        f"{timeout}s",
        "-timeout_error",
        "-nostdin",
        "-trace_err",
        "-error_file",
        str(errors),
        "-max_socket",
        "64",
        "-trace_msg",
        "-message_file",
        str(messages),
    ]
    if local_port is not None:
        args += ["-p", str(local_port)]
    if auth is not None:
        args += ["-au", auth[0], "-ap", auth[1]]
    if injection is not None:
        csv = folder / f"{name}_users.csv"
        csv.write_text("SEQUENTIAL\n" + "".join(";".join(row) + "\n" for row in injection))
        args += ["-inf", str(csv)]
    args += extra or []
    return args, errors, messages


def run_sipp(scenario: str, target: str | None, folder: Path, **options: Any) -> SippResult:
    """Run one scenario to completion; SIPp exits 0 only when every call succeeded."""
    args, errors, messages = sipp_args(scenario, target, folder, **options)
    timeout = int(options.get("timeout", 20))
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout + 30, cwd=folder)
    return SippResult(
        result.returncode, result.stdout, result.stderr, _read(errors), _read(messages)
    )


class BackgroundSipp:
    """A SIPp scenario running while the test drives another peer (a UAS waiting for calls)."""

    def __init__(
        self, scenario: str, folder: Path, target: str | None = None, **options: Any
    ) -> None:
        self.args, self._errors, self._messages = sipp_args(scenario, target, folder, **options)
        self._timeout = int(options.get("timeout", 20))
        self.process = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=folder
        )

    def wait(self) -> SippResult:
        try:
            out, err = self.process.communicate(timeout=self._timeout + 30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
        return SippResult(
            self.process.returncode, out, err, _read(self._errors), _read(self._messages)
        )


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
