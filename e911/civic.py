"""The civic address model: the RFC 5139 elements a registered E911 address uses.

Attributes are the lower-case element names (``hno`` is ``HNO``); the plain-dict
form used by the database JSON column and the CLI keys on the element names
themselves, so it reads the same as the PIDF-LO the switch sends.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from e911.errors import AddressError

# Every RFC 5139 element, in the order its schema lists them (serialisation order).
ELEMENT_ORDER: Final[tuple[str, ...]] = (
    "country", "A1", "A2", "A3", "A4", "A5", "A6", "PRM", "PRD", "RD", "STS", "POD",
    "POM", "RDSEC", "RDBR", "RDSUBBR", "HNO", "HNS", "LMK", "LOC", "FLR", "NAM", "PC",
    "BLD", "UNIT", "ROOM", "SEAT", "PLC", "PCN", "POBOX", "ADDCODE",
)  # fmt: skip

# The elements modelled as attributes; the rest travel in ``CivicAddress.other``.
MODELLED: Final[tuple[str, ...]] = (
    "country", "A1", "A2", "A3", "PRD", "RD", "STS", "POD", "HNO", "HNS", "LOC", "FLR",
    "NAM", "PC", "BLD", "UNIT", "ROOM", "SEAT", "PLC",
)  # fmt: skip

DEFAULT_LANG: Final = "en"
_LANG_KEY: Final = "lang"
_BY_UPPER: Final[dict[str, str]] = {name.upper(): name for name in ELEMENT_ORDER}
_ORDER: Final[dict[str, int]] = {name: i for i, name in enumerate(ELEMENT_ORDER)}


def canonical_element(name: str) -> str:
    """RFC 5139 spelling of an element name given in any case; AddressError if unknown."""
    try:
        return _BY_UPPER[name.strip().upper()]
    except KeyError:
        raise AddressError("address", "unknown civic address element") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class CivicAddress:
    """A civic location (RFC 5139); every element is optional at this level.

    ``other`` keeps RFC 5139 elements the model has no attribute for (A4, LMK, ...)
    as (element, value) pairs, so a received location object survives a round trip.
    ``lang`` is the xml:lang of the values.
    """

    country: str | None = None  # ISO 3166 alpha-2
    a1: str | None = None  # state / province
    a2: str | None = None  # county
    a3: str | None = None  # city
    prd: str | None = None  # leading street direction
    rd: str | None = None  # street name
    sts: str | None = None  # street suffix
    pod: str | None = None  # trailing street direction
    hno: str | None = None  # house number (numeric part)
    hns: str | None = None  # house number suffix
    loc: str | None = None  # additional location information
    flr: str | None = None  # floor
    nam: str | None = None  # name of site or business
    pc: str | None = None  # postal code
    bld: str | None = None  # building
    unit: str | None = None  # unit: apartment, suite
    room: str | None = None
    seat: str | None = None  # seat, desk, cubicle
    plc: str | None = None  # place type (RFC 4589 token)
    other: tuple[tuple[str, str], ...] = ()
    lang: str = DEFAULT_LANG

    def __post_init__(self) -> None:
        # Values are xs:token in RFC 5139: surrounding and repeated whitespace carries no
        # meaning, so it is dropped here and the database, the CLI and the PIDF-LO agree.
        for name in MODELLED:
            attr = name.lower()
            value = getattr(self, attr)
            if value is not None:
                object.__setattr__(self, attr, " ".join(value.split()) or None)
        for name, _ in self.other:
            if name in MODELLED or name not in ELEMENT_ORDER:
                raise AddressError(
                    name if name in ELEMENT_ORDER else "address",
                    "not allowed among the extra elements",
                )
        extras = [(n, " ".join(v.split())) for n, v in self.other]
        extras.sort(key=lambda pair: _ORDER[pair[0]])
        object.__setattr__(self, "other", tuple((n, v) for n, v in extras if v))

    def get(self, element: str) -> str | None:
        """Value of an RFC 5139 element by name (first one for repeated extras)."""
        name = canonical_element(element)
        if name in MODELLED:
            value: str | None = getattr(self, name.lower())
            return value
        return next((v for n, v in self.other if n == name), None)

    def elements(self) -> Iterator[tuple[str, str]]:
        """(element, value) pairs that are set, in RFC 5139 schema order."""
        for name in ELEMENT_ORDER:
            if name in MODELLED:
                value = getattr(self, name.lower())
                if value is not None:
                    yield name, value
            else:
                yield from ((n, v) for n, v in self.other if n == name)

    def to_dict(self) -> dict[str, str]:
        """Plain dict keyed by element name; unset elements are left out.

        A repeated extra element keeps its first value only: the dict form is for
        addresses the operator registers, which never repeat elements.
        """
        out: dict[str, str] = {}
        for name, value in self.elements():
            out.setdefault(name, value)
        if self.lang != DEFAULT_LANG:
            out[_LANG_KEY] = self.lang
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> CivicAddress:
        """Inverse of :meth:`to_dict`; element names are matched case-insensitively."""
        values: dict[str, str | None] = {}
        other: list[tuple[str, str]] = []
        lang = DEFAULT_LANG
        for key, raw in data.items():
            if raw is not None and not isinstance(raw, str):
                raise AddressError(str(key)[:16], "value must be text")
            if key.strip().lower() == _LANG_KEY:
                lang = raw or DEFAULT_LANG
                continue
            name = canonical_element(key)
            if raw is None or not raw.strip():
                continue
            if name in MODELLED:
                values[name.lower()] = raw
            else:
                other.append((name, raw))
        return cls(**values, other=tuple(other), lang=lang)
