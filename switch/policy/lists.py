"""High-risk and embargoed destination lists: loaded once, matched in memory.

Both files share one CSV layout (``#`` starts a comment line)::

    country_code,national_prefix,area,label
    252,,SO,Somalia
    7,978,UA-43,Crimea (Russian-assigned mobile range)

A row matches every E.164 number that starts with ``country_code`` followed by
``national_prefix``. A row with an empty prefix for a country code that several
regions share (+1, +7, +44, ...) matches by region instead, so ``7,,KZ`` does
not catch Russia. ``area`` is an ISO 3166-1 country, an ISO 3166-2 subdivision
or ``001`` for non-geographic codes; ``label`` goes into call records.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import phonenumbers

from switch.policy.errors import PolicyDataError

HIGH_RISK_FILE = "high_risk.csv"
EMBARGOED_FILE = "embargoed.csv"
_COLUMNS = ("country_code", "national_prefix", "area", "label")
_HEADER_FAULT = f"header must be {','.join(_COLUMNS)}"


@dataclass(frozen=True, slots=True)
class ListEntry:
    prefix: str  # E.164 digits without "+"
    area: str
    label: str


class PrefixTable:
    """Longest-prefix match over E.164 digits, plus whole regions of shared country codes."""

    __slots__ = ("_by_prefix", "_by_region", "_lengths")

    def __init__(self, entries: Iterable[ListEntry], regions: Iterable[ListEntry] = ()) -> None:
        by_prefix = {entry.prefix: entry for entry in entries}
        self._by_prefix: Mapping[str, ListEntry] = MappingProxyType(by_prefix)
        self._by_region: Mapping[str, ListEntry] = MappingProxyType(
            {entry.area: entry for entry in regions}
        )
        self._lengths = tuple(sorted({len(prefix) for prefix in by_prefix}, reverse=True))

    def match(self, e164_digits: str, region: str | None = None) -> ListEntry | None:
        """The longest entry that covers the number, or the entry for its region."""
        by_prefix = self._by_prefix
        for length in self._lengths:
            entry = by_prefix.get(e164_digits[:length])
            if entry is not None:
                return entry
        if region is not None and self._by_region:
            return self._by_region.get(region)
        return None

    def __len__(self) -> int:
        return len(self._by_prefix) + len(self._by_region)

    @property
    def entries(self) -> tuple[ListEntry, ...]:
        return (*self._by_prefix.values(), *self._by_region.values())


@dataclass(frozen=True, slots=True)
class PolicyLists:
    high_risk: PrefixTable
    embargoed: PrefixTable


def parse_table(text: str, *, source: str) -> PrefixTable:
    """Parse one list file's text; ``source`` names it in errors."""
    prefixed: dict[str, ListEntry] = {}
    regional: dict[str, ListEntry] = {}
    header_seen = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        row = next(csv.reader([line]))
        if not header_seen:
            if tuple(cell.strip() for cell in row) != _COLUMNS:
                raise PolicyDataError(_HEADER_FAULT, source=source, line=number)
            header_seen = True
            continue
        entry, shared = _entry(row, source=source, line=number)
        target = regional if shared else prefixed
        key = entry.area if shared else entry.prefix
        if key in target:
            raise PolicyDataError(f"duplicate entry {key!r}", source=source, line=number)
        target[key] = entry
    if not header_seen:
        raise PolicyDataError(_HEADER_FAULT, source=source)
    return PrefixTable(prefixed.values(), regional.values())


def _entry(row: list[str], *, source: str, line: int) -> tuple[ListEntry, bool]:
    """One row as an entry, and whether it matches by region (shared code, no prefix)."""
    if len(row) != len(_COLUMNS):
        raise PolicyDataError(f"expected {len(_COLUMNS)} columns", source=source, line=line)
    code, prefix, area, label = (cell.strip() for cell in row)
    if not (code.isascii() and code.isdigit()) or (prefix and not prefix.isdigit()):
        raise PolicyDataError("country code and prefix must be digits", source=source, line=line)
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(code))
    if not regions:
        raise PolicyDataError(f"unknown country code {code}", source=source, line=line)
    if not area:
        raise PolicyDataError("area is required", source=source, line=line)
    shared = not prefix and len(regions) > 1
    if shared and area not in regions:
        raise PolicyDataError(
            f"+{code} is shared: name one of its regions, not {area!r}", source=source, line=line
        )
    return ListEntry(prefix=code + prefix, area=area, label=label or area), shared


def load_table(path: str | Path | None, default_file: str) -> PrefixTable:
    """Read an operator's file, or the one shipped in switch/policy/data when ``path`` is None."""
    if path is None:
        resource = resources.files("switch.policy").joinpath("data").joinpath(default_file)
        return parse_table(resource.read_text(encoding="utf-8"), source=default_file)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyDataError(f"cannot read: {exc}", source=str(path)) from exc
    return parse_table(text, source=str(path))


def load_policy_lists(
    high_risk: str | Path | None = None, embargoed: str | Path | None = None
) -> PolicyLists:
    """Load both lists once at start-up (or on reload); matching never reads files."""
    return PolicyLists(
        high_risk=load_table(high_risk, HIGH_RISK_FILE),
        embargoed=load_table(embargoed, EMBARGOED_FILE),
    )


@cache
def default_lists() -> PolicyLists:
    """The lists shipped with the project, loaded on first use."""
    return load_policy_lists()
