"""The guard's alerts in the database: rows of the abuse_alerts table, and the lifts
operators recorded there (``switchctl alert lift``) for the running switch to apply."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from provisioning.detect_models import AbuseAlert
from switch.detect import Alert

log = logging.getLogger(__name__)

LIFT_QUERY_BATCH = 500  # uids per IN list: well inside every driver's parameter limit


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


def lifted_alerts(engine: Engine, uids: Iterable[str]) -> dict[str, str]:
    """Blocking: which of ``uids`` an operator lifted, as uid -> who lifted it.

    Only the alerts the switch still holds restrictions for are asked about, so the
    query stays small however many alerts the table keeps. A database not migrated
    this far has no lifts.
    """
    wanted = sorted(set(uids))
    found: dict[str, str] = {}
    try:
        with Session(engine) as session:
            for start in range(0, len(wanted), LIFT_QUERY_BATCH):
                batch = wanted[start : start + LIFT_QUERY_BATCH]
                query = select(AbuseAlert.uid, AbuseAlert.lifted_by).where(
                    AbuseAlert.uid.in_(batch), AbuseAlert.lifted_at.is_not(None)
                )
                for uid, by in session.execute(query):
                    found[uid] = by or "operator"
    except (OperationalError, ProgrammingError) as exc:
        log.warning("alert lifts not loaded: %s", exc.__class__.__name__)
        return {}
    return found
