"""Billing records survive what goes wrong: a database outage, a killed switch, a lost BYE."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.calls import call, callee, register, target
from tests.integration.conftest import ALICE, BOB, provision
from tests.support.cdrs import call_records, finished
from tests.support.databases import postgres_schema_url
from tests.support.sipp import BackgroundSipp
from tests.support.switch_process import SwitchProcess, free_port
from tests.support.tcp_proxy import CuttableProxy


@pytest.fixture
def flaky_postgres(tmp_path: Path) -> Iterator[tuple[SwitchProcess, str, CuttableProxy]]:
    """A switch whose PostgreSQL connection runs through a proxy the test can cut."""
    with postgres_schema_url() as direct_url:
        proxy = CuttableProxy("127.0.0.1", 5432)
        switch = SwitchProcess(tmp_path, direct_url.replace(":5432/", f":{proxy.port}/"))
        provision(switch)
        try:
            yield switch, direct_url, proxy
        finally:
            switch.stop()
            proxy.close()


def test_database_outage_mid_call_loses_and_duplicates_nothing(
    flaky_postgres: tuple[SwitchProcess, str, CuttableProxy], tmp_path: Path
) -> None:
    switch, direct_url, proxy = flaky_postgres
    switch.start()
    bob_port = free_port()
    register(switch, tmp_path, BOB[0], BOB[1], bob_port)
    uas = callee("uas_answer.xml", tmp_path, bob_port)
    caller = BackgroundSipp(
        "uac_call.xml",
        tmp_path,
        target(switch),
        injection=[[ALICE[0]]],
        auth=ALICE,
        local_port=free_port(),
        extra=["-s", "202", "-d", "3000"],
    )
    # The call is answered and its record opened while the database is there ...
    [opened] = call_records(direct_url, until=lambda rows: len(rows) == 1)
    assert opened.end_time is None
    proxy.cut()  # ... then the database goes away before the caller hangs up.
    assert caller.wait().ok and uas.wait().ok
    # A whole call while the database is still away.
    uas = callee("uas_answer.xml", tmp_path, bob_port)
    assert call(switch, tmp_path, ALICE, "202", free_port(), hold_ms=500).ok
    assert uas.wait().ok
    spool = switch.folder / "cdr-spool.jsonl"
    assert spool.exists() and spool.stat().st_size > 0, "records must wait in the spool"
    proxy.restore()
    rows = call_records(direct_url, until=finished(2), timeout=45)
    assert len(rows) == 2, "one record per call attempt, none lost, none duplicated"
    assert all(r.disposition == "answered" and r.closed_by == "signalling" for r in rows)
    assert rows[0].billable_seconds >= 3
    assert len({r.call_id for r in rows}) == 2


def test_killed_switch_closes_open_record_at_next_start(
    provisioned: SwitchProcess, tmp_path: Path
) -> None:
    switch = provisioned
    switch.start()
    bob_port = free_port()
    register(switch, tmp_path, BOB[0], BOB[1], bob_port)
    uas = callee("uas_answer.xml", tmp_path, bob_port, timeout=20)
    caller = BackgroundSipp(
        "uac_call.xml",
        tmp_path,
        target(switch),
        timeout=20,
        injection=[[ALICE[0]]],
        auth=ALICE,
        local_port=free_port(),
        extra=["-s", "202", "-d", "15000"],
    )
    [opened] = call_records(
        switch.database_url, until=lambda rows: bool(rows and rows[0].answer_time)
    )
    assert opened.answer_time is not None and opened.end_time is None
    killed_at = time.time()
    switch.stop(signal.SIGKILL)
    switch.start()
    [record] = call_records(switch.database_url, until=finished(1), timeout=15)
    assert record.closed_by == "recovery"
    assert record.disposition == "answered"
    # Billable time ends where the dead switch was last known alive, never after the kill.
    assert record.end_time is not None and record.end_time.timestamp() <= killed_at + 1
    assert 0 <= record.billable_seconds <= int(killed_at - record.answer_time.timestamp()) + 1
    caller.process.kill()
    uas.process.kill()


def test_lost_bye_is_detected_and_billing_bounded(
    provisioned: SwitchProcess, tmp_path: Path
) -> None:
    switch = provisioned
    switch.extra_env["SWITCH_PROXY__KEEPALIVE_INTERVAL"] = "2"
    switch.start()
    bob_port = free_port()
    register(switch, tmp_path, BOB[0], BOB[1], bob_port)
    uas = callee("uas_probed.xml", tmp_path, bob_port)
    result = call(switch, tmp_path, ALICE, "202", free_port(), scenario="uac_lost_bye.xml")
    assert result.ok, result.errors + result.stderr
    assert uas.wait().ok, "the callee is hung up by the switch"
    [record] = call_records(switch.database_url, until=finished(1))
    assert record.closed_by == "timeout" and record.hangup_by == "switch"
    assert record.disposition == "answered"
    # Billed no further than the last probe both sides answered: within one probe interval.
    assert record.billable_seconds <= 2 + 1
