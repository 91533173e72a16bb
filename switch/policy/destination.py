"""What a dialled string turned out to be: the project's own classes over phonenumbers' types."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DestinationClass(StrEnum):
    """Call class used by class-of-service, rating and call records."""

    EMERGENCY = "emergency"
    EMERGENCY_TEST = "emergency_test"  # 933: address read-back test, routed like 911
    N11 = "n11"  # the service is in Destination.n11
    INTERNAL = "internal"  # an extension of the caller's account
    LOCAL = "local"
    DOMESTIC_LONG_DISTANCE = "domestic_long_distance"
    TOLL_FREE = "toll_free"
    PREMIUM = "premium"
    OPERATOR_ASSISTED = "operator_assisted"
    INTERNATIONAL = "international"
    INTERNATIONAL_HIGH_RISK = "international_high_risk"
    EMBARGOED = "embargoed"
    FEATURE_CODE = "feature_code"
    INVALID = "invalid"  # the cause is in Destination.invalid_reason


class N11Service(StrEnum):
    """NANP three-digit service codes other than 911 (N11-01, N11-02)."""

    COMMUNITY_INFO = "211"
    MUNICIPAL = "311"
    DIRECTORY_ASSISTANCE = "411"
    TRAFFIC = "511"
    REPAIR = "611"
    RELAY = "711"
    UTILITY_LOCATE = "811"
    CRISIS_LINE = "988"


class LineType(StrEnum):
    """phonenumbers' number types under the project's names (rating keys on them, INTL-03)."""

    FIXED_LINE = "fixed_line"
    MOBILE = "mobile"
    FIXED_LINE_OR_MOBILE = "fixed_line_or_mobile"
    TOLL_FREE = "toll_free"
    PREMIUM_RATE = "premium_rate"
    SHARED_COST = "shared_cost"
    VOIP = "voip"
    PERSONAL_NUMBER = "personal_number"
    PAGER = "pager"
    UAN = "uan"
    VOICEMAIL = "voicemail"
    UNKNOWN = "unknown"


class InvalidReason(StrEnum):
    """Why a dialled string is not a callable destination."""

    EMPTY = "empty"
    BAD_CHARACTERS = "bad_characters"
    TOO_SHORT = "too_short"  # more digits could still make it a number: 484
    NO_HOME_AREA_CODE = "no_home_area_code"  # 7-digit dialling without an area code set
    TOO_LONG = "too_long"
    NOT_A_NUMBER = "not_a_number"  # right length but unassigned or malformed


# Dialling incomplete numbers is answered 484 Address Incomplete, the rest 404.
INCOMPLETE_REASONS = frozenset({InvalidReason.TOO_SHORT, InvalidReason.NO_HOME_AREA_CODE})


@dataclass(frozen=True, slots=True)
class Destination:
    """A classified dial string.

    ``digits`` is the keyed string once URI syntax, visual separators and the
    outside-line prefix are removed (a leading ``+``, ``*`` or ``#`` is kept); for
    emergency and N11 forms such as ``9-911`` or ``+1 911`` it is the short code
    itself. ``e164`` is set whenever the destination is a telephone number.
    """

    dialled: str
    digits: str
    dest_class: DestinationClass
    e164: str | None = None
    region: str | None = None  # ISO 3166-1 alpha-2, or "001" for non-geographic codes
    line_type: LineType | None = None
    n11: N11Service | None = None
    invalid_reason: InvalidReason | None = None
    feature_code: str | None = None
    via_outside_line_prefix: bool = False
    international: bool = False  # leaves the domestic set (also for premium or operator calls)
    premium: bool = False
    high_risk: bool = False
    high_risk_label: str | None = None  # list entry that matched, for records and alerts
    embargo_label: str | None = None

    @property
    def is_emergency(self) -> bool:
        """Emergency and its test number are routed whatever else is true (E911-13)."""
        return self.dest_class in _EMERGENCY_CLASSES


_EMERGENCY_CLASSES = frozenset({DestinationClass.EMERGENCY, DestinationClass.EMERGENCY_TEST})
