"""PIDF-LO build and parse (RFC 4119, RFC 5491, RFC 5139)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from e911.civic import ELEMENT_ORDER, CivicAddress
from e911.errors import LocationObjectError, UnsafeXmlError
from e911.pidf import build_pidf_lo, civic_from_element, parse_pidf_lo
from e911.xmlsafe import parse_xml

PIDF = "{urn:ietf:params:xml:ns:pidf}"
DM = "{urn:ietf:params:xml:ns:pidf:data-model}"
GP = "{urn:ietf:params:xml:ns:pidf:geopriv10}"
CA = "{urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr}"
GBP = "{urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy}"

ADDRESS = CivicAddress(
    country="US", a1="IL", a3="SPRINGFIELD", prd="N", rd="MAIN", sts="ST", hno="123",
    pc="62704", flr="4", unit="STE 400", nam="ACME & SONS <HQ>",
)  # fmt: skip
WHEN = datetime(2024, 5, 1, 12, 30, 5, tzinfo=UTC)
ENTITY = "sip:+12025550123@example.com"


def build(**overrides: object) -> bytes:
    args: dict[str, object] = {
        "entity": ENTITY,
        "device_id": "mac:0004f2a1b2c3",
        "timestamp": WHEN,
    }
    args.update(overrides)
    return build_pidf_lo(ADDRESS, **args)  # type: ignore[arg-type]


def test_document_elements_are_in_the_right_namespaces() -> None:
    root = ET.fromstring(build())
    assert root.tag == f"{PIDF}presence"
    assert root.get("entity") == ENTITY
    device = root.find(f"{DM}device")
    assert device is not None and device.get("id")
    assert device.findtext(f"{DM}deviceID") == "mac:0004f2a1b2c3"
    assert device.findtext(f"{DM}timestamp") == "2024-05-01T12:30:05Z"
    geopriv = device.find(f"{GP}geopriv")
    assert geopriv is not None
    assert geopriv.findtext(f"{GP}method") == "Manual"
    rules = geopriv.find(f"{GP}usage-rules")
    assert rules is not None
    assert rules.findtext(f"{GBP}retransmission-allowed") == "false"
    civic = geopriv.find(f"{GP}location-info/{CA}civicAddress")
    assert civic is not None
    assert civic.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    children = [(child.tag, child.text) for child in civic]
    assert children == [(f"{CA}{name}", value) for name, value in ADDRESS.elements()]
    # RFC 5139 schema order: country, A1, A3, PRD, RD, STS, HNO, FLR, NAM, PC, UNIT.
    names = [tag.removeprefix(CA) for tag, _ in children]
    assert names == sorted(names, key=ELEMENT_ORDER.index)


def test_build_then_parse_gives_back_the_same_location() -> None:
    expiry = WHEN + timedelta(days=1)
    parsed = parse_pidf_lo(build(retention_expiry=expiry, retransmission_allowed=True))
    assert parsed.address == ADDRESS
    assert parsed.entity == ENTITY
    assert parsed.device_id == "mac:0004f2a1b2c3"
    assert parsed.method == "Manual"
    assert parsed.timestamp == WHEN
    assert parsed.retention_expiry == expiry
    assert parsed.retransmission_allowed is True
    assert parsed.holder == "device"


def test_without_device_id_the_location_goes_in_a_tuple() -> None:
    data = build(device_id=None, entity="pres:alice@example.com")
    root = ET.fromstring(data)
    assert root.find(f"{DM}device") is None
    assert root.find(f"{PIDF}tuple/{PIDF}status/{GP}geopriv") is not None
    parsed = parse_pidf_lo(data)
    assert (parsed.holder, parsed.device_id, parsed.address) == ("tuple", None, ADDRESS)


def test_timestamps_are_written_in_utc() -> None:
    local = datetime(2024, 5, 1, 8, 30, 5, 250000, tzinfo=timezone(timedelta(hours=-4)))
    root = ET.fromstring(build(timestamp=local))
    assert root.findtext(f"{DM}device/{DM}timestamp") == "2024-05-01T12:30:05.250000Z"
    assert parse_pidf_lo(build(timestamp=local)).timestamp == local


@pytest.mark.parametrize(
    "overrides",
    [
        {"timestamp": datetime(2024, 5, 1, 12, 0)},
        {"entity": "alice@example.com"},
        {"entity": "sip:"},
        {"device_id": "mac 00 11"},
        {"method": ""},
    ],
)
def test_build_refuses_bad_arguments(overrides: dict[str, object]) -> None:
    with pytest.raises(LocationObjectError):
        build(**overrides)


def test_build_refuses_characters_xml_cannot_carry() -> None:
    with pytest.raises(LocationObjectError):
        build_pidf_lo(
            CivicAddress(country="US", rd="MAIN\x01"), entity=ENTITY, device_id=None,
            timestamp=WHEN,
        )  # fmt: skip


# After RFC 4119's example: a tuple, the civicLoc namespace (A6 held the street then),
# usage rules in the geopriv namespace with "yes".
RFC4119_STYLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
    xmlns:cl="urn:ietf:params:xml:ns:pidf:geopriv10:civicLoc"
    entity="pres:geotarget@example.com">
 <tuple id="sg89ae">
  <status>
   <gp:geopriv>
     <gp:location-info>
       <cl:civicAddress>
         <cl:country>US</cl:country>
         <cl:A1>New York</cl:A1>
         <cl:A3>New York</cl:A3>
         <cl:A6>Broadway</cl:A6>
         <cl:HNO>123</cl:HNO>
         <cl:LOC>Suite 75</cl:LOC>
         <cl:PC>10027-0401</cl:PC>
       </cl:civicAddress>
     </gp:location-info>
     <gp:usage-rules>
       <gp:retransmission-allowed>yes</gp:retransmission-allowed>
       <gp:retention-expiry>2003-06-23T04:57:29Z</gp:retention-expiry>
     </gp:usage-rules>
   </gp:geopriv>
  </status>
  <timestamp>2003-06-22T20:57:29Z</timestamp>
 </tuple>
</presence>
"""

