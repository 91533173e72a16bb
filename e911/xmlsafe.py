"""Parsing XML that arrives from the network (PIDF-LO bodies) without DTD tricks.

Expat expands internal entities, so a document with a DTD can blow up in memory
("billion laughs"). Location objects never need a DTD, so any markup declaration is
refused before the parser sees the bytes. The check runs on UTF-8 text only: another
encoding (UTF-16 above all) could hide a declaration from a byte search.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Final

from e911.errors import LocationObjectError, UnsafeXmlError

DEFAULT_MAX_SIZE: Final = 64 * 1024
_DECLARED_ENCODING: Final = re.compile(r"""<\?xml[^>]*?encoding\s*=\s*["']([^"']+)["']""")
_ALLOWED_AFTER_BANG: Final = ("<!--", "<![CDATA[")


def parse_xml(data: bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> ET.Element:
    """Root element of ``data``; UnsafeXmlError for DTDs, entities, foreign encodings or
    oversize input, LocationObjectError for XML that is not well formed."""
    if len(data) > max_size:
        raise UnsafeXmlError(f"XML body larger than {max_size} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UnsafeXmlError("XML body is not UTF-8") from None
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise UnsafeXmlError("XML body contains NUL characters")
    declared = _DECLARED_ENCODING.match(text)
    if declared and declared.group(1).lower().replace("-", "") != "utf8":
        raise UnsafeXmlError("XML body declares an encoding other than UTF-8")
    start = text.find("<!")
    while start != -1:
        if not text.startswith(_ALLOWED_AFTER_BANG, start):
            raise UnsafeXmlError("DTD and entity declarations are not accepted")
        start = text.find("<!", start + 2)
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        # The position is useful; the parser's message never quotes content.
        raise LocationObjectError(f"XML is not well formed: {exc}") from None
