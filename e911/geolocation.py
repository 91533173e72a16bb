"""Location by value in SIP (RFC 6442): the multipart/mixed body and its headers.

An emergency INVITE carries the SDP offer and the PIDF-LO side by side::

    Content-Type: multipart/mixed; boundary=loc-b1
    Geolocation: <cid:e911-1@sbc.example.com>
    Geolocation-Routing: no

    --loc-b1
    Content-Type: application/sdp

    v=0 ...
    --loc-b1
    Content-Type: application/pidf+xml
    Content-ID: <e911-1@sbc.example.com>

    <?xml ...
    --loc-b1--

Framing follows RFC 2046 §5.1.1: the CRLF before each delimiter belongs to the
delimiter, so each part's bytes come back exactly as they went in.
"""

from __future__ import annotations

import re
from typing import Final

from e911.errors import MultipartError
from e911.pidf import CONTENT_TYPE as PIDF_CONTENT_TYPE

SDP_CONTENT_TYPE: Final = "application/sdp"
CRLF: Final = b"\r\n"

# RFC 2046 bchars; the boundary may not end in a space.
_BOUNDARY: Final = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_TOKEN_CHARS: Final = re.compile(r"[0-9A-Za-z!#$%&'*+\-.^_`|~]+")
# addr-spec with characters that need no escaping in a cid: URL (RFC 2392).
_CONTENT_ID: Final = re.compile(r"[0-9A-Za-z!#$&'*+\-./=?^_`{|}~]+@[0-9A-Za-z\-.]+")
_PARAM: Final = re.compile(r';\s*([0-9A-Za-z!#$%&\'*+\-.^_`|~]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]+)')


def geolocation_header(content_id: str) -> str:
    """Geolocation header value pointing at the body part: ``<cid:...>``."""
    _check_content_id(content_id)
    return f"<cid:{content_id}>"


def geolocation_routing(allowed: bool) -> str:
    """Geolocation-Routing value (RFC 6442 §3.2): may intermediaries route on location?"""
    return "yes" if allowed else "no"


GEOLOCATION_ROUTING_NO: Final = geolocation_routing(False)


def build_location_body(
    sdp: bytes, pidf: bytes, *, content_id: str, boundary: str
) -> tuple[str, bytes]:
    """(Content-Type value, body) of a multipart/mixed with the SDP first, then the PIDF-LO.

    The PIDF part carries ``Content-ID: <content_id>``, which the Geolocation header
    (see :func:`geolocation_header`) refers to.
    """
    _check_content_id(content_id)
    if not _BOUNDARY.fullmatch(boundary):
        raise MultipartError("boundary must be 1-70 RFC 2046 characters, not ending in space")
    delimiter = b"--" + boundary.encode("ascii")
    for part in (sdp, pidf):
        if delimiter in part:
            raise MultipartError("boundary occurs inside a body part")
    body = b"".join(
        (
            delimiter + CRLF,
            b"Content-Type: " + SDP_CONTENT_TYPE.encode() + CRLF + CRLF,
            sdp,
            CRLF + delimiter + CRLF,
            b"Content-Type: " + PIDF_CONTENT_TYPE.encode() + CRLF,
            b"Content-ID: <" + content_id.encode("ascii") + b">" + CRLF + CRLF,
            pidf,
            CRLF + delimiter + b"--" + CRLF,
        )
    )
    value = boundary if _TOKEN_CHARS.fullmatch(boundary) else f'"{boundary}"'
    return f"multipart/mixed; boundary={value}", body


def split_multipart(content_type: str, body: bytes) -> list[tuple[dict[str, str], bytes]]:
    """Parts of a multipart body as (headers, content); header names are lower-cased.

    Preamble, epilogue and transport padding after delimiters are skipped; folded
    header lines are unfolded. Raises MultipartError on a malformed body.
    """
    boundary = _boundary_of(content_type)
    delimiter = b"--" + boundary.encode("ascii")
    # Treat the body start as a line start so a delimiter on the first line is found.
    text = CRLF + body
    pieces = text.split(CRLF + delimiter)
    if len(pieces) < 3:
        raise MultipartError("multipart body has no complete part")
    parts: list[tuple[dict[str, str], bytes]] = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            return parts  # close-delimiter: what follows is the epilogue
        line_end = piece.find(CRLF)
        if line_end == -1 or piece[:line_end].strip(b" \t"):
            raise MultipartError("delimiter line carries unexpected text")
        parts.append(_split_part(piece[line_end + 2 :]))
    raise MultipartError("multipart body has no close delimiter")


def find_part(
    parts: list[tuple[dict[str, str], bytes]],
    *,
    content_type: str | None = None,
    content_id: str | None = None,
) -> bytes | None:
    """Content of the first part with this media type and/or Content-ID (without <>)."""
    for headers, content in parts:
        media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type is not None and media != content_type.lower():
            continue
        if content_id is not None and headers.get("content-id", "").strip("<> ") != content_id:
            continue
        return content
    return None


def cid_of(geolocation_value: str) -> str | None:
    """Content-ID named by a Geolocation header value's first ``<cid:...>`` URI, if any."""
    match = re.search(r"<\s*cid:([^>\s]+)\s*>", geolocation_value, re.IGNORECASE)
    return match.group(1) if match else None


def _split_part(raw: bytes) -> tuple[dict[str, str], bytes]:
    if raw.startswith(CRLF):
        return {}, raw[2:]  # no header fields: RFC 2046 default is text/plain
    head, sep, content = raw.partition(CRLF + CRLF)
    if not sep:
        raise MultipartError("body part has no blank line after its header fields")
    headers: dict[str, str] = {}
    last = ""
    for line in head.decode("utf-8", "replace").split("\r\n"):
        if line[:1] in (" ", "\t") and last:
            headers[last] = f"{headers[last]} {line.strip()}".strip()
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise MultipartError("malformed header line in a body part")
        last = name.strip().lower()
        headers[last] = value.strip()
    return headers, content


def _boundary_of(content_type: str) -> str:
    media, _, params = content_type.partition(";")
    if not media.strip().lower().startswith("multipart/"):
        raise MultipartError("Content-Type is not multipart")
    for name, value in _PARAM.findall(";" + params):
        if name.lower() == "boundary":
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            if not _BOUNDARY.fullmatch(value):
                raise MultipartError("boundary parameter is malformed")
            return str(value)
    raise MultipartError("multipart Content-Type has no boundary parameter")


def _check_content_id(content_id: str) -> None:
    if not _CONTENT_ID.fullmatch(content_id):
        raise MultipartError("Content-ID must be local@domain without brackets or spaces")