# RFC 5139's civicAddress example (with its stray whitespace) inside an RFC 5491 device.
RFC5139_CIVIC = """<civicAddress xml:lang="en-AU"
      xmlns="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr">
    <country>AU</country>
    <A1>NSW</A1>
    <A3>     Wollongong
    </A3><A4>North Wollongong
    </A4>
    <RD>Flinders</RD><STS>Street</STS>
    <RDBR>Campbell Street</RDBR>
    <LMK>
      Gilligan's Island
    </LMK> <LOC>Corner</LOC>
    <NAM> Video Rental Store </NAM>
    <PC>2500</PC>
    <ROOM> Westerns and Classics </ROOM>
    <PLC>store</PLC>
    <POBOX>Private Box 15</POBOX>
  </civicAddress>"""

RFC5491_DEVICE = f"""<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
    xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
    entity="pres:user@example.com">
  <dm:device id="ue0">
    <gp:geopriv>
      <gp:location-info>
  {RFC5139_CIVIC}
      </gp:location-info>
      <gp:usage-rules/>
      <gp:method>Manual</gp:method>
    </gp:geopriv>
    <dm:deviceID>mac:1234567890ab</dm:deviceID>
    <dm:timestamp>2007-06-22T20:57:29Z</dm:timestamp>
  </dm:device>
</presence>
""".encode()

RFC5491_GEODETIC_ONLY = b"""<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
    xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
    xmlns:gml="http://www.opengis.net/gml"
    entity="pres:point2d@example.com">
  <dm:device id="point2d">
    <gp:geopriv>
      <gp:location-info>
        <gml:Point srsName="urn:ogc:def:crs:EPSG::4326">
          <gml:pos>-34.407 150.883</gml:pos>
        </gml:Point>
      </gp:location-info>
      <gp:usage-rules/>
      <gp:method>Wiremap</gp:method>
    </gp:geopriv>
    <dm:deviceID>mac:1234567890ab</dm:deviceID>
    <dm:timestamp>2007-06-22T20:57:29Z</dm:timestamp>
  </dm:device>
</presence>
"""


