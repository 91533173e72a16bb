"""Brute force, scanners, bans that spare registered phones, and per-source rate limits."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from switch.detect import (
    Alert,
    AuthFailure,
    Ban,
    BanList,
    BanPolicy,
    BruteForceDetector,
    Event,
    Level,
    RateLimitDetector,
    RateLimiter,
    RatePolicy,
    RateVerdict,
    Registration,
    RequestSeen,
    ScannerDetector,
    Subject,
    SubjectKind,
    ThresholdError,
)
from tests.detect.helpers import T0

ATTACKER = "udp:203.0.113.66:5070"
OFFICE = "udp:198.51.100.7:5060"


def failures(
    n: int,
    *,
    source: str = ATTACKER,
    every: float = 1.0,
    start: float = T0,
    names: list[str] | None = None,
    ua: str = "Linphone/4.4",
) -> list[AuthFailure]:
    names = names or [str(100 + i) for i in range(n)]
    return [AuthFailure(start + i * every, source, names[i % len(names)], ua) for i in range(n)]


def feed(detector: object, events: Sequence[Event]) -> list[Alert]:
    alerts: list[Alert] = []
    for event in events:
        alerts += detector.feed(event)  # type: ignore[attr-defined]
    return alerts


def test_failures_per_source_warn_at_10_and_are_critical_at_20() -> None:
    alerts = feed(BruteForceDetector(), failures(25))
    source = Subject(SubjectKind.SOURCE, "203.0.113.66")
    assert [(a.subject, a.level) for a in alerts] == [
        (source, Level.WARNING),
        (source, Level.CRITICAL),
    ]
    assert alerts[1].figures == {"failures": 20.0, "usernames": 20.0}


def test_a_phone_with_a_stale_password_is_not_brute_force() -> None:
    slow = failures(240, source=OFFICE, every=45.0, names=["u10"])  # three hours of retries
    assert feed(BruteForceDetector(), slow) == []


def test_one_user_name_attacked_from_many_sources() -> None:
    events = [AuthFailure(T0 + i * 4.0, f"udp:203.0.113.{i % 50}:5060", "1000") for i in range(70)]
    alerts = feed(BruteForceDetector(), events)
    user = Subject(SubjectKind.USERNAME, "1000")
    assert [a.level for a in alerts if a.subject == user] == [Level.WARNING, Level.CRITICAL]
    assert all(a.subject.kind is not SubjectKind.SOURCE for a in alerts)


@pytest.mark.parametrize(
    ("ua", "scanner"),
    [
        ("friendly-scanner", True),
        ("sipvicious", True),
        ("VaxSIPUserAgent/3.1", True),
        ("pplsip", True),
        ("sundayddr", True),
        ("sipcli/v1.8", True),
        ("Yealink SIP-T46U 108.86.0.20", False),
        ("Linphone/4.4.0", False),
        (None, False),
    ],
)
def test_scanner_user_agents(ua: str | None, scanner: bool) -> None:
    alerts = ScannerDetector().feed(RequestSeen(T0, ATTACKER, "OPTIONS", "100", ua))
    assert [a.level for a in alerts] == ([Level.CRITICAL] if scanner else [])


def test_a_sweep_over_unknown_user_names_is_a_scanner() -> None:
    events = [
        RequestSeen(T0 + i, ATTACKER, "OPTIONS", str(100 + i), "Z 3.15", False) for i in range(30)
    ]
    alerts = feed(ScannerDetector(), events)
    assert [a.level for a in alerts] == [Level.WARNING, Level.CRITICAL]
    assert alerts[1].figures["distinct_usernames"] == 25


def test_an_office_nat_of_rebooting_phones_is_not_a_sweep() -> None:
    events: list[Event] = []
    for i in range(100):  # a hundred phones behind one address register within a minute
        events.append(RequestSeen(T0 + i * 0.5, OFFICE, "REGISTER", f"u{i}", "Yealink", True))
        events.append(Registration(T0 + i * 0.5 + 0.1, i, f"u{i}", OFFICE, "Yealink"))
    assert feed(ScannerDetector(), events) == []


def always(_host: str, _user: str) -> bool:
    return False


def record(
    bans: BanList, events: list[AuthFailure], check: Callable[[str, str], bool] = always
) -> list[Ban]:
    made = []
    for e in events:
        ban = bans.record_failure(
            e.source_address, e.username, e.time, has_valid_registration=check
        )
        if ban is not None:
            made.append(ban)
    return made


def test_twenty_failures_in_a_minute_ban_the_source_for_an_hour() -> None:
    bans = BanList()
    assert record(bans, failures(19)) == []
    assert not bans.is_banned(ATTACKER, T0 + 19)
    made = record(bans, failures(1, start=T0 + 19, names=["x"]))
    assert len(made) == 1
    assert bans.is_banned("203.0.113.66", T0 + 20)  # any port or form of the address
    assert bans.is_banned("udp:203.0.113.66:9999", T0 + 3600)
    assert not bans.is_banned(ATTACKER, T0 + 19 + 3600)  # expired


def test_failures_spread_over_more_than_the_window_do_not_ban() -> None:
    bans = BanList()
    assert record(bans, failures(100, every=4.0)) == []


def test_a_source_is_never_banned_for_the_user_name_it_is_registered_with() -> None:
    registered = {("198.51.100.7", "u10")}

    def valid(host: str, user: str) -> bool:
        return (host, user) in registered

    bans = BanList()
    # Thirty fast failures, all for the registered user: a second phone with an old password.
    assert record(bans, failures(30, source=OFFICE, names=["u10"]), valid) == []
    assert not bans.is_banned(OFFICE, T0 + 30)
    # Failures for other names from the same address still count.
    made = record(bans, failures(20, source=OFFICE, start=T0 + 40, names=["admin", "100"]), valid)
    assert len(made) == 1 and bans.is_banned(OFFICE, T0 + 60)


def test_a_registration_made_meanwhile_protects_its_failures() -> None:
    registered: set[tuple[str, str]] = set()

    def valid(host: str, user: str) -> bool:
        return (host, user) in registered

    bans = BanList()
    record(bans, failures(15, source=OFFICE, names=["u10"]), valid)
    registered.add(("198.51.100.7", "u10"))  # the phone got its new password
    assert record(bans, failures(5, source=OFFICE, start=T0 + 16, names=["u10"]), valid) == []
    assert not bans.is_banned(OFFICE, T0 + 30)


def test_manual_ban_unban_and_expiry() -> None:
    bans = BanList(BanPolicy(failures=3, window=10.0, ban_seconds=60.0))
    forever = bans.ban("203.0.113.9", T0, seconds=None, reason="operator")
    assert forever.until is None and bans.is_banned("203.0.113.9", T0 + 10**6)
    assert bans.unban("udp:203.0.113.9:5060") == forever
    assert not bans.is_banned("203.0.113.9", T0)
    assert bans.unban("203.0.113.9") is None
    record(bans, failures(3))
    assert [b.source for b in bans.active(T0 + 5)] == ["203.0.113.66"]
    assert [b.source for b in bans.expire(T0 + 100)] == ["203.0.113.66"]
    assert bans.active(T0 + 100) == []
    with pytest.raises(ThresholdError):
        BanPolicy(failures=0)


def test_rate_limiter_limits_a_flood_for_a_while() -> None:
    limiter = RateLimiter(RatePolicy(requests=10, interval=2.0, block_seconds=30.0))
    verdicts = [limiter.hit(ATTACKER, T0 + i * 0.1) for i in range(12)]
    assert verdicts[:10] == [RateVerdict.ALLOW] * 10
    assert verdicts[10] is RateVerdict.LIMITED
    assert verdicts[11] is RateVerdict.STILL_LIMITED
    assert limiter.retry_after(ATTACKER, T0 + 1.0) == 30
    assert limiter.is_limited(ATTACKER, T0 + 30.0)
    assert limiter.hit(ATTACKER, T0 + 31.1) is RateVerdict.ALLOW


def test_rate_limiter_allows_steady_traffic_and_exempt_hosts() -> None:
    limiter = RateLimiter(RatePolicy(requests=10, interval=2.0, exempt=frozenset({"192.0.2.1"})))
    assert all(limiter.hit(ATTACKER, T0 + i * 0.25) is RateVerdict.ALLOW for i in range(100))
    assert all(
        limiter.hit("udp:192.0.2.1:5060", T0 + i * 0.01) is RateVerdict.ALLOW for i in range(100)
    )


def test_rate_limit_alerts_escalate_when_the_flood_comes_back() -> None:
    detector = RateLimitDetector(
        RatePolicy(requests=10, interval=2.0, block_seconds=5.0, cooldown=1.0)
    )
    events = [RequestSeen(T0 + i * 0.05, ATTACKER, "REGISTER") for i in range(400)]
    alerts = feed(detector, events)
    assert [a.level for a in alerts][:3] == [Level.WARNING, Level.WARNING, Level.CRITICAL]
