"""Abuse detection: pure streaming detectors over call, registration and request events.

Detectors never read a clock or touch the network: every event carries its own
time, every window is bounded, and the switch (or a CDR replay) feeds them::

    engine = DetectionEngine(DetectConfig(), Profiles({7: AccountProfile(active_seats=5)}))
    for alert in engine.feed(CallAttempt(time=now, call_id=..., direction=...)):
        restrictions.apply(alert, response.actions_for(alert), now)
    decision = apply_actions(restrictions, attempt, now)  # emergency always allowed
"""

from switch.detect.actions import (
    Action,
    ActionKind,
    CallDecision,
    CallOutcome,
    GradedResponse,
    Restriction,
    RestrictionState,
    Scope,
    apply_actions,
    calls_to_end,
)
from switch.detect.alerts import Alert, AlertGate, DetectorKind, Level, Subject, SubjectKind
from switch.detect.autodial import AutodialDetector, AutodialThresholds
from switch.detect.banlist import Ban, BanList, BanPolicy
from switch.detect.blasting import BlastingDetector, BlastingThresholds
from switch.detect.engine import DetectConfig, DetectionEngine, record_events
from switch.detect.errors import DetectError, ThresholdError, UnknownRestriction
from switch.detect.events import (
    AuthFailure,
    CallAnswered,
    CallAttempt,
    CallEnded,
    Event,
    Registration,
    RequestSeen,
    SeatKind,
    events_from_record,
)
from switch.detect.fairuse import (
    DEFAULT_PLAN,
    PER_LINE_PLAN,
    REVIEW_GUIDE_PLAN,
    FairUseDetector,
    FairUsePlan,
    FairUseThresholds,
    billing_period,
)
from switch.detect.percentile import PlanUsage, above_typical, percentile, percentile_alerts
from switch.detect.profile import AccountProfile, Profiles
from switch.detect.ratelimit import RateLimitDetector, RateLimiter, RatePolicy, RateVerdict
from switch.detect.security import (
    BruteForceDetector,
    BruteForceThresholds,
    ScannerDetector,
    ScannerThresholds,
)
from switch.detect.tollfraud import TollFraudDetector, TollFraudThresholds
from switch.detect.trunking import TrunkingDetector, TrunkingThresholds
from switch.detect.wangiri import WangiriDetector, WangiriThresholds

__all__ = [
    "DEFAULT_PLAN",
    "PER_LINE_PLAN",
    "REVIEW_GUIDE_PLAN",
    "AccountProfile",
    "Action",
    "ActionKind",
    "Alert",
    "AlertGate",
    "AuthFailure",
    "AutodialDetector",
    "AutodialThresholds",
    "Ban",
    "BanList",
    "BanPolicy",
    "BlastingDetector",
    "BlastingThresholds",
    "BruteForceDetector",
    "BruteForceThresholds",
    "CallAnswered",
    "CallAttempt",
    "CallDecision",
    "CallEnded",
    "CallOutcome",
    "DetectConfig",
    "DetectError",
    "DetectionEngine",
    "DetectorKind",
    "Event",
    "FairUseDetector",
    "FairUsePlan",
    "FairUseThresholds",
    "GradedResponse",
    "Level",
    "PlanUsage",
    "Profiles",
    "RateLimitDetector",
    "RateLimiter",
    "RatePolicy",
    "RateVerdict",
    "Registration",
    "RequestSeen",
    "Restriction",
    "RestrictionState",
    "ScannerDetector",
    "ScannerThresholds",
    "Scope",
    "SeatKind",
    "Subject",
    "SubjectKind",
    "ThresholdError",
    "TollFraudDetector",
    "TollFraudThresholds",
    "TrunkingDetector",
    "TrunkingThresholds",
    "UnknownRestriction",
    "WangiriDetector",
    "WangiriThresholds",
    "above_typical",
    "apply_actions",
    "billing_period",
    "calls_to_end",
    "events_from_record",
    "percentile",
    "percentile_alerts",
    "record_events",
]
