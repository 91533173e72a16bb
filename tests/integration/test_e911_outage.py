"""911 while the database is away: the call goes out with the last location the switch
loaded, the site is still told, and the records wait for the database to come back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from e911.civic import CivicAddress
from provisioning.e911_models import EmergencyNotification
from tests.integration.calls import call, explain, peer_folder, received, started
from tests.integration.conftest import ALICE, provision
from tests.integration.e911_peers import (
    Expected,
    WebhookSink,
    emergency_gateway,
    location_of,
    location_state,
    rows,
)
from tests.support.cdrs import call_records, finished
from tests.support.databases import postgres_schema_url
from tests.support.switch_process import SwitchProcess, free_port
from tests.support.tcp_proxy import CuttableProxy

pytestmark = pytest.mark.sipp

ALICE_DID = "+12025550123"
OUTAGE_NOTICED = "provisioning poll failed"
NOTICE_TIMEOUT = 8.0  # the switch polls provisioning every 2 s
SPOOL_TIMEOUT = 10.0


@pytest.fixture
def flaky_postgres(tmp_path: Path) -> Iterator[tuple[SwitchProcess, str, CuttableProxy]]:
    """A provisioned switch (not started) whose PostgreSQL runs through a cuttable proxy."""
    with postgres_schema_url() as direct_url:
        proxy = CuttableProxy("127.0.0.1", 5432)
        switch = SwitchProcess(tmp_path, direct_url.replace(":5432/", f":{proxy.port}/"))
        provision(switch)
        try:
            yield switch, direct_url, proxy
        finally:
            switch.stop()
            proxy.close()


def wait_for_log(switch: SwitchProcess, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in switch.log_text():
        assert time.monotonic() < deadline, f"switch never logged {text!r}"
        time.sleep(0.1)


def wait_for_spool(spool: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not (spool.exists() and spool.stat().st_size > 0):
        assert time.monotonic() < deadline, "no call record was spooled during the outage"
        time.sleep(0.1)


def test_911_during_a_database_outage_uses_the_last_known_location(
    flaky_postgres: tuple[SwitchProcess, str, CuttableProxy], tmp_path: Path
) -> None:
    switch, direct_url, proxy = flaky_postgres
    switch.ctl("did", "create", ALICE_DID, "acme", "--extension", "201")
    registered = location_state(switch, ALICE[0])
    gateway_port = free_port()
    webhook = WebhookSink()
    switch.ctl("site", "contact", "add", "acme", "hq", "--webhook", webhook.url())
    env = {"SWITCH_EMERGENCY__GATEWAY": f"udp:127.0.0.1:{gateway_port}"}
    try:
        with started(switch, **env):
            proxy.cut()
            wait_for_log(switch, OUTAGE_NOTICED, NOTICE_TIMEOUT)
            expected = Expected(ALICE_DID, "1600", "PENNSYLVANIA", "2", "201")
            psap = emergency_gateway(peer_folder(tmp_path, "psap"), gateway_port, expected)
            result = call(switch, peer_folder(tmp_path, "alice"), ALICE, "911", free_port())
            answered = psap.wait()
            # Kari's Law does not wait for the database either.
            posted = webhook.wait(1)
            # The call record waits in the spool until the database is back.
            wait_for_spool(switch.folder / "cdr-spool.jsonl", SPOOL_TIMEOUT)
            proxy.restore()
            [record] = call_records(direct_url, until=finished(1), timeout=45)
            notes = rows(direct_url, EmergencyNotification, timeout=20)
    finally:
        webhook.close()
    assert result.ok, explain(result)
    assert answered.ok, explain(answered)
    [invite] = received(answered, "INVITE")
    found = location_of(invite)
    assert found.location.address == CivicAddress.from_dict(registered["civic_address"])
    assert [p.body["callback_number"] for p in posted] == [ALICE_DID]
    assert posted[0].body["location_source"] == "last_known"
    assert record.destination_class == "emergency"
    assert record.disposition == "answered"
    assert "e911-location-last-known" in record.flags
    assert "e911-location-validated" not in record.flags
    # The notification's audit row is written once the database is back.
    assert [(n.channel.value, n.status.value) for n in notes] == [("webhook", "sent")]
