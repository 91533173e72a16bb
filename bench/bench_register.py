"""Registration throughput of the running switch, driven by SIPp at rising rates.

Starts `softswitch` on loopback with a SQLite database in a temporary folder, provisions
N devices (each with its own password), then has SIPp register them with digest
authentication (REGISTER, 401, REGISTER with credentials, 200) at each offered rate for a few
seconds. Prints, per rate: registrations completed per second, failure percentage and the
switch's CPU seconds per registration; then the highest rate held with under 1 % failures.

Run: python bench/bench_register.py [--devices N] [--seconds S] [--rates 100,200,...]
Needs SIPp (Debian package sip-tester). Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from provisioning.accounts import create_account  # noqa: E402
from provisioning.audit import Actor  # noqa: E402
from provisioning.db import Database  # noqa: E402
from provisioning.devices import create_device  # noqa: E402
from provisioning.extensions import create_extension  # noqa: E402
from provisioning.validation import generate_password  # noqa: E402
from tests.support.switch_process import REALM, SwitchProcess, free_port  # noqa: E402

SCENARIO = ROOT / "tests" / "sipp" / "register_auth_injected.xml"
DEFAULT_RATES = (100, 200, 400, 800, 1200, 1600)
HELD_FAILURE_LIMIT = 1.0  # percent
HELD_RATE_SHARE = 0.9  # a rate is held when at least this share of it completes per second
EXPIRES = 3600


@dataclass(frozen=True, slots=True)
class Step:
    offered: int
    attempted: int
    succeeded: int
    failed: int
    seconds: float
    cpu_seconds: float

    @property
    def per_second(self) -> float:
        return self.succeeded / self.seconds if self.seconds else 0.0

    @property
    def failure_percent(self) -> float:
        done = self.succeeded + self.failed
        unfinished = max(0, self.attempted - done)
        return 100.0 * (self.failed + unfinished) / self.attempted if self.attempted else 0.0

    @property
    def held(self) -> bool:
        return (
            self.failure_percent < HELD_FAILURE_LIMIT
            and self.per_second >= HELD_RATE_SHARE * self.offered
        )


def provision(switch: SwitchProcess, devices: int) -> list[tuple[str, str]]:
    """One account with ``devices`` extensions and a device each; returns (user, password)."""
    switch.ctl("migrate")
    database = Database.from_url(switch.database_url)
    actor = Actor("bench")
    users: list[tuple[str, str]] = []
    try:
        with database.writing() as session:
            create_account(session, actor, "bench")
            for n in range(devices):
                number = str(20000 + n)
                username = f"bench-{n:05d}"
                password = generate_password(username, number)
                create_extension(session, actor, "bench", number)
                create_device(session, actor, "bench", number, username, password, realm=REALM)
                users.append((username, password))
    finally:
        database.dispose()
    return users


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of the line)
    return ticks / os.sysconf("SC_CLK_TCK")


def write_injection(folder: Path, users: list[tuple[str, str]]) -> Path:
    path = folder / "users.csv"
    lines = [
        f"{user};[authentication username={user} password={password}];{EXPIRES}"
        for user, password in users
    ]
    path.write_text("SEQUENTIAL\n" + "\n".join(lines) + "\n")
    return path


def sipp_counts(stats_file: Path) -> tuple[int, int]:
    """(successful, failed) calls from the last line of SIPp's statistics file."""
    with stats_file.open(newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    header, last = rows[0], rows[-1]
    return int(last[header.index("SuccessfulCall(C)")]), int(last[header.index("FailedCall(C)")])


def run_step(
    sipp: str, switch: SwitchProcess, folder: Path, injection: Path, rate: int, seconds: float
) -> Step:
    assert switch.process is not None
    count = int(rate * seconds)
    stats = folder / f"stats_{rate}.csv"
    args = [
        sipp,
        f"{switch.host}:{switch.port}",
        "-sf",
        str(SCENARIO),
        "-inf",
        str(injection),
        "-t",
        "u1",
        "-i",
        "127.0.0.1",
        "-p",
        str(free_port()),
        "-r",
        str(rate),
        "-m",
        str(count),
        "-l",
        str(max(rate * 4, 100)),
        "-max_recv_loops",
        "10000",
        "-max_sched_loops",
        "10000",
        "-timeout",
        f"{int(seconds * 4 + 30)}s",
        "-nostdin",
        "-trace_stat",
        "-stf",
        str(stats),
        "-fd",
        "1",
    ]
    cpu_before = cpu_seconds(switch.process.pid)
    started = time.monotonic()
    subprocess.run(args, capture_output=True, cwd=folder, check=False)
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(switch.process.pid) - cpu_before
    succeeded, failed = sipp_counts(stats)
    return Step(rate, count, succeeded, failed, elapsed, cpu)


def print_table(steps: list[Step]) -> None:
    print(f"{'offered/s':>10} {'registered/s':>13} {'failures %':>11} {'cpu ms/reg':>11}")
    for step in steps:
        per_reg = 1000 * step.cpu_seconds / step.succeeded if step.succeeded else float("nan")
        mark = "" if step.held else "  (not held)"
        print(
            f"{step.offered:>10} {step.per_second:>13.0f} {step.failure_percent:>11.2f}"
            f" {per_reg:>11.3f}{mark}"
        )
    held = [s.offered for s in steps if s.held]
    print(
        f"highest rate held with < {HELD_FAILURE_LIMIT:g}% failures: "
        f"{max(held) if held else 'none'} registrations/s"
    )
    cpu = sum(s.cpu_seconds for s in steps)
    done = sum(s.succeeded for s in steps)
    if done:
        per_reg = cpu / done
        print(
            f"switch CPU per registration: {1000 * per_reg:.2f} ms "
            f"(one busy core would do about {1 / per_reg:.0f} registrations/s)"
        )


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} on {os.cpu_count()} CPUs"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each step")
    parser.add_argument(
        "--rates", default=",".join(map(str, DEFAULT_RATES)), help="offered rates, per second"
    )
    args = parser.parse_args()
    sipp = shutil.which("sipp")
    if sipp is None:
        print("bench_register: SIPp is not installed (Debian package sip-tester)", file=sys.stderr)
        return 2
    rates = [int(r) for r in args.rates.split(",") if r.strip()]
    with tempfile.TemporaryDirectory(prefix="bench-register-") as tmp:
        folder = Path(tmp)
        switch = SwitchProcess(folder, f"sqlite:///{folder / 'switch.db'}")
        switch.extra_env["SWITCH_LOG__LEVEL"] = "WARNING"  # logging every packet skews CPU
        # SIPp registers every device from one address: that is not a flood to limit.
        switch.extra_env["SWITCH_DETECT__RATE_EXEMPT"] = "127.0.0.1"
        started = time.monotonic()
        users = provision(switch, args.devices)
        print(f"provisioned {len(users)} devices in {time.monotonic() - started:.1f} s")
        injection = write_injection(folder, users)
        switch.start()
        print(f"before: {load_average()} (SIPp and the switch share these CPUs)")
        steps: list[Step] = []
        try:
            for rate in rates:
                steps.append(run_step(sipp, switch, folder, injection, rate, args.seconds))
                time.sleep(1.0)  # let retransmissions and the binding writer settle
        finally:
            switch.stop()
    print(f"after: {load_average()}")
    print_table(steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
