"""Emergency calls end to end: a SIPp phone dials 911 through the real switch, a SIPp
UAS acting as the E911 provider's SBC checks the INVITE, and the site's contacts are
told (webhook, e-mail, SIP MESSAGE to the front desk)."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from e911.civic import CivicAddress
from provisioning.e911_models import EmergencyNotification
from tests.integration.calls import (
    call,
    callee,
    explain,
    peer_folder,
    received,
    register,
    sent,
    started,
)
from tests.integration.conftest import ALICE, BOB
from tests.integration.e911_peers import (
    Expected,
    emergency_gateway,
    location_of,
    location_state,
    notice_sinks,
    rows,
)
from tests.support.cdrs import call_records, finished
from tests.support.sipp import run_sipp
from tests.support.switch_process import SwitchProcess, free_port

pytestmark = pytest.mark.sipp

ALICE_DID = "+12025550123"
MAIN_NUMBER = "+12025550100"  # acme's main number (see conftest.provision)
# alice-201's registered location: hq, floor 2, room 201.
ALICE_AT_HQ = Expected(ALICE_DID, "1600", "PENNSYLVANIA", "2", "201")
SECURITY = "security@acme.example"
PENDING = ("desk-201b", "Quiet-Meadow-Lamp-31")
HOLD = 300  # ms an answered emergency call lasts before the test phone hangs up


def gateway_env(port: int, **more: str) -> dict[str, str]:
    return {"SWITCH_EMERGENCY__GATEWAY": f"udp:127.0.0.1:{port}", **more}


def test_911_and_9911_carry_the_location_and_tell_the_site(
    provisioned: SwitchProcess, tmp_path: Path
) -> None:
    switch = provisioned
    switch.ctl("did", "create", ALICE_DID, "acme", "--extension", "201")
    registered = location_state(switch, ALICE[0])
    gateway_port, desk_port = free_port(), free_port()
    unreachable = f"http://127.0.0.1:{free_port()}/e911"  # nobody listens there
    with notice_sinks() as (webhook, smtp):
        switch.ctl("site", "contact", "add", "acme", "hq", "--webhook", webhook.url())
        switch.ctl("site", "contact", "add", "acme", "hq", "--webhook", unreachable)
        switch.ctl("site", "contact", "add", "acme", "hq", "--email", SECURITY)
        switch.ctl("site", "contact", "add", "acme", "hq", "--sip", "202")
        env = gateway_env(
            gateway_port,
            SWITCH_NOTIFY__SMTP_HOST="127.0.0.1",
            SWITCH_NOTIFY__SMTP_PORT=str(smtp.port),
            SWITCH_NOTIFY__RETRY_DELAY="0.2",
        )
        with started(switch, **env):
            register(switch, tmp_path, *BOB, desk_port)  # the front desk is extension 202
            # Two calls, two notices: the front desk takes a MESSAGE for each.
            desk = callee("e911_front_desk.xml", peer_folder(tmp_path, "desk"), desk_port, calls=2)
            psap = emergency_gateway(peer_folder(tmp_path, "psap"), gateway_port, ALICE_AT_HQ)
            before = time.time()
            result = call(
                switch, peer_folder(tmp_path, "alice"), ALICE, "911", free_port(), hold_ms=HOLD
            )
            after = time.time()
            answered = psap.wait()
            [posted] = webhook.wait(1)
            [mail] = smtp.wait(1)
            notes = rows(switch.database_url, EmergencyNotification, until=lambda r: len(r) >= 4)
            # The same phone again, dialling 9 for an outside line first.
            psap = emergency_gateway(peer_folder(tmp_path, "psap2"), gateway_port, ALICE_AT_HQ)
            again = call(
                switch, peer_folder(tmp_path, "alice2"), ALICE, "9911", free_port(), hold_ms=HOLD
            )
            answered_again, told = psap.wait(), desk.wait()
            records = call_records(switch.database_url, until=finished(2))
    assert result.ok, explain(result)
    assert answered.ok, explain(answered)  # includes the gateway's own checks
    assert again.ok, explain(again)
    assert answered_again.ok, explain(answered_again)
    assert told.ok, explain(told)

    # The INVITE: to 911 at the gateway, callback number asserted, location by value.
    for got, placed in ((answered, result), (answered_again, again)):
        [invite] = received(got, "INVITE")
        assert invite.request_uri.startswith(f"sip:911@127.0.0.1:{gateway_port}")
        assert invite.header("Priority") == "emergency"
        assert invite.headers("P-Asserted-Identity") == [f"<sip:{ALICE_DID}@127.0.0.1>"]
        assert invite.header("Content-Type").startswith("multipart/mixed")
        found = location_of(invite)
        assert found.location.address == CivicAddress.from_dict(registered["civic_address"])
        assert found.location.method == "Manual"
        assert found.location.entity == f"sip:{ALICE_DID}@127.0.0.1"
        # The caller's offer travels unchanged beside the location.
        offer = sent(placed, "INVITE")[-1].text.partition("\n\n")[2]
        assert found.sdp.decode().split() == offer.split()
    [invite] = received(answered, "INVITE")
    call_id = invite.header("Call-ID")

    # Kari's Law: the site hears of it with the facts the law names.
    dispatchable = registered["address"]
    assert dispatchable == "1600 PENNSYLVANIA AVE NW, FL 2, RM 201, WASHINGTON, DC 20500"
    assert posted.content_type.startswith("application/json")
    notice = posted.body
    assert notice["event"] == "emergency_call"
    assert notice["call_id"] == call_id
    assert notice["callback_number"] == ALICE_DID
    assert notice["extension"] == "201"
    assert notice["location"] == dispatchable
    assert notice["location_source"] == "validated"
    assert before - 1 <= datetime.fromisoformat(notice["time"]).timestamp() <= after + 1
    assert mail.recipients == (SECURITY,)
    assert "911" in mail.message["Subject"] and "201" in mail.message["Subject"]
    text = mail.message.get_content()
    assert ALICE_DID in text and dispatchable in text
    [message, _] = received(told, "MESSAGE")
    assert message.header("Call-ID") != call_id  # a request of its own, not in the call
    assert ALICE_DID in message.text and dispatchable in message.text and "201" in message.text

    # Every delivery is in the audit table: sent at the first attempt, or given up on
    # after the configured attempts (3 by default) with the reason.
    first = {n.target: n for n in notes if n.call_id == call_id}
    assert set(first) == {webhook.url(), SECURITY, "202", unreachable}
    failed = first.pop(unreachable)
    assert (failed.channel.value, failed.status.value, failed.attempts) == ("webhook", "failed", 3)
    assert failed.last_error and failed.sent_at is None
    assert sorted(n.channel.value for n in first.values()) == ["email", "sip", "webhook"]
    assert all(n.status.value == "sent" and n.attempts == 1 for n in first.values())
    assert all(n.payload["callback_number"] == ALICE_DID for n in first.values())

    for record in records:
        assert record.destination_class == "emergency"
        assert record.trunk == "emergency"
        assert record.caller_asserted == ALICE_DID
        assert record.disposition == "answered"
        assert "e911-location-validated" in record.flags


def test_911_from_a_device_without_location_sends_the_site_address(
    provisioned: SwitchProcess, tmp_path: Path
) -> None:
    switch = provisioned
    switch.ctl("did", "create", ALICE_DID, "acme", "--extension", "201")
    username, password = PENDING
    switch.ctl(
        "device", "create", "acme", "201", username, "--password", password,
        "--site", "hq", "--location-pending",
    )  # fmt: skip
    assert location_state(switch, username)["state"] == "pending"
    site = switch.ctl_json("site", "show", "acme", "hq")
    assert isinstance(site, dict)
    gateway_port = free_port()
    with started(switch, **gateway_env(gateway_port)):
        # No floor, no room: the site's own address is all there is.
        site_only = Expected(ALICE_DID, "1600", "PENNSYLVANIA")
        psap = emergency_gateway(peer_folder(tmp_path, "psap"), gateway_port, site_only)
        result = call(
            switch, peer_folder(tmp_path, "desk"), PENDING, "911", free_port(), hold_ms=HOLD
        )
        answered = psap.wait()
        [record] = call_records(switch.database_url, until=finished(1))
    assert result.ok, explain(result)
    assert answered.ok, explain(answered)
    [invite] = received(answered, "INVITE")
    found = location_of(invite)
    assert found.location.address == CivicAddress.from_dict(site["civic_address"])
    assert record.destination_class == "emergency"
    assert "e911-location-fallback-site" in record.flags


@pytest.mark.parametrize(
    "lock", [("--status", "suspended"), ("--fraud-lock", "on")], ids=["suspended", "fraud-lock"]
)
def test_911_from_a_locked_account_still_reaches_the_gateway(
    provisioned: SwitchProcess, tmp_path: Path, lock: tuple[str, str]
) -> None:
    switch = provisioned
    switch.ctl("did", "create", ALICE_DID, "acme", "--extension", "201")
    switch.ctl("account", "update", "acme", *lock)
    gateway_port = free_port()
    with started(switch, **gateway_env(gateway_port)):
        # The lock is in force: an ordinary call is refused ...
        refused = run_sipp(
            "e911_uac_final.xml",
            f"{switch.host}:{switch.port}",
            peer_folder(tmp_path, "ordinary"),
            injection=[[ALICE[0]]],
            auth=ALICE,
            local_port=free_port(),
            extra=["-s", "202"],
        )
        # ... and 911 still goes through, with the location.
        psap = emergency_gateway(peer_folder(tmp_path, "psap"), gateway_port, ALICE_AT_HQ)
        result = call(
            switch, peer_folder(tmp_path, "alice"), ALICE, "911", free_port(), hold_ms=HOLD
        )
        answered = psap.wait()
        records = call_records(switch.database_url, until=finished(2))
    assert refused.ok, explain(refused)
    [final] = [m for m in received(refused, 403)]
    assert final.start_line.startswith("SIP/2.0 403 ")
    assert result.ok, explain(result)
    assert answered.ok, explain(answered)
    emergency = [r for r in records if r.destination_class == "emergency"]
    assert len(emergency) == 1 and emergency[0].disposition == "answered"


def test_933_is_routed_with_the_location_but_raises_no_alarm(
    provisioned: SwitchProcess, tmp_path: Path
) -> None:
    switch = provisioned
    switch.ctl("did", "create", ALICE_DID, "acme", "--extension", "201")
    gateway_port = free_port()
    with notice_sinks() as (webhook, _):
        switch.ctl("site", "contact", "add", "acme", "hq", "--webhook", webhook.url())
        with started(switch, **gateway_env(gateway_port)):
            psap = emergency_gateway(peer_folder(tmp_path, "psap"), gateway_port, ALICE_AT_HQ)
            result = call(
                switch, peer_folder(tmp_path, "alice"), ALICE, "933", free_port(), hold_ms=HOLD
            )
            answered = psap.wait()
            [record] = call_records(switch.database_url, until=finished(1))
            posted = webhook.wait(1, timeout=2.5)
            notes = rows(switch.database_url, EmergencyNotification, timeout=0.5)
    assert result.ok, explain(result)
    assert answered.ok, explain(answered)  # same checks as 911: location, callback, priority
    [invite] = received(answered, "INVITE")
    assert invite.request_uri.startswith(f"sip:933@127.0.0.1:{gateway_port}")
    assert record.destination_class == "emergency_test"
    assert "e911-location-validated" in record.flags
    assert posted == [], "a 933 test call must not alarm the site"
    assert notes == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # in-memory routing only
def test_front_desk_notice_stays_within_the_callers_account(
    provisioned: SwitchProcess, tmp_path: Path
) -> None:
    """Another customer's extension 202 is not acme's front desk: it must not be told."""
    switch = provisioned
    other = ("globex-202", "Velvet-Canyon-Piano-62")
    switch.ctl("account", "create", "globex", "--main-number", "+13125550100")
    switch.ctl("extension", "create", "globex", "202")
    switch.ctl(
        "device", "create", "globex", "202", other[0], "--password", other[1],
        "--address", "233 S Wacker Dr, Chicago, IL 60606",
    )  # fmt: skip
    switch.ctl("site", "contact", "add", "acme", "hq", "--sip", "202")
    gateway_port, desk_port, other_port = free_port(), free_port(), free_port()
    with started(switch, **gateway_env(gateway_port)):
        register(switch, peer_folder(tmp_path, "reg-desk"), *BOB, desk_port)
        register(switch, peer_folder(tmp_path, "reg-other"), *other, other_port)
        desk = callee("e911_front_desk.xml", peer_folder(tmp_path, "desk"), desk_port)
        stranger = callee("e911_front_desk.xml", peer_folder(tmp_path, "other"), other_port)
        psap = emergency_gateway(
            peer_folder(tmp_path, "psap"), gateway_port, replace(ALICE_AT_HQ, callback=MAIN_NUMBER)
        )
        result = call(
            switch, peer_folder(tmp_path, "alice"), ALICE, "911", free_port(), hold_ms=HOLD
        )
        answered, told = psap.wait(), desk.wait()
        # The other customer's phone would have had its MESSAGE by now.
        time.sleep(1.0)
        stranger.process.terminate()
        untouched = stranger.wait()
    assert result.ok, explain(result)
    assert answered.ok, explain(answered)
    assert told.ok, explain(told)
    assert received(untouched, "MESSAGE") == []
