"""Operations on the abuse alerts the switch stored: find, list, acknowledge, lift, explain.

The switch inserts the rows (``switch.core.guard_store``). Acknowledging records who
looked at an alert; lifting also bumps the provisioning version, and the running
switch then lifts the restrictions (or the ban) that came from that alert. Both are
audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioning.audit import Actor, AuditAction, Entity, record
from provisioning.detect_models import AbuseAlert
from provisioning.errors import NotFound, ProvisioningError
from provisioning.models import Account
from switch.config import DetectSettings
from switch.detect import DetectConfig, DetectorKind

DEFAULT_LIMIT = 50
# How the switch words the actions that put something in force (switch/core/guard.py);
# an alert with none of these has nothing to lift in the switch.
LIFTABLE_PREFIXES = ("restriction ", "banned source ")


class AlertAlreadyHandled(ProvisioningError):
    """The alert was already acknowledged (or lifted); the message says by whom."""


@dataclass(frozen=True, slots=True)
class AlertFilter:
    account_id: int | None = None
    detector: DetectorKind | None = None
    open_only: bool = False  # neither acknowledged nor lifted
    limit: int = DEFAULT_LIMIT


def find_alert(session: Session, reference: str) -> AbuseAlert:
    """By numeric id, or by the switch's 32-hex uid."""
    alert: AbuseAlert | None
    if reference.isdigit():
        alert = session.get(AbuseAlert, int(reference))
    else:
        alert = session.scalar(select(AbuseAlert).where(AbuseAlert.uid == reference.lower()))
    if alert is None:
        raise NotFound(f"unknown alert {reference!r}")
    return alert


def list_alerts(session: Session, wanted: AlertFilter) -> list[AbuseAlert]:
    """Newest first."""
    query = select(AbuseAlert).order_by(AbuseAlert.id.desc()).limit(wanted.limit)
    if wanted.account_id is not None:
        query = query.where(AbuseAlert.account_id == wanted.account_id)
    if wanted.detector is not None:
        query = query.where(AbuseAlert.detector == wanted.detector.value)
    if wanted.open_only:
        query = query.where(AbuseAlert.acknowledged_at.is_(None), AbuseAlert.lifted_at.is_(None))
    return list(session.scalars(query))


def acknowledge(session: Session, actor: Actor, alert: AbuseAlert, now: datetime) -> None:
    if alert.acknowledged_at is not None:
        raise AlertAlreadyHandled(
            f"alert {alert.id} was already acknowledged by {alert.acknowledged_by} "
            f"at {_iso(alert.acknowledged_at)}"
        )
    alert.acknowledged_at = now
    alert.acknowledged_by = actor.name
    details = {
        "acknowledged_at": {"old": None, "new": _iso(now)},
        "acknowledged_by": {"old": None, "new": actor.name},
        **_identity(alert),
    }
    record(session, actor, AuditAction.UPDATE, Entity.ALERT, alert.id, details)


def lift(session: Session, actor: Actor, alert: AbuseAlert, now: datetime) -> None:
    """Mark the alert lifted; the version bump makes the switch lift what it caused."""
    if alert.lifted_at is not None:
        raise AlertAlreadyHandled(
            f"alert {alert.id} was already lifted by {alert.lifted_by} at {_iso(alert.lifted_at)}"
        )
    alert.lifted_at = now
    alert.lifted_by = actor.name
    details = {
        "lifted_at": {"old": None, "new": _iso(now)},
        "lifted_by": {"old": None, "new": actor.name},
        **_identity(alert),
        "actions": list(alert.actions),
    }
    record(session, actor, AuditAction.UPDATE, Entity.ALERT, alert.id, details)


def restricts(alert: AbuseAlert) -> bool:
    """Whether the alert put anything in force in the switch (a lift has work to do)."""
    return any(action.startswith(LIFTABLE_PREFIXES) for action in alert.actions)


def is_open(alert: AbuseAlert) -> bool:
    return alert.acknowledged_at is None and alert.lifted_at is None


# -- views -------------------------------------------------------------------------------


def list_view(alert: AbuseAlert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "at": _iso(alert.at),
        "detector": alert.detector,
        "level": alert.level,
        "subject": f"{alert.subject_kind} {alert.subject_id}",
        "account_id": alert.account_id,
        "state": _state(alert),
    }


