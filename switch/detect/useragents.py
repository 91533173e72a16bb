"""User-Agent fingerprints: PBX software (trunking) and SIP scanners (ABUSE-02, ABUSE-12)."""

from __future__ import annotations

import re
from collections.abc import Iterable

# PBX and key-system software. The phones of the same vendors register as e.g.
# "Grandstream GXP2170" or "3CXPhone", which do not match.
PBX_USER_AGENTS: tuple[str, ...] = (
    r"asterisk",
    r"freepbx|\bfpbx",
    r"3cx\s*phone\s*system",
    r"3cx(?!\s*phone)",
    r"freeswitch",
    r"elastix",
    r"issabel",
    r"yeastar",
    r"grandstream\s*ucm|\bucm6\d{3}",
    r"panasonic[\s-]*kx-?n[st]|\bkx-?ns\d",
    r"fusionpbx",
    r"wazo",
    r"vitalpbx",
    r"trixbox",
    r"\bpbx\b",
)

# SIP scanning and password-cracking tools.
SCANNER_USER_AGENTS: tuple[str, ...] = (
    r"friendly-scanner",
    r"sipvicious",
    r"sipcli",
    r"vaxsipuseragent",
    r"pplsip",
    r"sundayddr",
    r"\biwar\b",
    r"sivus",
    r"\bgulp\b",
    r"sip-scan",
    r"\bsmap\b",
    r"sipsak",
    r"svcrack|svwar|svmap",
    r"sipscan",
    r"sippts",
)


class UserAgentMatcher:
    """Case-insensitive search for any of ``patterns``; answers are cached per string
    because a switch sees the same few User-Agents over and over."""

    __slots__ = ("_cache", "_limit", "_regex")

    def __init__(self, patterns: Iterable[str], cache_limit: int = 4096) -> None:
        self._regex = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
        self._cache: dict[str, bool] = {}
        self._limit = cache_limit

    def __call__(self, user_agent: str | None) -> bool:
        if not user_agent:
            return False
        hit = self._cache.get(user_agent)
        if hit is None:
            hit = self._regex.search(user_agent) is not None
            if len(self._cache) >= self._limit:
                self._cache.clear()
            self._cache[user_agent] = hit
        return hit
