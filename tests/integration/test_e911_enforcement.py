"""E911 enforcement with real phones: no ordinary outside calls without a registered
location, and a phone that shows up on another network is held to emergency calls
until someone confirms where it is (from the phone itself with the feature code)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.integration.calls import (
    call,
    callee,
    explain,
    peer_folder,
    received,
    register,
    started,
)
from tests.integration.e911_peers import (
    Expected,
    dial_final,
    emergency_gateway,
    location_state,
    wait_location,
    wait_reloaded,
)
from tests.support.cdrs import call_records, finished
from tests.support.switch_process import SwitchProcess, free_port

pytestmark = pytest.mark.sipp

OFF_NET = "2025550199"  # an ordinary call out through the trunk
MAIN_NUMBER = "+12025550100"  # acme's main number: the callback of an extension without DID
PENDING = ("desk-201b", "Quiet-Meadow-Lamp-31")
CAROL = ("carol-203", "Amber-Violin-Harbor-58")
# A site whose only network is one the tests never come from (they all use loopback).
ANNEX_ADDRESS = "1 First St NE, Washington, DC 20543"
ANNEX_NETWORK = "10.99.0.0/16"
MOVED_ALERT = "registered from a network its 911 location was not confirmed on"
HOLD = 300  # ms an answered call lasts


def own_main_number(switch: SwitchProcess) -> None:
    """The account owns its main number, so its phones may present it on outside calls."""
    switch.ctl("did", "create", MAIN_NUMBER, "acme")


def provision_annex(switch: SwitchProcess) -> None:
    """Extension 203 with carol's phone, registered at the annex, floor 3, room 12."""
    own_main_number(switch)
    switch.ctl(
        "site", "create", "acme", "annex", "--address", ANNEX_ADDRESS, "--network", ANNEX_NETWORK
    )
    switch.ctl("extension", "create", "acme", "203")
    switch.ctl(
        "device", "create", "acme", "203", CAROL[0], "--password", CAROL[1],
        "--site", "annex", "--floor", "3", "--room", "12",
    )  # fmt: skip


def gateways(trunk: int, emergency: int | None = None) -> dict[str, str]:
    env = {"SWITCH_TRUNK__GATEWAY": f"udp:127.0.0.1:{trunk}"}
    if emergency is not None:
        env["SWITCH_EMERGENCY__GATEWAY"] = f"udp:127.0.0.1:{emergency}"
    return env


def test_device_without_location_is_refused_outside_calls_unless_the_account_warns(
    provisioned: SwitchProcess, tmp_path: Path
) -> None:
    switch = provisioned
    own_main_number(switch)
    switch.ctl(
        "device", "create", "acme", "201", PENDING[0], "--password", PENDING[1],
        "--site", "hq", "--location-pending",
    )  # fmt: skip
    carrier_port = free_port()
    with started(switch, **gateways(carrier_port)):
        refused = dial_final(switch, peer_folder(tmp_path, "refused"), PENDING, OFF_NET)
        # Warn-only: the same call goes out, and its record says what was missing.
        switch.ctl("e911", "settings", "acme", "--e911-enforcement", "warn")
        wait_reloaded(switch)
        carrier = callee("trunk_uas.xml", peer_folder(tmp_path, "carrier"), carrier_port)
        allowed = call(
            switch, peer_folder(tmp_path, "allowed"), PENDING, OFF_NET, free_port(), hold_ms=HOLD
        )
        routed = carrier.wait()
        first, second = call_records(switch.database_url, until=finished(2))
    assert refused.start_line == "SIP/2.0 403 E911 Address Required"
    assert "address for 911" in refused.header("Warning")
    assert (first.policy_rule, first.policy_verdict) == ("e911.location", "deny")
    assert (first.disposition, first.sip_status, first.trunk) == ("rejected", 403, None)
    assert allowed.ok, explain(allowed)
    assert routed.ok, explain(routed)
    [invite] = received(routed, "INVITE")
    assert invite.request_uri.startswith("sip:+12025550199@")
    assert second.disposition == "answered"
    assert "e911-address-missing" in second.flags