def test_rfc4119_style_document_parses() -> None:
    parsed = parse_pidf_lo(RFC4119_STYLE)
    assert parsed.address == CivicAddress(
        country="US", a1="New York", a3="New York", rd="Broadway", hno="123", loc="Suite 75",
        pc="10027-0401",
    )  # fmt: skip
    assert parsed.entity == "pres:geotarget@example.com"
    assert parsed.holder == "tuple"
    assert parsed.retransmission_allowed is True
    assert parsed.retention_expiry == datetime(2003, 6, 23, 4, 57, 29, tzinfo=UTC)
    assert parsed.timestamp == datetime(2003, 6, 22, 20, 57, 29, tzinfo=UTC)
    assert parsed.method is None


def test_rfc5139_civic_example_parses_with_whitespace_collapsed() -> None:
    address = civic_from_element(parse_xml(RFC5139_CIVIC.encode()))
    assert address == CivicAddress(
        country="AU", a1="NSW", a3="Wollongong", rd="Flinders", sts="Street", loc="Corner",
        nam="Video Rental Store", pc="2500", room="Westerns and Classics", plc="store",
        other=(("A4", "North Wollongong"), ("RDBR", "Campbell Street"),
               ("LMK", "Gilligan's Island"), ("POBOX", "Private Box 15")),
        lang="en-AU",
    )  # fmt: skip


def test_rfc5491_device_document_parses_and_rebuilds_identically() -> None:
    parsed = parse_pidf_lo(RFC5491_DEVICE)
    assert parsed.address.rd == "Flinders" and parsed.address.get("RDBR") == "Campbell Street"
    assert (parsed.device_id, parsed.method, parsed.holder) == (
        "mac:1234567890ab",
        "Manual",
        "device",
    )
    assert parsed.retransmission_allowed is False
    rebuilt = build_pidf_lo(
        parsed.address, entity=parsed.entity, device_id=parsed.device_id,
        timestamp=parsed.timestamp or WHEN,
    )  # fmt: skip
    assert parse_pidf_lo(rebuilt).address == parsed.address


def test_geodetic_only_document_has_no_civic_address() -> None:
    with pytest.raises(LocationObjectError, match="no civic address"):
        parse_pidf_lo(RFC5491_GEODETIC_ONLY)


@pytest.mark.parametrize(
    "data",
    [
        b"<notpresence xmlns='urn:example'/>",
        b"<presence xmlns='urn:ietf:params:xml:ns:pidf'/>",
        b"<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='pres:a@b'>",
        RFC4119_STYLE.replace(b"2003-06-22T20:57:29Z", b"yesterday"),
    ],
)
def test_malformed_documents_are_refused(data: bytes) -> None:
    with pytest.raises(LocationObjectError):
        parse_pidf_lo(data)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:a@b">&lol3;</presence>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE presence SYSTEM "http://attacker.example/evil.dtd">
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:a@b"/>
"""


@pytest.mark.parametrize(
    "data",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        RFC5491_DEVICE.replace(b"<presence", b'<!ENTITY x "y"><presence', 1),
        RFC5491_DEVICE.decode().replace("UTF-8", "UTF-16").encode("utf-16"),
        RFC5491_DEVICE.replace(b"UTF-8", b"ISO-8859-1"),
        RFC5491_DEVICE + b"<!--" + b"x" * 70_000 + b"-->",
    ],
)
def test_dtds_entities_foreign_encodings_and_oversize_input_are_refused(data: bytes) -> None:
    with pytest.raises(UnsafeXmlError):
        parse_pidf_lo(data)


def test_comments_and_byte_order_mark_are_fine() -> None:
    data = b"\xef\xbb\xbf" + RFC5491_DEVICE.replace(b"<dm:device", b"<!-- note --><dm:device")
    assert parse_pidf_lo(data).address.country == "AU"


_token_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn")), min_size=1
).map(lambda s: " ".join(s.split()))


@given(st.dictionaries(st.sampled_from(ELEMENT_ORDER), _token_text.filter(bool), max_size=12))
def test_any_address_round_trips_through_pidf(data: dict[str, str]) -> None:
    address = CivicAddress.from_dict(data)
    assert (
        parse_pidf_lo(build_pidf_lo(address, entity=ENTITY, device_id="d1", timestamp=WHEN)).address
        == address
    )
