"""Lexical building blocks of RFC 3261 §25 shared by the URI, address and header parsers.

Everything here works on already unfolded header text (str decoded with surrogateescape), so LWS
is reduced to SP / HTAB. Patterns are written for CPython's regex engine: plain character classes
and unrolled quoted strings, since per-character alternations are several times slower.
"""

from __future__ import annotations

import re

from .errors import ParseError

TOKEN_CHARS = r"A-Za-z0-9\-.!%*_+`'~"
TOKEN = rf"[{TOKEN_CHARS}]+"
# quoted-string with quoted-pairs, as an unrolled loop.
QUOTED = r'"[^"\\]*(?:\\.[^"\\]*)*"'
WS = r"[ \t]*"
# gen-value = token / host / quoted-string. Hosts add ":" "[" "]"; devices also send "/" "=" "@"
# "<" ">" unquoted, so anything but separators, quotes and LWS is taken.
VALUE = rf'(?:{QUOTED}|[^ \t;,"]+)'
# *( SEMI generic-param ), validated as a whole; split_params() then takes it apart.
PARAMS = rf"(?:{WS};{WS}{TOKEN}(?:{WS}={WS}{VALUE})?)*"

# Methods seen on every system; known tokens skip the regex check.
COMMON_METHODS = frozenset(
    {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE", "NOTIFY"}
    | {"PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE"}
)

TOKEN_RE = re.compile(TOKEN)
_TOKEN_WORDS_RE = re.compile(rf"{TOKEN}(?:[ \t]+{TOKEN})*")
QUOTED_RE = re.compile(QUOTED, re.S)
_PARAMS_RE = re.compile(rf"{PARAMS}{WS}", re.S)
_PARAM_RE = re.compile(rf";{WS}({TOKEN})(?:{WS}={WS}({VALUE}))?", re.S)
_UNESCAPE_RE = re.compile(r"\\(.)", re.S)
# One piece of a comma-separated list: a quoted string (possibly unterminated), an <...> span,
# a run of ordinary characters, or the separating comma itself.
_LIST_PIECE_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)|<[^>]*>?|[^,"<]+|,', re.S)


def is_token(text: str) -> bool:
    return TOKEN_RE.fullmatch(text) is not None


def is_token_words(text: str) -> bool:
    """True for an unquoted display name: tokens separated by LWS."""
    return _TOKEN_WORDS_RE.fullmatch(text) is not None


def unquote(quoted: str) -> str:
    """Strip the quotes of a quoted-string and resolve its quoted-pairs."""
    inner = quoted[1:-1]
    if "\\" in inner:
        inner = _UNESCAPE_RE.sub(r"\1", inner)
    return inner


def quote(text: str) -> str:
    """Quote ``text`` as a quoted-string; CR and LF cannot be carried at all and become SP."""
    if '"' in text or "\\" in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    if "\r" in text or "\n" in text:
        text = text.replace("\r", " ").replace("\n", " ")
    return f'"{text}"'


def split_commas(value: str) -> list[str]:
    """Split a header value on commas outside quoted strings and <...>; items are stripped."""
    if '"' not in value and "<" not in value:
        return [part.strip(" \t") for part in value.split(",")]
    parts: list[str] = []
    current: list[str] = []
    for piece in _LIST_PIECE_RE.findall(value):
        if piece == ",":
            parts.append("".join(current).strip(" \t"))
            current = []
        else:
            current.append(piece)
    parts.append("".join(current).strip(" \t"))
    return parts


def split_params(text: str) -> dict[str, str | None]:
    """Take apart parameters already validated against PARAMS; names are lowercased."""
    params: dict[str, str | None] = {}
    if not text:
        return params
    if " " not in text and "\t" not in text and "\\" not in text:
        # Without LWS or quoted-pairs a plain split is exact unless a quoted value holds ";".
        for part in text[1:].split(";"):
            name, eq, value = part.partition("=")
            if '"' in value and value.count('"') != 2:
                break
            params[name.lower()] = value if eq else None
        else:
            return params
        params.clear()
    for match in _PARAM_RE.finditer(text):
        params[match[1].lower()] = match[2]
    return params


def parse_params(text: str, what: str) -> dict[str, str | None]:
    """Validate and parse ``*( SEMI generic-param )``; ``what`` names the header for errors."""
    if _PARAMS_RE.fullmatch(text) is None:
        raise ParseError(f"Bad Request - Malformed {what} parameters")
    return split_params(text.rstrip(" \t"))


def format_params(params: dict[str, str | None]) -> str:
    return "".join(
        f";{name}" if value is None else f";{name}={value}" for name, value in params.items()
    )


def parse_uint(text: str, limit: int) -> int | None:
    """ASCII digits below ``limit`` (leading zeros allowed), else None. Never builds huge ints."""
    if not text.isdigit() or not text.isascii():
        return None
    if len(text) > 10 and len(text.lstrip("0")) > 10:
        return None
    number = int(text)
    return number if number < limit else None