def alert_view(alert: AbuseAlert, account_name: str | None = None) -> dict[str, Any]:
    """Everything, with the evidence: window, figures, call ids (or user names)."""
    return {
        "id": alert.id,
        "uid": alert.uid,
        "at": _iso(alert.at),
        "detector": alert.detector,
        "level": alert.level,
        "subject_kind": alert.subject_kind,
        "subject_id": alert.subject_id,
        "account_id": alert.account_id,
        "account": account_name,
        "window_start": epoch_iso(alert.window_start),
        "window_end": epoch_iso(alert.window_end),
        "window_seconds": round(alert.window_end - alert.window_start, 3),
        "figures": dict(alert.figures),
        "evidence": list(alert.evidence),
        "explanation": alert.explanation,
        "actions": list(alert.actions),
        "state": _state(alert),
        "acknowledged_at": _iso(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by,
        "lifted_at": _iso(alert.lifted_at),
        "lifted_by": alert.lifted_by,
    }


def account_name(session: Session, alert: AbuseAlert) -> str | None:
    if alert.account_id is None:
        return None
    account = session.get(Account, alert.account_id)
    return account.name if account is not None else None


def epoch_iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="seconds")


def _state(alert: AbuseAlert) -> str:
    if alert.lifted_at is not None:
        return "lifted"
    return "acknowledged" if alert.acknowledged_at is not None else "open"


def _identity(alert: AbuseAlert) -> dict[str, Any]:
    return {
        "uid": alert.uid,
        "detector": alert.detector,
        "subject": f"{alert.subject_kind} {alert.subject_id}",
    }


# -- explanation -------------------------------------------------------------------------


def explain(
    alert: AbuseAlert, settings: DetectSettings, config: DetectConfig, account: str | None
) -> str:
    """A paragraph: what was seen, the thresholds it was measured against, what was done."""
    owner = f" of account {account} (id {alert.account_id})" if account else ""
    if not account and alert.account_id is not None:
        owner = f" of account id {alert.account_id}"
    seconds = alert.window_end - alert.window_start
    parts = [
        f"Alert {alert.id} ({alert.detector}, {alert.level}) was raised at {_iso(alert.at)} "
        f"about {alert.subject_kind} {alert.subject_id}{owner}.",
        f"Seen between {epoch_iso(alert.window_start)} and {epoch_iso(alert.window_end)} "
        f"({seconds:.0f} s): {alert.explanation.rstrip('.')}.",
    ]
    if alert.figures:
        figures = ", ".join(f"{k.replace('_', ' ')} {_number(v)}" for k, v in alert.figures.items())
        parts.append(f"Figures: {figures}.")
    if alert.evidence:
        parts.append(f"Evidence: {len(alert.evidence)} item(s), e.g. {alert.evidence[-1]}.")
    thresholds = _THRESHOLDS.get(alert.detector)
    if thresholds is not None:
        parts.append("Thresholds: " + thresholds(config, settings))
    parts.append(_actions_sentence(alert))
    return " ".join(parts)


def _actions_sentence(alert: AbuseAlert) -> str:
    if alert.actions:
        text = "Actions taken: " + "; ".join(alert.actions) + "."
    else:
        text = "Actions taken: recorded and counted only (nothing was restricted)."
    if alert.acknowledged_at is not None:
        text += f" Acknowledged by {alert.acknowledged_by} at {_iso(alert.acknowledged_at)}."
    if alert.lifted_at is not None:
        text += f" Lifted by {alert.lifted_by} at {_iso(alert.lifted_at)}."
    elif restricts(alert):
        text += f" `switchctl alert lift {alert.id}` lifts it in the running switch."
    return text


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _autodial(c: DetectConfig, s: DetectSettings) -> str:
    t = c.autodial
    return (
        f"outbound dialling is scored over {t.window / 60:g} min once {t.min_attempts} "
        f"attempts are in the window; {t.rate_per_minute[0]:g} and {t.rate_per_minute[1]:g} "
        f"attempts a minute, {t.short_share[0]:.0%} and {t.short_share[1]:.0%} of calls under "
        f"{t.short_call_seconds:g} s, an answer ratio at or under {t.answer_ratio[0]:.0%} and "
        f"{t.answer_ratio[1]:.0%}, gaps whose variation coefficient is at or under "
        f"{t.gap_cv[0]:g} and {t.gap_cv[1]:g}, and {t.sequential_share[0]:.0%} and "
        f"{t.sequential_share[1]:.0%} of numbers next to the previous one score 1 and 2 "
        f"points; {t.seat_concurrency} calls at once on a seat score 2, dialler durations and "
        f"dialling outside business hours 1 each, conversational durations take 2 away; "
        f"warning at {t.warning_score} points, critical at {t.critical_score}."
    )


