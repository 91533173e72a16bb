"""Alerts: what a detector found, about whom, over which window, on which evidence."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

EVIDENCE_LIMIT = 50  # call ids (or usernames) kept per alert; enough to audit, bounded


class DetectorKind(StrEnum):
    AUTODIAL = "autodial"
    TRUNKING = "trunking"
    TOLL_FRAUD = "toll_fraud"
    BLASTING = "blasting"
    BRUTE_FORCE = "brute_force"
    SCANNER = "scanner"
    RATE_LIMIT = "rate_limit"
    FAIR_USE = "fair_use"
    WANGIRI = "wangiri"


class Level(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


class SubjectKind(StrEnum):
    ACCOUNT = "account"
    EXTENSION = "extension"
    DEVICE = "device"
    SOURCE = "source"  # a source host address
    DID = "did"
    USERNAME = "username"  # a credential name under attack


@dataclass(frozen=True, slots=True)
class Subject:
    kind: SubjectKind
    id: str

    def __str__(self) -> str:
        return f"{self.kind.value} {self.id}"


# Hot-path dictionary key of a subject: (SubjectKind value, id). Plain tuples of str and
# int hash in C, where the dataclass (and its enum field) would hash in Python.
SubjectKey = tuple[str, int | str]


def subject_of(key: SubjectKey) -> Subject:
    return Subject(SubjectKind(key[0]), str(key[1]))


@dataclass(frozen=True, slots=True)
class Alert:
    """One finding. ``figures`` are the numbers that triggered it (unhashable, by design).

    ``account_id`` is set whenever the subject belongs to a known account, so
    graded actions and the operator can find the tenant without a lookup.
    """

    detector: DetectorKind
    level: Level
    subject: Subject
    window_start: float
    window_end: float
    figures: dict[str, float] = field(hash=False, compare=True)
    evidence: tuple[str, ...] = ()
    explanation: str = ""
    account_id: int | None = None


def bounded(ids: Iterable[str], limit: int = EVIDENCE_LIMIT) -> tuple[str, ...]:
    """The last ``limit`` distinct ids, oldest first (the latest are the most telling)."""
    seen: dict[str, None] = {}
    for item in ids:
        seen.pop(item, None)
        seen[item] = None
    kept = list(seen)
    return tuple(kept[-limit:])


class AlertGate:
    """De-duplication: the same detector, subject and level fire at most once per cool-down.

    A warning is also held back while a critical alert for the same subject is
    cooling down, so an escalation is not followed by a stream of lesser alerts.
    """

    __slots__ = ("_fired", "cooldown")

    def __init__(self, cooldown: float = 3600.0) -> None:
        self.cooldown = cooldown
        self._fired: OrderedDict[tuple[DetectorKind, Subject, Level], float] = OrderedDict()

    def claim(self, detector: DetectorKind, subject: Subject, level: Level, now: float) -> bool:
        """True (and the slot is taken) when an alert with this key may fire at ``now``.

        Detectors ask before building an alert, so a suppressed one costs nothing.
        """
        self._expire(now)
        key = (detector, subject, level)
        if self._recent(key, now):
            return False
        if level is Level.WARNING and self._recent((detector, subject, Level.CRITICAL), now):
            return False
        self._fired.pop(key, None)
        self._fired[key] = now
        return True

    def admit(self, alert: Alert) -> bool:
        return self.claim(alert.detector, alert.subject, alert.level, alert.window_end)

    def filter(self, alerts: Iterable[Alert]) -> list[Alert]:
        return [alert for alert in alerts if self.admit(alert)]

    def __len__(self) -> int:
        return len(self._fired)

    def _recent(self, key: tuple[DetectorKind, Subject, Level], now: float) -> bool:
        fired = self._fired.get(key)
        return fired is not None and now - fired < self.cooldown

    def _expire(self, now: float) -> None:
        # Entries are in firing order, so expired ones sit at the front.
        while self._fired:
            key, fired = next(iter(self._fired.items()))
            if now - fired < self.cooldown:
                break
            del self._fired[key]
