"""Turning detector alerts into rows of the abuse_alerts table."""

from __future__ import annotations

import secrets

from provisioning.detect_models import AbuseAlert
from switch.detect import Alert


def alert_row(alert: Alert, actions: list[str], uid: str | None = None) -> AbuseAlert:
    return AbuseAlert(
        uid=uid or secrets.token_hex(16),
        detector=alert.detector.value,
        level=alert.level.value,
        subject_kind=alert.subject.kind.value,
        subject_id=str(alert.subject.id),
        account_id=alert.account_id,
        window_start=alert.window_start,
        window_end=alert.window_end,
        figures=dict(alert.figures),
        evidence=list(alert.evidence),
        explanation=alert.explanation,
        actions=actions,
    )
