"""Per-account (and per-device) dialling settings that classification depends on."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

DEFAULT_DOMESTIC_REGIONS = frozenset({"US", "CA"})  # INTL-04: MX is opt-in per plan

ExtensionLookup = Callable[[str], bool]


def _no_extensions(_: str) -> bool:
    return False


def extension_lookup(extensions: Collection[str] | ExtensionLookup) -> ExtensionLookup:
    """Turn a set of extension numbers (or an existing predicate) into a predicate."""
    if callable(extensions):
        return extensions
    frozen = frozenset(extensions)
    return frozen.__contains__ if frozen else _no_extensions


@dataclass(frozen=True, slots=True)
class DialPlan:
    """How one caller dials.

    ``country`` is the device's country (its site, or the account's home country):
    it picks the emergency numbers and how national numbers are read.
    LOCAL means "in the home area code or one of ``local_area_codes``"; that is a
    simplification of real local calling areas, which follow rate centres, not
    area codes. For numbers outside North America it compares the start of the
    national significant number with those codes.
    """

    country: str = "US"
    home_area_code: str | None = None
    local_area_codes: frozenset[str] = frozenset()  # overlays or neighbouring codes
    outside_line_prefix: str | None = None  # e.g. "9": 9-1-212..., 9-911
    domestic_regions: frozenset[str] = DEFAULT_DOMESTIC_REGIONS
    is_extension: ExtensionLookup = field(default=_no_extensions, compare=False)

    def __post_init__(self) -> None:
        # Plans key the classification cache, so their collections must be hashable.
        for name in ("local_area_codes", "domestic_regions"):
            value = getattr(self, name)
            if not isinstance(value, frozenset):
                object.__setattr__(self, name, frozenset(value))

    @classmethod
    def build(
        cls,
        *,
        country: str = "US",
        home_area_code: str | None = None,
        local_area_codes: Collection[str] = (),
        outside_line_prefix: str | None = None,
        domestic_regions: Collection[str] = DEFAULT_DOMESTIC_REGIONS,
        extensions: Collection[str] | ExtensionLookup = (),
    ) -> DialPlan:
        """Build a plan from plain collections (upper-cases regions, drops empty values)."""
        home = home_area_code or None
        local = frozenset(code for code in local_area_codes if code)
        return cls(
            country=country.upper(),
            home_area_code=home,
            local_area_codes=local | {home} if home else local,
            outside_line_prefix=outside_line_prefix or None,
            domestic_regions=frozenset(region.upper() for region in domestic_regions),
            is_extension=extension_lookup(extensions),
        )
