"""From what a phone sent to a plain dial string.

Phones send SIP user parts, ``tel:`` URIs or what a person typed into a softphone,
with visual separators (RFC 3966 §5.1.1 allows ``-``, ``.``, ``(`` and ``)``; people
add spaces too) and sometimes a trailing ``#`` used as the send key.
"""

from __future__ import annotations

from urllib.parse import unquote

# Deleted wherever they appear; RFC 3966 visual separators plus blanks.
_SEPARATORS = str.maketrans("", "", "-.() \t")
_SCHEMES = ("sip:", "sips:", "tel:")


def user_part(dialled: str) -> str:
    """The dial string without URI scheme, host, parameters or percent-escapes."""
    text = dialled.strip()
    if "%" in text:
        text = unquote(text)
    lowered = text[:5].lower()
    for scheme in _SCHEMES:
        if lowered.startswith(scheme):
            text = text[len(scheme) :]
            break
    at = text.find("@")
    if at >= 0:
        text = text[:at]
    semi = text.find(";")  # ;phone-context=..., ;isub=..., ;user=phone
    if semi >= 0:
        text = text[:semi]
    return text


def compact(user: str) -> str:
    """Remove visual separators and a trailing send-key ``#`` (not from feature codes)."""
    text = user.translate(_SEPARATORS)
    if len(text) > 1 and text[-1] == "#" and text[0] not in "*#":
        text = text[:-1]
    return text


def is_digits(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` alone accepts other scripts' digits)."""
    return text.isascii() and text.isdigit()


def strip_prefix(text: str, prefix: str | None) -> str | None:
    """``text`` without ``prefix`` if it starts with it and something follows."""
    if prefix and len(text) > len(prefix) and text.startswith(prefix):
        return text[len(prefix) :]
    return None
