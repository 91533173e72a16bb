"""name-addr / addr-spec values (RFC 3261 §20.10, §25.1)."""

from __future__ import annotations

import pytest

from switch.sip.address import Address, parse_address, parse_address_list
from switch.sip.errors import ParseError
from switch.sip.uri import AbsoluteURI, SipURI


def test_name_addr_with_quoted_display_and_tag() -> None:
    address = parse_address('"Alice Liddell" <sip:alice@atlanta.com>;tag=1928301774')
    assert address.display_name == "Alice Liddell"
    assert address.uri == SipURI("sip", "atlanta.com", user="alice")
    assert address.tag == "1928301774"


def test_unquoted_display_name_tokens() -> None:
    address = parse_address("Bob <sips:bob@biloxi.example.com>")
    assert address.display_name == "Bob"
    assert address.tag is None
    assert parse_address("A. G. Bell <sip:agb@bell-telephone.com> ;tag=a48s").display_name == (
        "A. G. Bell"
    )


def test_no_space_before_angle_bracket_is_accepted() -> None:
    address = parse_address("caller<sip:caller@example.com>;tag=323")
    assert address.display_name == "caller"
    assert address.tag == "323"


def test_quoted_pairs_are_resolved() -> None:
    address = parse_address('"J Rosenberg \\\\\\"" <sip:jdrosen@example.com>')
    assert address.display_name == 'J Rosenberg \\"'
    nul = parse_address('"a\\\x00b" <sip:x@example.com>')
    assert nul.display_name == "a\x00b"


def test_quoted_display_may_hold_commas_and_angle_brackets() -> None:
    address = parse_address('"Bell, Alexander <boss>" <sip:a.g.bell@example.com>;tag=43')
    assert address.display_name == "Bell, Alexander <boss>"


def test_addr_spec_params_belong_to_the_header() -> None:
    """RFC 3261 §20.10: without <>, ;params after the URI are header parameters."""
    address = parse_address("sip:+19725552222@gw1.example.net;unknownparam")
    assert isinstance(address.uri, SipURI)
    assert address.uri.params == {}
    assert address.params == {"unknownparam": None}


def test_name_addr_uri_params_stay_in_the_uri() -> None:
    address = parse_address("<sip:+19725552222@gw1.example.net;unknownparam>;expires=60")
    assert isinstance(address.uri, SipURI)
    assert address.uri.params == {"unknownparam": None}
    assert address.params == {"expires": "60"}


def test_lws_around_parameter_separators() -> None:
    address = parse_address("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n")
    assert address.tag == "1918181833n"
    contact = parse_address(
        '"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam = '
        "newvalue ; secondparam ; q = 0.33"
    )
    assert contact.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}


def test_param_names_lowercased_values_kept() -> None:
    address = parse_address(
        '<sip:u@h>;Expires=3600;+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"'
        ";reg-id=1;Q=0.7"
    )
    assert address.params == {
        "expires": "3600",
        "+sip.instance": '"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"',
        "reg-id": "1",
        "q": "0.7",
    }


def test_other_schemes() -> None:
    assert parse_address("isbn:2983792873").uri == AbsoluteURI("isbn", "2983792873")
    assert parse_address("<http://www.example.com>;tag=3234233").tag == "3234233"
    assert parse_address("<tel:+15551234567;phone-context=example.com>").uri == AbsoluteURI(
        "tel", "+15551234567;phone-context=example.com"
    )


@pytest.mark.parametrize(
    "text",
    [
        '"Alice" <sip:alice@atlanta.com>;tag=1928301774',
        "<sip:alice@atlanta.com;transport=tcp>",
        '"J \\"Rosie\\" \\\\ Rosenberg" <sips:jdrosen@example.com:5061;lr>;x;y=z',
        "<sip:user@example.com?Route=%3Csip:sip.example.com%3E>",
        '"" <sip:anonymous@anonymous.invalid>',
    ],
)
def test_round_trip(text: str) -> None:
    address = parse_address(text)
    assert str(address) == text
    assert parse_address(str(address)) == address


def test_str_is_always_name_addr() -> None:
    address = parse_address("sip:bob@biloxi.com;tag=x")
    assert str(address) == "<sip:bob@biloxi.com>;tag=x"
    built = Address(SipURI("sip", "h", user="u"), display_name='say "hi"', params={"q": "1"})
    assert str(built) == '"say \\"hi\\"" <sip:u@h>;q=1'
    assert parse_address(str(built)) == built


def test_list_splits_on_commas_outside_quotes_and_brackets() -> None:
    addresses = parse_address_list(
        '"Doe, John" <sip:john,doe@a.com;x=1>;q=0.5, sip:b@b.com, <sip:c@c.com>;expires=0'
    )
    assert [a.display_name for a in addresses] == ["Doe, John", None, None]
    assert [str(a.uri) for a in addresses] == [
        "sip:john,doe@a.com;x=1",
        "sip:b@b.com",
        "sip:c@c.com",
    ]
    assert addresses[2].params == {"expires": "0"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('"Mr. J. User <sip:j.user@example.com>', "Unterminated quoted string"),  # quotbal
        ("Bell, Alexander <sip:a.g.bell@example.com>;tag=43", "display name"),  # baddn
        ('"Watson, Thomas" < sip:t.watson@example.org >', "URI"),  # badaspec
        ("sip:user@example.com?Route=%3Csip:sip.example.com%3E", "enclosed in <>"),  # regbadct
        ('"Joe" <sip:joe@example.org>;;;;', "Malformed"),  # badinv01
        ("<sip:joe@example.org", "Malformed"),
        ("<sip:joe@example.org> trailing", "Malformed"),
        ("", "Empty"),
        ("<>", "URI"),
        ("<sip:a@b>;tag=", "Malformed"),
    ],
)
def test_rejects(text: str, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_address(text, "To")
    assert reason in info.value.reason
    assert info.value.status == 400


def test_empty_list_item_is_an_error() -> None:
    with pytest.raises(ParseError):
        parse_address_list("<sip:a@b>,,<sip:c@d>")
