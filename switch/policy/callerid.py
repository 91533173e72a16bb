"""Caller-ID ownership: the network caller ID must be a number the account may use.

Outbound calls carry a number the account owns (a DID assigned or ported in) or
one it has verified (ABUSE-05). Anything else is replaced by the account's main
number or refused, as the account chooses; a call that ends up with no valid
caller ID at all is refused, because telemarketing rules require one (TCPA-02).
Both the presented and the sent identity are kept for the call record.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from enum import StrEnum

from switch.policy.decision import Decision, RuleId
from switch.policy.normalize import compact, is_digits, user_part
from switch.policy.numbering import facts_for_e164, facts_for_national


class CallerIdMode(StrEnum):
    REPLACE = "replace"  # send the main number instead of a foreign one
    REJECT = "reject"  # refuse the call


class CallerIdStatus(StrEnum):
    OWNED = "owned"
    VERIFIED = "verified"
    REPLACED = "replaced"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class CallerIdOutcome:
    """``sent`` is the E.164 number to assert (P-Asserted-Identity), None when refused."""

    presented: str | None
    presented_e164: str | None  # the presented value as E.164, when it is a number
    sent: str | None
    status: CallerIdStatus
    decision: Decision  # a refusal when status is REJECTED

    @property
    def rejected(self) -> bool:
        return self.status is CallerIdStatus.REJECTED


_NOT_OWNED = Decision.deny(
    RuleId.CALLER_ID_NOT_OWNED, 403, "Caller ID Not Permitted", frozenset({"caller_id"})
)
_MISSING = Decision.deny(
    RuleId.CALLER_ID_MISSING, 403, "Caller ID Required", frozenset({"caller_id"})
)
_OWNED = Decision.allow(RuleId.CALLER_ID_OWNED)
_REPLACED = Decision.flagged(
    RuleId.CALLER_ID_REPLACED, "Caller ID Replaced", frozenset({"caller_id_replaced"})
)


def to_e164(number: str | None, region: str = "US") -> str | None:
    """A presented number (digits, E.164, SIP user part) as E.164, if it is a valid number."""
    if not number:
        return None
    text = compact(user_part(number))
    if text.startswith("+"):
        facts = facts_for_e164(text) if is_digits(text[1:]) else None
    else:
        facts = facts_for_national(text, region) if is_digits(text) else None
    return facts.e164 if facts is not None and facts.valid else None


def check_caller_id(
    presented: str | None,
    *,
    owned: Set[str],
    verified: Set[str] = frozenset(),
    main_number: str | None = None,
    mode: CallerIdMode = CallerIdMode.REPLACE,
    region: str = "US",
) -> CallerIdOutcome:
    """Decide which caller ID to send. ``owned`` and ``verified`` hold E.164 numbers.

    ``region`` reads presented national numbers (``2125551234``). With REPLACE,
    a missing or foreign caller ID becomes the main number, which must itself be
    owned or verified; with REJECT, or without a usable main number, the call is
    refused: 403 "Caller ID Not Permitted" for a foreign number, 403 "Caller ID
    Required" when none was presented.
    """
    e164 = to_e164(presented, region)
    if e164 is not None and e164 in owned:
        return CallerIdOutcome(presented, e164, e164, CallerIdStatus.OWNED, _OWNED)
    if e164 is not None and e164 in verified:
        return CallerIdOutcome(presented, e164, e164, CallerIdStatus.VERIFIED, _OWNED)
    refusal = _NOT_OWNED if e164 is not None else _MISSING
    if mode is CallerIdMode.REPLACE:
        main = to_e164(main_number, region)
        if main is not None and (main in owned or main in verified):
            return CallerIdOutcome(presented, e164, main, CallerIdStatus.REPLACED, _REPLACED)
    return CallerIdOutcome(presented, e164, None, CallerIdStatus.REJECTED, refusal)
