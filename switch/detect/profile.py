"""What the detectors know about an account: its clock, its business hours, its size.

Time zones are fixed UTC offsets, passed in by the caller (who resolves the
account's zone and daylight saving for the day); detectors only do arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from switch.detect.errors import ThresholdError

DAY = 86_400.0
WEEKDAYS = frozenset(range(5))  # Monday..Friday, as datetime.weekday() counts
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday


@dataclass(frozen=True, slots=True)
class AccountProfile:
    """Per-account facts the detectors need. Defaults suit a small US office.

    ``business_start``/``business_end`` are local hours (end exclusive);
    ``night_start``/``night_end`` bound the night used by toll-fraud rules.
    """

    utc_offset_minutes: int = 0
    business_start: int = 8
    business_end: int = 18
    business_days: frozenset[int] = WEEKDAYS
    night_start: int = 22
    night_end: int = 6
    active_seats: int = 1
    toll_free_numbers: int = 0
    plan: str = "default"
    billing_day: int = 1  # fair-use periods start on this day of the month, 00:00 UTC
    did_seats: Mapping[str, int] = field(default_factory=dict)  # DID -> seats it rings

    def __post_init__(self) -> None:
        if not 0 <= self.business_start <= 24 or not 0 <= self.business_end <= 24:
            raise ThresholdError("business hours must lie within 0..24")
        if not 1 <= self.billing_day <= 28:
            raise ThresholdError("billing_day must be 1..28 so every month has it")
        if abs(self.utc_offset_minutes) > 14 * 60:
            raise ThresholdError("UTC offsets lie within -14:00..+14:00")

    def local(self, time: float) -> float:
        return time + self.utc_offset_minutes * 60.0

    def local_day(self, time: float) -> int:
        """Days since 1970-01-01 in the account's own calendar."""
        return int(self.local(time) // DAY)

    def is_business_day(self, local_day: int) -> bool:
        return (local_day + _EPOCH_WEEKDAY) % 7 in self.business_days

    def weekday(self, time: float) -> int:
        return (self.local_day(time) + _EPOCH_WEEKDAY) % 7

    def hour(self, time: float) -> float:
        return (self.local(time) % DAY) / 3600.0

    def in_business_hours(self, time: float) -> bool:
        # Inlined arithmetic: this runs for every outbound attempt.
        local = time + self.utc_offset_minutes * 60.0
        day, seconds = divmod(local, DAY)
        if (int(day) + _EPOCH_WEEKDAY) % 7 not in self.business_days:
            return False
        return self.business_start * 3600.0 <= seconds < self.business_end * 3600.0

    def is_night(self, time: float) -> bool:
        hour = self.hour(time)
        if self.night_start <= self.night_end:
            return self.night_start <= hour < self.night_end
        return hour >= self.night_start or hour < self.night_end

    def is_weekend(self, time: float) -> bool:
        return self.weekday(time) not in self.business_days

    def off_hours(self, time: float) -> bool:
        """Night or a non-business day: when an office's phones should be quiet."""
        return self.is_night(time) or self.is_weekend(time)


DEFAULT_PROFILE = AccountProfile()


class Profiles:
    """Account profiles by id with a fallback, so unknown accounts still get sane rules."""

    __slots__ = ("_by_account", "default")

    def __init__(
        self,
        by_account: Mapping[int, AccountProfile] | None = None,
        default: AccountProfile = DEFAULT_PROFILE,
    ) -> None:
        self._by_account: dict[int, AccountProfile] = dict(by_account or {})
        self.default = default

    def get(self, account_id: int | None) -> AccountProfile:
        if account_id is None:
            return self.default
        return self._by_account.get(account_id, self.default)

    def set(self, account_id: int, profile: AccountProfile) -> None:
        self._by_account[account_id] = profile
