"""Helpers for call tests: phones registered with SIPp, then driven as caller or callee;
what each peer saw is read back from SIPp's message trace."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.support.sipp import BackgroundSipp, SippResult, run_sipp
from tests.support.switch_process import SwitchProcess

READY_TIMEOUT = 5.0
# SIPp -trace_msg: "-----... 2026-01-31 12:00:00.123456" before each message.
_TRACE_SEPARATOR = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)$", re.MULTILINE)
_VIA_SPLIT = re.compile(r",\s*(?=SIP/2\.0/)")


def target(switch: SwitchProcess) -> str:
    return f"{switch.host}:{switch.port}"


def peer_folder(parent: Path, name: str) -> Path:
    """A folder of its own per SIPp peer, so two peers never share a trace file."""
    folder = parent / name
    folder.mkdir(exist_ok=True)
    return folder


@contextmanager
def started(switch: SwitchProcess, **env: str) -> Iterator[SwitchProcess]:
    """Start a provisioned switch with extra ``SWITCH_*`` settings; stop it afterwards."""
    switch.extra_env.update(env)
    switch.start()
    try:
        yield switch
    finally:
        switch.stop()


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


def _udp_listening(port: int) -> bool:
    """Whether some socket is bound to UDP ``port``, read from the kernel's table: probing
    by binding would race with the peer binding it."""
    wanted = f":{port:04X}"
    for table in (Path("/proc/net/udp"), Path("/proc/net/udp6")):
        try:
            rows = [line.split() for line in table.read_text().splitlines()[1:]]
        except OSError:
            continue
        if any(len(row) > 1 and row[1].endswith(wanted) for row in rows):
            return True
    return False


def callee(scenario: str, folder: Path, port: int, **options: Any) -> BackgroundSipp:
    """A SIPp UAS on ``port``, returned once it listens (a call placed earlier would be
    refused by the kernel and fail for a reason that has nothing to do with the switch)."""
    uas = BackgroundSipp(scenario, folder, local_port=port, **options)
    if not Path("/proc/net/udp").exists():  # no kernel table to read: give it a moment
        time.sleep(0.5)
        return uas
    deadline = time.monotonic() + READY_TIMEOUT
    while not _udp_listening(port):
        if uas.process.poll() is not None or time.monotonic() > deadline:
            result = uas.wait()
            raise AssertionError(f"{scenario} did not start: {result.stderr}")
        time.sleep(0.02)
    return uas


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
    """Place one call from ``caller`` (answering the digest challenge); an answered call
    lasts ``hold_ms`` (the scenarios' plain <pause/>)."""
    return run_sipp(
        scenario,
        target(switch),
        folder,
        injection=[[caller[0], str(hold_ms)]],
        auth=caller,
        local_port=port,
        transport=transport,
        extra=["-s", dialled, "-d", str(hold_ms)],
    )


@dataclass(frozen=True, slots=True)
class Traced:
    """One SIP message as a SIPp peer sent or received it."""

    sent: bool
    text: str
    at: float  # when SIPp logged it (seconds, local clock)

    @property
    def start_line(self) -> str:
        return self.text.split("\n", 1)[0].strip()

    @property
    def method(self) -> str | None:
        first = self.start_line
        return None if first.startswith("SIP/2.0") else first.split(" ", 1)[0]

    @property
    def status(self) -> int | None:
        first = self.start_line
        return int(first.split(" ")[1]) if first.startswith("SIP/2.0") else None

    @property
    def request_uri(self) -> str:
        return self.start_line.split(" ")[1]

    def headers(self, name: str) -> list[str]:
        """Values of header ``name`` in order; comma-joined Vias count one each."""
        head = self.text.split("\n\n", 1)[0]
        values = []
        for line in head.split("\n")[1:]:
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() == name.lower():
                values.append(value.strip())
        if name.lower() == "via":
            return [v for value in values for v in _VIA_SPLIT.split(value)]
        return values

    def header(self, name: str) -> str:
        [value] = self.headers(name)
        return value

    def param(self, name: str, parameter: str) -> str | None:
        """A ;parameter of the (single) header ``name``, e.g. the branch of a Via."""
        found = re.search(rf";{parameter}=([^;,>\s]+)", self.header(name))
        return found.group(1) if found else None


def branch_of(via: str) -> str:
    found = re.search(r";branch=([^;,\s]+)", via)
    assert found, f"no branch in Via {via!r}"
    return found.group(1)


def trace(result: SippResult) -> list[Traced]:
    """Every message in a SIPp ``-trace_msg`` log, in order."""
    messages = []
    parts = _TRACE_SEPARATOR.split(result.messages)
    for stamp, block in zip(parts[1::2], parts[2::2], strict=True):
        banner, _, body = block.strip("\n").partition("\n")
        if "message received" in banner or "message sent" in banner:
            text = body.replace("\r\n", "\n").strip("\n")
            at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
            messages.append(Traced("message sent" in banner, text, at))
    return messages


def received(result: SippResult, what: str | int) -> list[Traced]:
    """Messages the peer received: requests by method, responses by status."""
    return [
        m
        for m in trace(result)
        if not m.sent and (m.status == what if isinstance(what, int) else m.method == what)
    ]


def sent(result: SippResult, what: str | int) -> list[Traced]:
    """Messages the peer sent: requests by method, responses by status."""
    return [
        m
        for m in trace(result)
        if m.sent and (m.status == what if isinstance(what, int) else m.method == what)
    ]


def explain(result: SippResult) -> str:
    """What to show when a SIPp peer failed: ``assert result.ok, explain(result)``."""
    return f"{result.errors}\n{result.stderr}\n{result.messages[-4000:]}"
