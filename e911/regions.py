"""First-level subdivisions (RFC 5139 A1) and postal-code shapes for the US and Canada."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# USPS codes of the states, DC and the inhabited territories served by 911.
US_STATES: Final[frozenset[str]] = frozenset({
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL",
    "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE",
    "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD",
    "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
    "AS", "GU", "MP", "PR", "VI",
})  # fmt: skip

# Territory names; scourgify's own table covers the states and DC.
US_TERRITORY_NAMES: Final[dict[str, str]] = {
    "AMERICAN SAMOA": "AS",
    "GUAM": "GU",
    "NORTHERN MARIANA ISLANDS": "MP",
    "PUERTO RICO": "PR",
    "US VIRGIN ISLANDS": "VI",
    "VIRGIN ISLANDS": "VI",
}

CA_PROVINCES: Final[frozenset[str]] = frozenset({
    "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
})  # fmt: skip

# English and French names, written without accents (input is folded to ASCII first).
CA_PROVINCE_NAMES: Final[dict[str, str]] = {
    "ALBERTA": "AB",
    "BRITISH COLUMBIA": "BC",
    "COLOMBIE BRITANNIQUE": "BC",
    "MANITOBA": "MB",
    "NEW BRUNSWICK": "NB",
    "NOUVEAU BRUNSWICK": "NB",
    "NEWFOUNDLAND AND LABRADOR": "NL",
    "NEWFOUNDLAND": "NL",
    "TERRE NEUVE ET LABRADOR": "NL",
    "NOVA SCOTIA": "NS",
    "NOUVELLE ECOSSE": "NS",
    "NORTHWEST TERRITORIES": "NT",
    "TERRITOIRES DU NORD OUEST": "NT",
    "NUNAVUT": "NU",
    "ONTARIO": "ON",
    "PRINCE EDWARD ISLAND": "PE",
    "ILE DU PRINCE EDOUARD": "PE",
    "QUEBEC": "QC",
    "SASKATCHEWAN": "SK",
    "YUKON": "YT",
    "PQ": "QC",  # pre-1990 abbreviation still seen in old records
}

US_ZIP: Final = re.compile(r"\d{5}(?:-\d{4})?")
# Canada Post: letters D F I O Q U never appear, W and Z never lead.
CA_POSTAL: Final = re.compile(r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d")
# Looser shape used to spot (and then normalize) a Canadian code inside free text.
CA_POSTAL_LOOSE: Final = re.compile(r"\b([A-Z]\d[A-Z])\s?(\d[A-Z]\d)\b", re.IGNORECASE)

SUPPORTED_COUNTRIES: Final[frozenset[str]] = frozenset({"US", "CA"})


def fold(value: str) -> str:
    """ASCII look-up key for names: accents and hyphens dropped ("Québec" -> "QUEBEC")."""
    decomposed = unicodedata.normalize("NFKD", value)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(ascii_only.upper().replace("-", " ").split())