def test_moved_device_is_held_to_emergency_calls_until_confirmed_from_the_phone(
    provisioned: SwitchProcess, tmp_path: Path
) -> None:
    switch = provisioned
    provision_annex(switch)
    assert location_state(switch, CAROL[0])["state"] == "validated"
    carrier_port, gateway_port, phone_port = free_port(), free_port(), free_port()
    with started(switch, **gateways(carrier_port, gateway_port)):
        register(switch, peer_folder(tmp_path, "register"), *CAROL, phone_port)
        moved = wait_location(switch, CAROL[0], "unconfirmed")
        unconfirmed = switch.ctl_json("location", "list", "--unconfirmed")
        wait_reloaded(switch)
        refused = dial_final(switch, peer_folder(tmp_path, "refused"), CAROL, OFF_NET)
        # 911 still works, with the registered location and the account's main number.
        at_annex = Expected(MAIN_NUMBER, "1", "FIRST", "3", "12")
        psap = emergency_gateway(peer_folder(tmp_path, "psap"), gateway_port, at_annex)
        emergency = call(
            switch, peer_folder(tmp_path, "911"), CAROL, "911", free_port(), hold_ms=HOLD
        )
        answered = psap.wait()
        # The user confirms the address from the phone, where it is now.
        confirmed = dial_final(switch, peer_folder(tmp_path, "confirm"), CAROL, "*562")
        shown = wait_location(switch, CAROL[0], "validated")
        wait_reloaded(switch)
        carrier = callee("trunk_uas.xml", peer_folder(tmp_path, "carrier"), carrier_port)
        allowed = call(
            switch, peer_folder(tmp_path, "allowed"), CAROL, OFF_NET, free_port(), hold_ms=HOLD
        )
        routed = carrier.wait()
        # Registering again from here no longer counts as a move.
        register(switch, peer_folder(tmp_path, "again"), *CAROL, phone_port)
        time.sleep(1.0)
        after = location_state(switch, CAROL[0])
        records = call_records(switch.database_url, until=finished(4))
    assert moved["address"] == location_state(switch, CAROL[0])["address"]  # same address
    assert isinstance(unconfirmed, list)
    assert [d["username"] for d in unconfirmed] == [CAROL[0]]
    assert MOVED_ALERT in switch.log_text()
    assert refused.start_line == "SIP/2.0 403 E911 Location Unconfirmed"
    assert "confirm its 911 address" in refused.header("Warning")
    assert emergency.ok, explain(emergency)
    assert answered.ok, explain(answered)
    assert confirmed.start_line == "SIP/2.0 603 E911 Location Confirmed"
    assert "127.0.0.1/32" in shown["confirmed_networks"]
    assert shown["confirmed_by"] == f"phone:{CAROL[0]}"
    assert allowed.ok, explain(allowed)
    assert routed.ok, explain(routed)
    assert after["state"] == "validated"
    by_dialled = {r.dialled: r for r in records}
    assert by_dialled[OFF_NET].disposition == "answered"  # the last of the two tries
    assert by_dialled["911"].destination_class == "emergency"
    assert by_dialled["911"].disposition == "answered"
    # The registered address went out, and the record says the phone was away from it.
    assert {"e911-location-validated", "e911-location-unconfirmed"} <= set(by_dialled["911"].flags)
    refusals = [r for r in records if r.policy_rule == "e911.location"]
    assert [r.policy_reason for r in refusals] == ["E911 Location Unconfirmed"]


def test_moved_device_under_alert_setting_keeps_calling_with_a_flag(
    provisioned: SwitchProcess, tmp_path: Path
) -> None:
    switch = provisioned
    provision_annex(switch)
    switch.ctl("e911", "settings", "acme", "--moved-device-action", "alert")
    carrier_port, phone_port = free_port(), free_port()
    with started(switch, **gateways(carrier_port)):
        register(switch, peer_folder(tmp_path, "register"), *CAROL, phone_port)
        wait_location(switch, CAROL[0], "unconfirmed")
        wait_reloaded(switch)
        carrier = callee("trunk_uas.xml", peer_folder(tmp_path, "carrier"), carrier_port)
        allowed = call(
            switch, peer_folder(tmp_path, "allowed"), CAROL, OFF_NET, free_port(), hold_ms=HOLD
        )
        routed = carrier.wait()
        [record] = call_records(switch.database_url, until=finished(1))
    assert MOVED_ALERT in switch.log_text()
    assert allowed.ok, explain(allowed)
    assert routed.ok, explain(routed)
    assert record.disposition == "answered"
    assert "e911-location-unconfirmed" in record.flags