def _trunking(c: DetectConfig, s: DetectSettings) -> str:
    t = c.trunking
    action = "refused (403)" if s.seat_limit_action == "refuse" else "allowed and flagged"
    return (
        f"a device may have {s.max_calls_per_seat} calls at once (detect.max_calls_per_seat); "
        f"one more is {action}. The detector also counts {t.seat_critical} calls at once or "
        f"{t.episodes_critical} episodes above {t.seat_limit} in {t.episode_window / 3600:g} h "
        f"as critical, {t.identities_warning}/{t.identities_critical} caller names or numbers "
        f"through one seat and {t.bindings_warning}/{t.bindings_critical} live bindings behind "
        f"one credential as warning/critical, and a PBX User-Agent as "
        f"{t.pbx_user_agent_level.value}."
    )


def _toll_fraud(c: DetectConfig, s: DetectSettings) -> str:
    t = c.toll_fraud
    return (
        f"international, high-risk and premium attempts are compared with the account's "
        f"own daily baseline (at least {t.baseline_floor:g}); above {t.warning_factor:g}x is "
        f"a warning, above {t.critical_factor:g}x (or {t.warning_factor:g}x in a burst at "
        f"night, at a weekend or from a credential on a new network) critical; "
        f"{t.concurrent_warning}/{t.concurrent_critical} such calls at once on one credential; "
        f"nothing counts before {t.min_sample} attempts."
    )


def _wangiri(c: DetectConfig, s: DetectSettings) -> str:
    t = c.wangiri
    return (
        f"{t.wave_size} short inbound calls (ringing under {t.short_ring_seconds:g} s) from "
        f"outside country code(s) {', '.join(t.home_country_codes)} within "
        f"{t.wave_window / 60:g} min make a wave (warning); a callback to a number of the "
        f"wave within {t.callback_window / 3600:g} h is critical."
    )


def _blasting(c: DetectConfig, s: DetectSettings) -> str:
    t = c.blasting
    return (
        f"{t.warning}/{t.critical} outbound calls of one account live at once or started "
        f"within {t.near_window:g} s are a warning/critical."
    )


def _brute_force(c: DetectConfig, s: DetectSettings) -> str:
    t = c.brute_force
    return (
        f"{t.source_warning}/{t.source_critical} failed authentications from one source in "
        f"{t.source_window:g} s, or {t.username_warning}/{t.username_critical} for one user "
        f"name in {t.username_window / 60:g} min, are a warning/critical; {s.ban_failures} "
        f"failures from one source in {s.ban_window:g} s ban it for {s.ban_seconds:g} s "
        f"(detect.ban_*), unless it holds a valid registration for that user name."
    )


def _scanner(c: DetectConfig, s: DetectSettings) -> str:
    t = c.scanner
    return (
        f"a scanner User-Agent is critical at once; {t.sweep_warning}/{t.sweep_critical} "
        f"unknown or failing user names from one source in {t.sweep_window / 60:g} min are "
        f"a sweep (warning/critical)."
    )


def _rate_limit(c: DetectConfig, s: DetectSettings) -> str:
    # The switch builds this detector from the enforced limit (the detect settings).
    t = c.rate_limit
    return (
        f"more than {s.rate_requests} requests from one source in {s.rate_interval:g} s drop "
        f"its messages for {s.rate_block_seconds:g} s (detect.rate_*) and raise a warning; "
        f"{t.repeat_critical} times in {t.repeat_window / 3600:g} h is critical."
    )


def _fair_use(c: DetectConfig, s: DetectSettings) -> str:
    plan = c.fair_use.default_plan
    return (
        f"per account and billing month, domestic and long-distance minutes against "
        f"{plan.pool_minutes:g} x {plan.pool_basis.value.replace('_', ' ')} and inbound "
        f"toll-free minutes against {plan.toll_free_minutes:g} x "
        f"{plan.toll_free_basis.value.replace('_', ' ')}; a warning at "
        f"{plan.warning_share:.0%} of an allowance."
    )


_THRESHOLDS: dict[str, Callable[[DetectConfig, DetectSettings], str]] = {
    DetectorKind.AUTODIAL.value: _autodial,
    DetectorKind.TRUNKING.value: _trunking,
    DetectorKind.TOLL_FRAUD.value: _toll_fraud,
    DetectorKind.WANGIRI.value: _wangiri,
    DetectorKind.BLASTING.value: _blasting,
    DetectorKind.BRUTE_FORCE.value: _brute_force,
    DetectorKind.SCANNER.value: _scanner,
    DetectorKind.RATE_LIMIT.value: _rate_limit,
    DetectorKind.FAIR_USE.value: _fair_use,
}
