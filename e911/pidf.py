"""PIDF-LO documents (RFC 4119, RFC 5491) carrying an RFC 5139 civic address.

A location object the switch builds looks like::

    <presence entity="sip:+12025550123@example.com">
      <dm:device id="e911">
        <gp:geopriv>
          <gp:location-info><ca:civicAddress xml:lang="en">...</ca:civicAddress></gp:location-info>
          <gp:usage-rules><gbp:retransmission-allowed>...</gp:usage-rules>
          <gp:method>Manual</gp:method>
        </gp:geopriv>
        <dm:deviceID>mac:0004f2a1b2c3</dm:deviceID>
        <dm:timestamp>2024-05-01T12:00:00Z</dm:timestamp>
      </dm:device>
    </presence>

RFC 5491 §3.4 puts the location of a device in ``dm:device``; RFC 4479 makes
``deviceID`` mandatory there, so without a device id the geopriv goes in a ``tuple``
(the RFC 4119 form) instead. Reading accepts device, tuple and person, and the
RFC 4119 ``civicLoc`` namespace of older senders.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from e911.civic import DEFAULT_LANG, ELEMENT_ORDER, MODELLED, CivicAddress
from e911.errors import LocationObjectError
from e911.xmlsafe import DEFAULT_MAX_SIZE, parse_xml

PIDF_NS: Final = "urn:ietf:params:xml:ns:pidf"
DM_NS: Final = "urn:ietf:params:xml:ns:pidf:data-model"
GP_NS: Final = "urn:ietf:params:xml:ns:pidf:geopriv10"
CA_NS: Final = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"
GBP_NS: Final = "urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy"
CIVICLOC_NS: Final = "urn:ietf:params:xml:ns:pidf:geopriv10:civicLoc"  # RFC 4119, replaced
XML_LANG: Final = "{http://www.w3.org/XML/1998/namespace}lang"
CONTENT_TYPE: Final = "application/pidf+xml"
ELEMENT_ID: Final = "e911"

# ElementTree keeps one process-wide prefix table; these are the conventional prefixes.
for _prefix, _uri in (("dm", DM_NS), ("gp", GP_NS), ("ca", CA_NS), ("gbp", GBP_NS)):
    ET.register_namespace(_prefix, _uri)

_ENTITY: Final = re.compile(r"(?:pres|sip|sips|tel):\S+")
_TOKEN: Final = re.compile(r"\S+")
_XML_FORBIDDEN: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TRUE: Final = frozenset({"true", "1", "yes"})  # "yes" is what RFC 4119's example used


def _q(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}"


@dataclass(frozen=True, slots=True)
class ParsedLocation:
    """The civic location read from a PIDF-LO and what came with it."""

    address: CivicAddress
    entity: str
    device_id: str | None
    method: str | None
    timestamp: datetime | None
    retention_expiry: datetime | None = None
    retransmission_allowed: bool = False
    holder: str = "device"  # element that carried the geopriv: device, tuple or person


def build_pidf_lo(
    address: CivicAddress,
    *,
    entity: str,
    device_id: str | None,
    method: str = "Manual",
    timestamp: datetime,
    retention_expiry: datetime | None = None,
    retransmission_allowed: bool = False,
) -> bytes:
    """Serialize ``address`` as a PIDF-LO document (UTF-8 bytes with XML declaration).

    ``timestamp`` and ``retention_expiry`` must be timezone-aware; they are written in
    UTC. ``retransmission_allowed`` maps to the RFC 4119 usage rule of that name, whose
    default when absent is "no".
    """
    if not _ENTITY.fullmatch(entity):
        raise LocationObjectError("entity must be a pres:, sip:, sips: or tel: URI")
    if device_id is not None and not _TOKEN.fullmatch(device_id):
        raise LocationObjectError("device id must be non-empty and without spaces")
    if not _TOKEN.fullmatch(method):
        raise LocationObjectError("method must be a single token")
    # PIDF elements are built unqualified under a literal default-namespace declaration:
    # ElementTree's default_namespace option refuses the unqualified attributes PIDF uses.
    root = ET.Element("presence", {"xmlns": PIDF_NS, "entity": entity})
    if device_id is not None:
        holder = ET.SubElement(root, _q(DM_NS, "device"), {"id": ELEMENT_ID})
        geopriv = ET.SubElement(holder, _q(GP_NS, "geopriv"))
    else:
        holder = ET.SubElement(root, "tuple", {"id": ELEMENT_ID})
        geopriv = ET.SubElement(ET.SubElement(holder, "status"), _q(GP_NS, "geopriv"))
    ET.SubElement(geopriv, _q(GP_NS, "location-info")).append(civic_element(address))
    rules = ET.SubElement(geopriv, _q(GP_NS, "usage-rules"))
    allowed = ET.SubElement(rules, _q(GBP_NS, "retransmission-allowed"))
    allowed.text = "true" if retransmission_allowed else "false"
    if retention_expiry is not None:
        ET.SubElement(rules, _q(GBP_NS, "retention-expiry")).text = _format_time(retention_expiry)
    ET.SubElement(geopriv, _q(GP_NS, "method")).text = method
    if device_id is not None:
        ET.SubElement(holder, _q(DM_NS, "deviceID")).text = device_id
        ET.SubElement(holder, _q(DM_NS, "timestamp")).text = _format_time(timestamp)
    else:
        ET.SubElement(holder, "timestamp").text = _format_time(timestamp)
    data: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return data


def civic_element(address: CivicAddress) -> ET.Element:
    """``ca:civicAddress`` element with the set elements in RFC 5139 schema order."""
    elem = ET.Element(_q(CA_NS, "civicAddress"), {XML_LANG: address.lang})
    for name, value in address.elements():
        if _XML_FORBIDDEN.search(value):
            raise LocationObjectError(f"{name} holds characters XML cannot carry")
        ET.SubElement(elem, _q(CA_NS, name)).text = value
    return elem


def parse_pidf_lo(data: bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> ParsedLocation:
    """First civic location in a PIDF-LO document.

    Raises UnsafeXmlError for DTDs/entities, LocationObjectError when the document is
    not a presence document or holds no civic address (a geodetic-only location object).
    """
    root = parse_xml(data, max_size=max_size)
    if root.tag != _q(PIDF_NS, "presence"):
        raise LocationObjectError("root element is not a PIDF presence")
    entity = root.get("entity")
    if not entity:
        raise LocationObjectError("presence has no entity")
    for holder in root:
        found = _geopriv_of(holder)
        if found is None:
            continue
        kind, geopriv = found
        civic = _civic_of(geopriv)
        if civic is not None:
            return _parsed(entity, kind, holder, geopriv, civic)
    raise LocationObjectError("no civic address in the location object")


def civic_from_element(elem: ET.Element) -> CivicAddress:
    """CivicAddress from a ``civicAddress`` element (RFC 5139 or RFC 4119 namespace).

    Elements from other namespaces (extensions) are skipped; for a repeated element
    (the same value in several languages) the first one is kept.
    """
    namespace = elem.tag[1:].partition("}")[0]
    values: dict[str, str] = {}
    other: list[tuple[str, str]] = []
    for child in elem:
        child_ns, _, name = child.tag[1:].partition("}")
        value = " ".join((child.text or "").split())
        if child_ns != namespace or name not in ELEMENT_ORDER or not value:
            continue
        if name in MODELLED:
            values.setdefault(name.lower(), value)
        elif all(n != name for n, _ in other):
            other.append((name, value))
    if namespace == CIVICLOC_NS and "rd" not in values:
        # RFC 4119 had no RD: its A6 held the street name.
        a6 = next((v for n, v in other if n == "A6"), None)
        if a6 is not None:
            values["rd"] = a6
            other = [(n, v) for n, v in other if n != "A6"]
    lang = elem.get(XML_LANG) or DEFAULT_LANG
    return CivicAddress(**values, other=tuple(other), lang=lang)


def _geopriv_of(holder: ET.Element) -> tuple[str, ET.Element] | None:
    if holder.tag == _q(PIDF_NS, "tuple"):
        found = holder.find(f"{_q(PIDF_NS, 'status')}/{_q(GP_NS, 'geopriv')}")
        return ("tuple", found) if found is not None else None
    for kind in ("device", "person"):
        if holder.tag == _q(DM_NS, kind):
            found = holder.find(_q(GP_NS, "geopriv"))
            return (kind, found) if found is not None else None
    return None


def _civic_of(geopriv: ET.Element) -> ET.Element | None:
    info = geopriv.find(_q(GP_NS, "location-info"))
    if info is None:
        return None
    for namespace in (CA_NS, CIVICLOC_NS):
        civic = info.find(_q(namespace, "civicAddress"))
        if civic is not None:
            return civic
    return None


def _parsed(
    entity: str, kind: str, holder: ET.Element, geopriv: ET.Element, civic: ET.Element
) -> ParsedLocation:
    stamp_ns = PIDF_NS if kind == "tuple" else DM_NS
    rules = geopriv.find(_q(GP_NS, "usage-rules"))
    allowed = expiry = None
    if rules is not None:
        # RFC 4119's own example put the rules in the geopriv namespace; accept both.
        for namespace in (GBP_NS, GP_NS):
            allowed = allowed or rules.findtext(_q(namespace, "retransmission-allowed"))
            expiry = expiry or rules.findtext(_q(namespace, "retention-expiry"))
    device_id = holder.findtext(_q(DM_NS, "deviceID")) if kind == "device" else None
    method = geopriv.findtext(_q(GP_NS, "method"))
    return ParsedLocation(
        address=civic_from_element(civic),
        entity=entity,
        device_id=device_id.strip() if device_id else None,
        method=method.strip() if method else None,
        timestamp=_parse_time(holder.findtext(_q(stamp_ns, "timestamp"))),
        retention_expiry=_parse_time(expiry),
        retransmission_allowed=(allowed or "").strip().lower() in _TRUE,
        holder=kind,
    )


def _format_time(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise LocationObjectError("timestamps must be timezone-aware")
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


def _parse_time(text: str | None) -> datetime | None:
    if text is None or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise LocationObjectError("timestamp is not an xs:dateTime") from None
    # A dateTime without offset is read as UTC: PIDF timestamps are absolute.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
