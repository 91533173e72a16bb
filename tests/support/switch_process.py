"""Runs the real `softswitch` and `switchctl` programs on loopback for integration tests."""

from __future__ import annotations

import atexit
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from provisioning import cli

BIN = Path(sys.executable).parent
# Every switch a test started; whatever is still running when pytest exits is killed.
_LIVE: set[subprocess.Popen[bytes]] = set()


@atexit.register
def _kill_leftovers() -> None:
    for process in list(_LIVE):
        if process.poll() is None:
            process.kill()


REALM = "test.softswitch"
STARTUP_TIMEOUT = 20.0


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on loopback."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def options_probe(host: str, port: int, timeout: float = 1.0) -> bytes | None:
    """Send one OPTIONS over UDP and return the raw answer, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        sock.settimeout(timeout)
        local_port = sock.getsockname()[1]
        branch = "z9hG4bK" + uuid.uuid4().hex
        request = (
            f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{local_port};branch={branch};rport\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:probe@{host}>;tag=p{local_port}\r\n"
            f"To: <sip:{host}:{port}>\r\nCall-ID: {uuid.uuid4().hex}\r\n"
            "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        sock.sendto(request, (host, port))
        try:
            return sock.recv(65535)
        except OSError:
            return None


@dataclass
class SwitchProcess:
    folder: Path
    database_url: str
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "SWITCH_CONFIG": str(self.config_path),
                "SWITCH_LOG__LEVEL": "DEBUG",
                "SWITCHCTL_ACTOR": "pytest",
            }
        )
        env.update(self.extra_env)
        return env

    @property
    def log_path(self) -> Path:
        return self.folder / "softswitch.log"

    @property
    def config_path(self) -> Path:
        """The settings the switch and switchctl share (environment variables still win)."""
        path = self.folder / "softswitch.toml"
        path.write_text(
            f'data_dir = "{self.folder}"\n'
            f'[database]\nurl = "{self.database_url}"\n'
            f'[sip]\nrealm = "{REALM}"\n'
            f'listen = ["udp:{self.host}:{self.port}", "tcp:{self.host}:{self.port}"]\n'
            f'[metrics]\nlisten = "{self.host}:{self.metrics_port}"\n'
        )
        return path

    def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run switchctl in-process (the same entry point as the command, without the
        interpreter start-up that a subprocess per call would cost)."""
        out, err = io.StringIO(), io.StringIO()
        argv = ["--config", str(self.config_path), "--actor", "pytest", *args]
        try:
            code = cli.main(argv, stdout=out, stderr=err)
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        result = subprocess.CompletedProcess(
            ["switchctl", *argv], code, out.getvalue(), err.getvalue()
        )
        if check and code != 0:
            raise AssertionError(f"switchctl {' '.join(args)} failed: {result.stderr}")
        return result

    def ctl_json(self, *args: str) -> object:
        return json.loads(self.ctl("--json", *args).stdout)

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(BIN / "softswitch")], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        _LIVE.add(self.process)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"softswitch exited: {self.log_path.read_text()[-3000:]}")
            if options_probe(self.host, self.port, timeout=0.2):
                return
        raise AssertionError(f"softswitch not ready: {self.log_path.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process is None:
            return 0
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout=5)
        _LIVE.discard(self.process)
        self.process = None
        return code

    def scrape(self) -> str:
        """The switch's /metrics page."""
        import urllib.request

        url = f"http://{self.host}:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return str(answer.read().decode())

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
