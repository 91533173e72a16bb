"""The metrics registry: isolation, bounded labels, and no subscriber data in labels."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.samples import Sample

from switch.core.auth import AuthStatus
from switch.core.registrar import RegisterOutcome
from switch.metrics import (
    AUTH_REASON,
    CLASS,
    METHOD,
    OTHER,
    OUTCOME,
    AuthFailure,
    CallClass,
    CallState,
    Disposition,
    DropReason,
    LabelDomain,
    Metrics,
    status_class,
)
from switch.policy.destination import DestinationClass
from switch.sip.errors import BadExtension, MessageTooLarge, ParseError, VersionNotSupported

PHONE_LIKE = re.compile(r"\+?\d{7,}")
# What careless callers might pass as a label: numbers, a user name, a Call-ID, an address.
SUBSCRIBER_DATA = (
    "+12025550100",
    "2025550123",
    "alice-201",
    "a84b4c76e66710@pc33.atlanta.example",
    "1600 Pennsylvania Ave NW",
)


def samples(registry: CollectorRegistry) -> list[Sample]:
    return [s for family in registry.collect() for s in family.samples]


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    got = registry.get_sample_value(name, labels)
    assert got is not None, f"no sample {name}{labels}"
    return got


def exercise(metrics: Metrics, text: str) -> None:
    """Drive every labelled metric with ``text`` in each label position."""
    metrics.request(text, text)
    metrics.response_sent(200, text)
    metrics.response_received(486, text)
    metrics.parse_error(int(text) if text.isdigit() else 999)
    metrics.dropped(text)
    metrics.set_connections(text, 3)
    metrics.registration(text)
    metrics.auth_failure(text)
    metrics.set_active_calls(text, 2)
    metrics.call_ended(text, text)
    metrics.decision(text, text)
    metrics.emergency_call(text, text)
    metrics.detector_alert(text, text)
    metrics.db_error(text)


def test_each_instance_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.request("INVITE", "udp")
    assert first.registry is not second.registry
    name = "softswitch_sip_requests_received_total"
    assert value(first.registry, name, method="INVITE", transport="udp") == 1
    assert value(second.registry, name, method="INVITE", transport="udp") == 0


def test_known_values_are_counted_under_their_own_label() -> None:
    metrics = Metrics(process=False)
    r = metrics.registry
    metrics.request("REGISTER", "tcp")
    metrics.response_sent(401, "REGISTER")
    metrics.response_received(180, "INVITE")
    metrics.registration(RegisterOutcome.CHALLENGED)
    metrics.auth_failure(AuthFailure.BAD_PASSWORD)
    metrics.call_ended(CallClass.EMERGENCY, Disposition.ANSWERED)
    metrics.dropped(DropReason.QUEUE_FULL)
    metrics.set_active_calls(CallState.CONFIRMED, 4)
    assert (
        value(r, "softswitch_sip_requests_received_total", method="REGISTER", transport="tcp") == 1
    )
    assert (
        value(r, "softswitch_sip_responses_sent_total", status_class="4xx", method="REGISTER") == 1
    )
    assert (
        value(r, "softswitch_sip_responses_received_total", status_class="1xx", method="INVITE")
        == 1
    )
    assert value(r, "softswitch_registrar_registrations_total", outcome="challenged") == 1
    assert value(r, "softswitch_auth_failures_total", reason="bad_password") == 1
    assert (
        value(r, "softswitch_calls_total", **{"class": "emergency", "disposition": "answered"}) == 1
    )
    assert value(r, "softswitch_sip_dropped_messages_total", reason="queue_full") == 1
    assert value(r, "softswitch_calls_active", state="confirmed") == 4


def test_parse_errors_are_counted_by_sip_status() -> None:
    metrics = Metrics(process=False)
    metrics.parse_error(ParseError("bad header"))
    metrics.parse_error(VersionNotSupported("SIP/3.0"))
    metrics.parse_error(MessageTooLarge("too big"))
    metrics.parse_error(BadExtension(["foo"]))
    metrics.parse_error(ParseError("bad header"))
    name = "softswitch_sip_parse_errors_total"
    counts = {s: value(metrics.registry, name, status=s) for s in ("400", "505", "513", "420")}
    assert counts == {"400": 2, "505": 1, "513": 1, "420": 1}


def test_unknown_values_become_other() -> None:
    metrics = Metrics(process=False)
    metrics.request("FROBNICATE", "sctp")
    metrics.registration("reboot")
    assert (
        value(
            metrics.registry,
            "softswitch_sip_requests_received_total",
            method=OTHER,
            transport=OTHER,
        )
        == 1
    )
    assert value(metrics.registry, "softswitch_registrar_registrations_total", outcome=OTHER) == 1
    assert METHOD.clean("invite") == OTHER  # SIP methods are case-sensitive


def test_subscriber_data_never_reaches_a_label() -> None:
    metrics = Metrics(process=False)
    before = len(samples(metrics.registry))
    for text in SUBSCRIBER_DATA:
        exercise(metrics, text)
    after = samples(metrics.registry)
    # Series are pre-created: identifiers add none, whatever they are.
    assert len(after) == before
    labels = {v for s in after for k, v in s.labels.items() if k != "python_version"}
    assert not [v for v in labels if PHONE_LIKE.search(v)]
    assert not labels & set(SUBSCRIBER_DATA)


def test_every_labelled_metric_is_exercised_and_lands_on_other() -> None:
    # Guards the CPNI test above: a new labelled metric must be added to exercise().
    metrics = Metrics(process=False)
    exercise(metrics, SUBSCRIBER_DATA[0])
    for family in metrics.registry.collect():
        labelled = [s for s in family.samples if s.labels and not s.name.endswith("_created")]
        if not labelled or family.type not in ("counter", "gauge"):
            continue  # histogram buckets carry only "le"; build info carries versions
        moved = [s for s in labelled if s.value]
        assert moved, f"{family.name} was not exercised"
        assert any(OTHER in s.labels.values() for s in moved), family.name


def test_series_start_at_zero_so_the_first_event_shows_as_an_increase() -> None:
    metrics = Metrics(process=False)
    for location in ("validated", "none"):
        for notification in ("sent", "failed"):
            assert (
                value(
                    metrics.registry,
                    "softswitch_emergency_calls_total",
                    location_status=location,
                    notification=notification,
                )
                == 0
            )


def test_bounded_sets_cover_the_values_the_switch_produces() -> None:
    assert {str(o) for o in RegisterOutcome} <= OUTCOME.allowed
    failures = {str(s) for s in AuthStatus} - {"ok", "missing"}
    assert failures <= AUTH_REASON.allowed
    assert {str(c) for c in DestinationClass} <= CLASS.allowed
    assert "inbound" in CLASS.allowed


def test_status_class() -> None:
    statuses = (100, 180, 200, 302, 404, 503, 603)
    assert " ".join(status_class(s) for s in statuses) == "1xx 1xx 2xx 3xx 4xx 5xx 6xx"
    assert status_class(99) == OTHER
    assert status_class(700) == OTHER


def test_call_setup_histogram_uses_seconds() -> None:
    metrics = Metrics(process=False)
    metrics.call_setup(0.2)
    metrics.call_setup(4.0)
    r = metrics.registry
    assert value(r, "softswitch_call_setup_seconds_count") == 2
    assert value(r, "softswitch_call_setup_seconds_sum") == 4.2
    assert value(r, "softswitch_call_setup_seconds_bucket", le="0.25") == 1
    assert value(r, "softswitch_call_setup_seconds_bucket", le="5.0") == 2


def test_build_info_and_process_metrics() -> None:
    metrics = Metrics(version="9.9.9")
    build = [s for s in samples(metrics.registry) if s.name == "softswitch_build_info"]
    assert len(build) == 1
    assert build[0].labels["version"] == "9.9.9"
    assert re.fullmatch(r"3\.\d+\.\d+\S*", build[0].labels["python_version"])
    names = {s.name for s in samples(metrics.registry)}
    assert "process_cpu_seconds_total" in names


@given(st.text(max_size=40))
def test_clean_always_returns_an_allowed_value(text: str) -> None:
    domain = LabelDomain.of("kind", ["a", "b"])
    assert domain.clean(text) in domain.allowed
    assert domain.clean(text) == (text if text in ("a", "b", OTHER) else OTHER)
