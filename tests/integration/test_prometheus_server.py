"""A real Prometheus (Debian's package) scrapes the running switch; its query API then
returns a value that SIP traffic caused."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import BOB, provision
from tests.support.sipp import run_sipp
from tests.support.switch_process import SwitchProcess, free_port

PROMETHEUS = "/usr/bin/prometheus"
WAIT_SECONDS = 30.0
REGISTRATIONS_OK = 'softswitch_registrar_registrations_total{job="softswitch",outcome="ok"}'


def prometheus_binary() -> str:
    path = shutil.which("prometheus") or (PROMETHEUS if Path(PROMETHEUS).exists() else None)
    if path is None:
        pytest.fail("prometheus is not installed (Debian package prometheus); run bash .ci/run")
    return path


class PrometheusServer:
    """Prometheus on a loopback port, scraping one target every second."""

    def __init__(self, folder: Path, target: str) -> None:
        self.port = free_port()
        self.log_path = folder / "prometheus.log"
        config = folder / "prometheus.yml"
        config.write_text(
            "global:\n"
            "  scrape_interval: 1s\n"
            "  scrape_timeout: 1s\n"
            "scrape_configs:\n"
            "  - job_name: softswitch\n"
            "    static_configs:\n"
            f"      - targets: ['{target}']\n"
        )
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    prometheus_binary(),
                    f"--config.file={config}",
                    f"--storage.tsdb.path={folder / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def query(self, expression: str) -> list[dict[str, object]]:
        """The instant vector of ``expression`` (empty while Prometheus is starting)."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode(
            {"query": expression}
        )
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                body = json.loads(answer.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return []
        assert body["status"] == "success", body
        result: list[dict[str, object]] = body["data"]["result"]
        return result

    def wait_for(self, expression: str, value: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        seen: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited: {self.log_path.read_text()[-2000:]}")
            seen = self.query(expression)
            if any(sample["value"][1] == value for sample in seen):  # type: ignore[index]
                return
            time.sleep(0.25)
        raise AssertionError(
            f"{expression} never became {value} within {WAIT_SECONDS:.0f} s; last: {seen}; "
            f"log: {self.log_path.read_text()[-2000:]}"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@pytest.fixture
def switch(tmp_path: Path) -> Iterator[SwitchProcess]:
    process = provision(SwitchProcess(tmp_path, f"sqlite:///{tmp_path / 'switch.db'}"))
    process.start()
    try:
        yield process
    finally:
        process.stop(signal.SIGKILL)  # the drain is not under test here


def test_prometheus_scrapes_the_switch_and_sees_a_registration(
    switch: SwitchProcess, tmp_path: Path
) -> None:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    prometheus = PrometheusServer(folder, f"{switch.host}:{switch.metrics_port}")
    try:
        # The target is up and the series exists at zero before anything registered ...
        prometheus.wait_for('up{job="softswitch"}', "1")
        prometheus.wait_for(REGISTRATIONS_OK, "0")
        result = run_sipp(
            "register_auth.xml",
            f"{switch.host}:{switch.port}",
            tmp_path,
            injection=[[BOB[0], "", "600"]],
            auth=BOB,
            local_port=free_port(),
            timeout=10,
        )
        assert result.ok, result.errors + result.stderr
        # ... and Prometheus stores the registration the test caused.
        prometheus.wait_for(REGISTRATIONS_OK, "1")
        prometheus.wait_for(
            'softswitch_sip_requests_received_total{method="REGISTER",transport="udp"}', "2"
        )
    finally:
        prometheus.stop()
