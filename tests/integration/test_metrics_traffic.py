"""/metrics after real SIP traffic: SIPp phones register and call through the switch,
and each counter moves by exactly what that traffic should cause, with no customer data
(numbers, addresses, user names, Call-IDs) in any label."""

from __future__ import annotations

import ipaddress
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import ALICE, BOB
from tests.support.sipp import BackgroundSipp, SippResult, run_sipp
from tests.support.switch_process import SwitchProcess, free_port

INTERNATIONAL = "011442079460000"
PHONE_NUMBER = re.compile(r"\+?\d{7,}")
Sample = tuple[str, frozenset[tuple[str, str]]]


def scrape(switch: SwitchProcess) -> dict[Sample, float]:
    values: dict[Sample, float] = {}
    for family in text_string_to_metric_families(switch.scrape()):
        for sample in family.samples:
            values[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return values


class Delta:
    """How much each series moved between two scrapes."""

    def __init__(self, before: dict[Sample, float], after: dict[Sample, float]) -> None:
        self.before, self.after = before, after

    def __call__(self, name: str, **labels: str) -> float:
        """Change of one series, or of the sum over the labels not given."""
        wanted = set(labels.items())

        def total(values: dict[Sample, float]) -> float:
            return sum(v for (n, ls), v in values.items() if n == name and wanted <= ls)

        return total(self.after) - total(self.before)

    def moved(self, name: str) -> dict[frozenset[tuple[str, str]], float]:
        """Every series of ``name`` that changed, with its change."""
        changes = {}
        for (n, labels), value in self.after.items():
            if n == name and value != self.before.get((n, labels), 0.0):
                changes[labels] = value - self.before.get((n, labels), 0.0)
        return changes


@pytest.fixture
def switch(provisioned: SwitchProcess) -> Iterator[tuple[SwitchProcess, int]]:
    """A running switch whose emergency gateway is a loopback port (where a SIPp UAS
    answers); returns the switch and that port."""
    gateway_port = free_port()
    provisioned.extra_env["SWITCH_EMERGENCY__GATEWAY"] = f"udp:127.0.0.1:{gateway_port}"
    provisioned.start()
    try:
        yield provisioned, gateway_port
    finally:
        provisioned.stop(signal.SIGKILL)  # the drain is not under test here


def sipp(
    switch: SwitchProcess, folder: Path, scenario: str, port: int | None = None, **options: object
) -> SippResult:
    folder.mkdir()
    result = run_sipp(
        scenario,
        f"{switch.host}:{switch.port}",
        folder,
        local_port=port or free_port(),
        timeout=15,
        **options,
    )
    assert result.ok, result.errors + result.stderr + switch.log_text()[-2000:]
    return result


def place_call(
    switch: SwitchProcess, folder: Path, dialled: str, scenario: str = "uac_call.xml"
) -> SippResult:
    return sipp(
        switch,
        folder,
        scenario,
        injection=[[ALICE[0]]],
        auth=ALICE,
        extra=["-s", dialled, "-d", "300"],
    )


def answering(folder: Path, port: int) -> BackgroundSipp:
    folder.mkdir()
    return BackgroundSipp("uas_answer.xml", folder, local_port=port, timeout=15)


def test_counters_follow_registrations_calls_denials_and_emergency_calls(
    switch: tuple[SwitchProcess, int], tmp_path: Path
) -> None:
    process, gateway_port = switch
    before = scrape(process)

    bob_port = free_port()
    good = sipp(
        process,
        tmp_path / "reg-bob",
        "register_auth.xml",
        injection=[[BOB[0], "", "600"]],
        auth=BOB,
        port=bob_port,
    )
    bad = sipp(
        process,
        tmp_path / "reg-wrong",
        "register_refused.xml",
        injection=[[ALICE[0], "", "600"]],
        auth=(ALICE[0], "not-the-password-1"),
    )
    bob = answering(tmp_path / "bob", bob_port)
    answered = place_call(process, tmp_path / "call-202", "202")
    assert bob.wait().ok
    denied = place_call(process, tmp_path / "call-intl", INTERNATIONAL, "uac_denied.xml")
    assert "SIP/2.0 403" in denied.messages
    psap = answering(tmp_path / "psap", gateway_port)
    emergency = place_call(process, tmp_path / "call-911", "911")
    assert psap.wait().ok

    delta = Delta(before, scrape(process))
    # Registrations: one accepted, one refused for its password; each was challenged first.
    assert delta("softswitch_registrar_registrations_total", outcome="ok") == 1
    assert delta("softswitch_registrar_registrations_total", outcome="challenged") == 2
    assert delta("softswitch_registrar_registrations_total", outcome="auth_failed") == 1
    assert delta.moved("softswitch_auth_failures_total") == {
        frozenset({("reason", "bad_password")}): 1
    }
    # Requests as the phones sent them: two REGISTERs each, each call INVITEd twice (the
    # first drew the 407) and ACKed twice, the answered calls hung up with one BYE.
    requests = "softswitch_sip_requests_received_total"
    assert delta(requests, method="REGISTER", transport="udp") == 4
    assert delta(requests, method="INVITE", transport="udp") == 6
    assert delta(requests, method="ACK", transport="udp") == 6
    assert delta(requests, method="BYE", transport="udp") == 2
    assert delta("softswitch_sip_responses_sent_total", status_class="4xx", method="INVITE") >= 4
    # Calls by class and disposition: the extension call, the refused international call
    # and the emergency call, each counted once.
    assert delta.moved("softswitch_calls_total") == {
        frozenset({("class", "internal"), ("disposition", "answered")}): 1,
        frozenset({("class", "international"), ("disposition", "rejected")}): 1,
        frozenset({("class", "emergency"), ("disposition", "answered")}): 1,
    }
    assert delta("softswitch_call_setup_seconds_count") == 3
    # The refusal is counted under the international class-of-service rule.
    denials = {
        dict(labels)["rule"]: change
        for labels, change in delta.moved("softswitch_policy_decisions_total").items()
        if dict(labels)["verdict"] == "deny"
    }
    assert len(denials) == 1, denials
    [(rule, count)] = denials.items()
    assert count == 1
    # A rule the metric's label set does not know would be flattened to "other".
    assert "international" in rule, f"the denial was counted under rule={rule!r}"

    identifiers = customer_data(good, bad, answered, denied, emergency)
    for (name, labels), _ in delta.after.items():
        for label, value in labels:
            assert not PHONE_NUMBER.search(value), (name, label, value)
            assert not _is_address(value), (name, label, value)
            assert value not in identifiers, (name, label, value)


def customer_data(*results: SippResult) -> set[str]:
    """User names, numbers, Call-IDs and tags that went over the wire in this test."""
    found = {ALICE[0], BOB[0], "acme", "202", "911", INTERNATIONAL, "+442079460000"}
    for result in results:
        found.update(re.findall(r"^Call-ID:\s*(\S+)", result.messages, re.MULTILINE))
        found.update(re.findall(r";tag=([^;>\s]+)", result.messages))
    return found


def _is_address(value: str) -> bool:
    if "@" in value or "sip:" in value or re.search(r"\d+ \w+ (St|Ave|Rd)\b", value):
        return True
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True
