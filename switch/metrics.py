"""Prometheus metrics of one switch, on a registry of its own.

Every label value is taken from a bounded, code-defined set (``LabelDomain``); anything
else becomes ``"other"``. This keeps series counts fixed and guarantees that no label
ever carries a phone number, address, name, Call-ID or user name (CPNI): callers pass
enums or protocol tokens, and a stray identifier is flattened to ``"other"``.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from itertools import product

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
)

from switch import __version__
from switch.detect.alerts import DetectorKind
from switch.policy.decision import RuleId
from switch.policy.decision import Verdict as PolicyVerdict
from switch.sip.errors import SipError

PREFIX = "softswitch"
OTHER = "other"

# Seconds from INVITE to the first final answer: SIP answers in tens of milliseconds
# locally but a ringing phone may take half a minute.
SETUP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0)


class DropReason(StrEnum):
    QUEUE_FULL = "queue_full"
    OVERSIZE = "oversize"
    BANNED = "banned"
    RATE_LIMITED = "rate_limited"
    MALFORMED_RESPONSE = "malformed_response"


class RegistrationOutcome(StrEnum):
    OK = "ok"
    REMOVED = "removed"
    QUERY = "query"
    CHALLENGED = "challenged"
    AUTH_FAILED = "auth_failed"
    FORBIDDEN = "forbidden"
    INTERVAL_TOO_BRIEF = "interval_too_brief"
    BAD_REQUEST = "bad_request"
    OUT_OF_ORDER = "out_of_order"


class AuthFailure(StrEnum):
    UNKNOWN_USER = "unknown_user"
    BAD_PASSWORD = "bad_password"
    REPLAY = "replay"
    INVALID = "invalid"
    STALE = "stale"


class CallState(StrEnum):
    EARLY = "early"
    CONFIRMED = "confirmed"


class CallClass(StrEnum):
    """Destination classes of the policy package, plus calls arriving from outside."""

    EMERGENCY = "emergency"
    EMERGENCY_TEST = "emergency_test"
    N11 = "n11"
    INTERNAL = "internal"
    LOCAL = "local"
    DOMESTIC_LONG_DISTANCE = "domestic_long_distance"
    TOLL_FREE = "toll_free"
    PREMIUM = "premium"
    OPERATOR_ASSISTED = "operator_assisted"
    INTERNATIONAL = "international"
    INTERNATIONAL_HIGH_RISK = "international_high_risk"
    EMBARGOED = "embargoed"
    FEATURE_CODE = "feature_code"
    INVALID = "invalid"
    INBOUND = "inbound"


class Disposition(StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CANCELLED = "cancelled"
    FAILED = "failed"
    REJECTED = "rejected"


# The policy engine's own rule ids and verdicts, plus the switch's E911 location rule:
# one vocabulary for CDRs, SIP Reason headers and metrics.
PolicyRule = StrEnum(  # type: ignore[misc]
    "PolicyRule",
    {rule.name: rule.value for rule in RuleId} | {"E911_LOCATION": "e911.location"},
)
Verdict = PolicyVerdict


class LocationStatus(StrEnum):
    VALIDATED = "validated"
    FALLBACK_SITE = "fallback_site"
    FALLBACK_ACCOUNT = "fallback_account"
    LAST_KNOWN = "last_known"
    NONE = "none"


class NotificationOutcome(StrEnum):
    """Kari's Law on-site notification of an emergency call."""

    SENT = "sent"
    FAILED = "failed"
    RETRIED = "retried"
    NONE = "none"


# The abuse detectors' own names, plus the E911 moved-device check of the registrar.
Detector = StrEnum(  # type: ignore[misc]
    "Detector",
    {kind.name: kind.value for kind in DetectorKind} | {"MOVED_DEVICE": "moved_device"},
)


