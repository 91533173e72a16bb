"""Calls per second through the switch: SIPp INVITE-407-INVITE-200-ACK-BYE at rising rates.

Starts a real switch on loopback (SQLite by default, or PostgreSQL with --postgres),
registers a SIPp UAS as extension 202 and drives authenticated calls from 201 with
a SIPp UAC. For each rate it prints completed calls per second, failed calls, call
setup latency percentiles (INVITE with credentials to 200, from SIPp's RTT trace),
the switch's CPU seconds per call, and whether every call left a finished CDR.

    .venv/bin/python bench/bench_calls.py [--rates 50,100,200,300] [--seconds 5] [--postgres]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.integration.calls import register, target  # noqa: E402
from tests.integration.conftest import ALICE, BOB, provision  # noqa: E402
from tests.support.cdrs import call_records  # noqa: E402
from tests.support.databases import postgres_schema_url  # noqa: E402
from tests.support.sipp import BackgroundSipp, run_sipp  # noqa: E402
from tests.support.switch_process import SwitchProcess, free_port  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / 100.0


def counter(stdout: str, name: str) -> int:
    matches = re.findall(rf"{name}\s*\|\s*\d+\s*\|\s*(\d+)", stdout)
    return int(matches[-1]) if matches else 0


def rtt_ms(folder: Path) -> list[float]:
    values: list[float] = []
    for path in folder.glob("uac_call_*_rtt.csv"):
        for line in path.read_text().splitlines()[1:]:
            parts = line.split(";")
            if len(parts) >= 2:
                try:
                    values.append(float(parts[1]))
                except ValueError:
                    continue
        path.unlink()
    return values


def run_rate(switch: SwitchProcess, folder: Path, rate: int, seconds: int, bob_port: int) -> dict:
    calls = rate * seconds
    uas = BackgroundSipp(
        "uas_answer.xml",
        folder,
        local_port=bob_port,
        calls=calls,
        timeout=seconds + 40,
        extra=["-bind_local", "-max_socket", "1024"],
    )
    time.sleep(0.3)
    assert switch.process is not None
    cpu_before = cpu_seconds(switch.process.pid)
    started = time.monotonic()
    result = run_sipp(
        "uac_call.xml",
        target(switch),
        folder,
        calls=calls,
        rate=rate,
        timeout=seconds + 40,
        injection=[[ALICE[0]]],
        auth=ALICE,
        local_port=free_port(),
        extra=["-s", "202", "-d", "100", "-trace_rtt", "-rtt_freq", "1", "-l", str(rate * 4)],
    )
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(switch.process.pid) - cpu_before
    uas.process.kill()
    uas.wait()
    ok = counter(result.stdout, "Successful call")
    failed = counter(result.stdout, "Failed call")
    latencies = sorted(rtt_ms(folder))

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0.0

    return {
        "rate": rate,
        "ok": ok,
        "failed": failed,
        "cps": ok / elapsed if elapsed else 0.0,
        "fail_pct": 100.0 * failed / max(1, ok + failed),
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "mean": statistics.fmean(latencies) if latencies else 0.0,
        "cpu_per_call_ms": 1000.0 * cpu / max(1, ok + failed),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="50,100,200,300,400")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if args.postgres:
            url = stack.enter_context(postgres_schema_url())
        else:
            url = f"sqlite:///{folder / 'bench.db'}"
        switch = provision(SwitchProcess(folder, url))
        switch.extra_env["SWITCH_LOG__LEVEL"] = "WARNING"
        # One SIPp caller stands for many phones: no per-seat limit, rate limit or throttling.
        switch.extra_env["SWITCH_DETECT__MAX_CALLS_PER_SEAT"] = "10000"
        switch.extra_env["SWITCH_DETECT__RATE_EXEMPT"] = "127.0.0.1"
        switch.extra_env["SWITCH_DETECT__ENFORCE_ACTIONS"] = "false"
        switch.start()
        stack.callback(switch.stop)
        bob_port = free_port()
        register(switch, folder, BOB[0], BOB[1], bob_port)
        print(
            f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; "
            f"{args.seconds} s per step; calls hold 100 ms"
        )
        print(
            f"{'offered':>8} {'done/s':>8} {'failed':>7} {'fail%':>6} "
            f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'CPU ms/call':>11}"
        )
        best = 0
        total = 0
        for rate in rates:
            row = run_rate(switch, folder, rate, args.seconds, bob_port)
            total += row["ok"] + row["failed"]
            print(
                f"{row['rate']:>8} {row['cps']:>8.1f} {row['failed']:>7} {row['fail_pct']:>6.2f} "
                f"{row['p50']:>7.1f} {row['p95']:>7.1f} {row['p99']:>7.1f} "
                f"{row['cpu_per_call_ms']:>11.2f}"
            )
            if row["fail_pct"] < 1.0:
                best = rate
        rows = call_records(url, until=lambda r: len(r) >= total, timeout=60)
        open_rows = sum(1 for r in rows if r.end_time is None)
        print(f"highest rate held with < 1% failed calls: {best} calls/s")
        print(f"call records: {len(rows)} for {total} attempts, {open_rows} still open")
    return 0


if __name__ == "__main__":
    sys.exit(main())