class AlertLevel(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class DbOperation(StrEnum):
    MIGRATE = "migrate"
    LOAD_DIRECTORY = "load_directory"
    POLL_DIRECTORY = "poll_directory"
    LOAD_BINDINGS = "load_bindings"
    SAVE_BINDINGS = "save_bindings"
    WRITE_CDR = "write_cdr"


SIP_METHODS = frozenset(
    {
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "REGISTER",
        "OPTIONS",
        "PRACK",
        "SUBSCRIBE",
        "NOTIFY",
        "PUBLISH",
        "INFO",
        "REFER",
        "MESSAGE",
        "UPDATE",
    }
)
TRANSPORTS = frozenset({"udp", "tcp", "tls"})
STREAM_TRANSPORTS = frozenset({"tcp", "tls"})
STATUS_CLASSES = frozenset({"1xx", "2xx", "3xx", "4xx", "5xx", "6xx"})
# Statuses the SIP core raises for unreadable or refused messages (switch.sip.errors).
PARSE_ERROR_KINDS = frozenset({"400", "416", "420", "505", "513"})


@dataclass(frozen=True, slots=True)
class LabelDomain:
    """The values one label may take; ``clean`` maps anything else to ``"other"``."""

    name: str
    allowed: frozenset[str]

    @classmethod
    def of(cls, name: str, values: Iterable[str]) -> LabelDomain:
        return cls(name, frozenset(str(v) for v in values) | {OTHER})

    def clean(self, value: object) -> str:
        text = str(value)
        return text if text in self.allowed else OTHER


METHOD = LabelDomain.of("method", SIP_METHODS)
TRANSPORT = LabelDomain.of("transport", TRANSPORTS)
STREAM = LabelDomain.of("transport", STREAM_TRANSPORTS)
STATUS_CLASS = LabelDomain.of("status_class", STATUS_CLASSES)
PARSE_KIND = LabelDomain.of("status", PARSE_ERROR_KINDS)
DROP = LabelDomain.of("reason", DropReason)
OUTCOME = LabelDomain.of("outcome", RegistrationOutcome)
AUTH_REASON = LabelDomain.of("reason", AuthFailure)
STATE = LabelDomain.of("state", CallState)
CLASS = LabelDomain.of("class", CallClass)
DISPOSITION = LabelDomain.of("disposition", Disposition)
RULE = LabelDomain.of("rule", PolicyRule)
VERDICT = LabelDomain.of("verdict", Verdict)
LOCATION = LabelDomain.of("location_status", LocationStatus)
NOTIFICATION = LabelDomain.of("notification", NotificationOutcome)
DETECTOR = LabelDomain.of("detector", Detector)
LEVEL = LabelDomain.of("level", AlertLevel)
OPERATION = LabelDomain.of("operation", DbOperation)


def status_class(status: int) -> str:
    """``"4xx"`` for 404; ``"other"`` outside 100..699."""
    return f"{status // 100}xx" if 100 <= status <= 699 else OTHER


def _zero(metric: Counter | Gauge, domains: tuple[LabelDomain, ...]) -> None:
    # Every allowed combination exists from the start at zero, so that rate() and
    # increase() see the very first event (a series born at 1 shows no increase).
    if domains:
        for values in product(*(sorted(d.allowed) for d in domains)):
            metric.labels(*values)


def _counter(registry: CollectorRegistry, name: str, doc: str, *domains: LabelDomain) -> Counter:
    counter = Counter(name, doc, [d.name for d in domains], namespace=PREFIX, registry=registry)
    _zero(counter, domains)
    return counter


def _gauge(registry: CollectorRegistry, name: str, doc: str, *domains: LabelDomain) -> Gauge:
    gauge = Gauge(name, doc, [d.name for d in domains], namespace=PREFIX, registry=registry)
    _zero(gauge, domains)
    return gauge


class Metrics:
    """All metrics of one switch. Each instance owns a fresh registry."""

    def __init__(self, *, version: str = __version__, process: bool = True) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        if process:
            # Standard process_* names, so stock dashboards work unchanged.
            ProcessCollector(registry=r)
        self.build = Info("build", "Version of the running switch.", namespace=PREFIX, registry=r)
        self.build.info({"version": version, "python_version": platform.python_version()})
        self._sip(r)
        self._registration(r)
        self._calls(r)
        self._operations(r)

    def _sip(self, r: CollectorRegistry) -> None:
        self.requests = _counter(
            r, "sip_requests_received", "SIP requests received.", METHOD, TRANSPORT
        )
        self.responses_sent = _counter(
            r, "sip_responses_sent", "SIP responses sent.", STATUS_CLASS, METHOD
        )
        self.responses_received = _counter(
            r, "sip_responses_received", "SIP responses received.", STATUS_CLASS, METHOD
        )
        self.parse_errors = _counter(
            r, "sip_parse_errors", "Messages refused by the parser, by SIP status.", PARSE_KIND
        )
        self.drops = _counter(r, "sip_dropped_messages", "Messages dropped unanswered.", DROP)
        self.transactions = _gauge(r, "sip_transactions_active", "SIP transactions in progress.")
        self.connections = _gauge(r, "sip_connections_active", "Open TCP/TLS connections.", STREAM)

    def _registration(self, r: CollectorRegistry) -> None:
        self.bindings = _gauge(
            r, "registrar_bindings_active", "Contact bindings held by the registrar."
        )
        self.devices = _gauge(
            r, "registrar_registered_devices", "Devices with at least one live binding."
        )
        self.registrations = _counter(
            r, "registrar_registrations", "REGISTER requests by outcome.", OUTCOME
        )
        self.auth_failures = _counter(
            r, "auth_failures", "Digest authentication failures by reason.", AUTH_REASON
        )

    def _calls(self, r: CollectorRegistry) -> None:
        self.active_calls = _gauge(r, "calls_active", "Calls in progress by dialog state.", STATE)
        self.calls = _counter(
            r,
            "calls",
            "Finished calls by destination class and disposition.",
            CLASS,
            DISPOSITION,
        )
        self.setup_time = Histogram(
            "call_setup_seconds",
            "Seconds from INVITE to the first final response.",
            namespace=PREFIX,
            registry=r,
            buckets=SETUP_BUCKETS,
        )
        self.policy = _counter(
            r, "policy_decisions", "Policy decisions by rule and verdict.", RULE, VERDICT
        )
        self.emergency = _counter(
            r,
            "emergency_calls",
            "Emergency calls by location status and on-site notification outcome.",
            LOCATION,
            NOTIFICATION,
        )
        self.transfers_911 = _counter(
            r, "emergency_transfers", "Calls transferred to an emergency number."
        )

    def _operations(self, r: CollectorRegistry) -> None:
        self.detector_alerts = _counter(
            r, "detector_alerts", "Fraud and abuse detector alerts.", DETECTOR, LEVEL
        )
        self.cdr_queue = _gauge(r, "cdr_queue_depth", "Call records waiting to be written.")
        self.cdr_spool = _gauge(
            r, "cdr_spool_records", "Call records spooled to disk while the database is away."
        )
        self.cdr_write_failures = _counter(
            r, "cdr_write_failures", "Failed attempts to write call records."
        )
        self.db_errors = _counter(r, "database_errors", "Database errors by operation.", OPERATION)

    # -- SIP -------------------------------------------------------------------------------
    def request(self, method: str, transport: str) -> None:
        self.requests.labels(METHOD.clean(method), TRANSPORT.clean(transport)).inc()

    def response_sent(self, status: int, method: str) -> None:
        self.responses_sent.labels(
            STATUS_CLASS.clean(status_class(status)), METHOD.clean(method)
        ).inc()

    def response_received(self, status: int, method: str) -> None:
        self.responses_received.labels(
            STATUS_CLASS.clean(status_class(status)), METHOD.clean(method)
        ).inc()

    def parse_error(self, error: SipError | int) -> None:
        status = error.status if isinstance(error, SipError) else error
        self.parse_errors.labels(PARSE_KIND.clean(status)).inc()

    def dropped(self, reason: DropReason | str) -> None:
        self.drops.labels(DROP.clean(reason)).inc()

    def set_connections(self, transport: str, count: int) -> None:
        self.connections.labels(STREAM.clean(transport)).set(count)

    # -- registrar -------------------------------------------------------------------------
    def registration(self, outcome: RegistrationOutcome | str) -> None:
        self.registrations.labels(OUTCOME.clean(outcome)).inc()

    def auth_failure(self, reason: AuthFailure | str) -> None:
        self.auth_failures.labels(AUTH_REASON.clean(reason)).inc()

    # -- calls -----------------------------------------------------------------------------
    def set_active_calls(self, state: CallState | str, count: int) -> None:
        self.active_calls.labels(STATE.clean(state)).set(count)

    def call_ended(self, call_class: CallClass | str, disposition: Disposition | str) -> None:
        self.calls.labels(CLASS.clean(call_class), DISPOSITION.clean(disposition)).inc()

    def call_setup(self, seconds: float) -> None:
        self.setup_time.observe(max(0.0, seconds))

    def decision(self, rule: PolicyRule | str, verdict: Verdict | str) -> None:
        self.policy.labels(RULE.clean(rule), VERDICT.clean(verdict)).inc()

    def emergency_call(
        self, location: LocationStatus | str, notification: NotificationOutcome | str
    ) -> None:
        self.emergency.labels(LOCATION.clean(location), NOTIFICATION.clean(notification)).inc()

    def transfer_to_911(self) -> None:
        self.transfers_911.inc()

    # -- operations ------------------------------------------------------------------------
    def detector_alert(self, detector: Detector | str, level: AlertLevel | str) -> None:
        self.detector_alerts.labels(DETECTOR.clean(detector), LEVEL.clean(level)).inc()

    def cdr_write_failure(self) -> None:
        self.cdr_write_failures.inc()

    def db_error(self, operation: DbOperation | str) -> None:
        self.db_errors.labels(OPERATION.clean(operation)).inc()
