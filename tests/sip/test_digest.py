"""Digest parsing, challenges, known-answer vectors and log redaction."""

from __future__ import annotations

import hashlib

import pytest

from switch.sip.digest import (
    NotDigest,
    UnsafeValueError,
    UnsupportedAlgorithmError,
    UnsupportedQopError,
    build_authorization,
    build_challenge,
    build_challenges,
    compute_ha1,
    compute_response,
    parse_challenge,
    parse_credentials,
    redact_authorization,
)
from switch.sip.errors import ParseError

# RFC 7616 §3.9.1, typed from the RFC text.
RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC7616_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC7616_RESPONSES = {
    "MD5": "8ca523f5e9506fed4657c9700eebdbec",
    "SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
}
RFC7616_CHALLENGE = (
    'Digest\r\n    realm="http-auth@example.org",\r\n    qop="auth, auth-int",\r\n'
    "    algorithm={alg},\r\n"
    f'    nonce="{RFC7616_NONCE}",\r\n    opaque="{RFC7616_OPAQUE}"'
)

# RFC 2617 §3.5 (same values as the RFC 3261 §22.4 narrative).
RFC2617_CREDENTIALS = (
    'Digest username="Mufasa",\r\n'
    ' realm="testrealm@host.com",\r\n'
    ' nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",\r\n'
    ' uri="/dir/index.html",\r\n'
    " qop=auth,\r\n"
    " nc=00000001,\r\n"
    ' cnonce="0a4f113b",\r\n'
    ' response="6629fae49393a05397450978507c4ef1",\r\n'
    ' opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)


@pytest.mark.parametrize("alg", ["MD5", "SHA-256"])
def test_rfc7616_example_response(alg: str) -> None:
    ha1 = compute_ha1("Mufasa", "http-auth@example.org", "Circle of Life", alg)
    response = compute_response(
        ha1,
        alg,
        method="GET",
        uri="/dir/index.html",
        nonce=RFC7616_NONCE,
        qop="auth",
        nc="00000001",
        cnonce=RFC7616_CNONCE,
    )
    assert response == RFC7616_RESPONSES[alg]


@pytest.mark.parametrize("alg", ["MD5", "SHA-256"])
def test_rfc7616_example_answered_by_client_helper(alg: str) -> None:
    header = build_authorization(
        RFC7616_CHALLENGE.format(alg=alg),
        "GET",
        "/dir/index.html",
        "Mufasa",
        "Circle of Life",
        cnonce=RFC7616_CNONCE,
    )
    creds = parse_credentials(header)
    assert creds.response == RFC7616_RESPONSES[alg]
    assert (creds.qop, creds.nc, creds.cnonce) == ("auth", 1, RFC7616_CNONCE)
    assert creds.opaque == RFC7616_OPAQUE
    assert creds.algorithm == alg


def test_rfc2617_example_parses_and_matches() -> None:
    creds = parse_credentials(RFC2617_CREDENTIALS)
    assert creds.username == "Mufasa"
    assert creds.realm == "testrealm@host.com"
    assert creds.uri == "/dir/index.html"
    assert creds.algorithm == "MD5"
    assert creds.nc == 1
    ha1 = compute_ha1("Mufasa", "testrealm@host.com", "Circle Of Life")
    expected = compute_response(
        ha1,
        "MD5",
        method="GET",
        uri=creds.uri,
        nonce=creds.nonce,
        qop=creds.qop,
        nc="00000001",
        cnonce=creds.cnonce,
    )
    assert expected == creds.response


def test_rfc2069_form_matches_independent_hashlib() -> None:
    user, realm, password = "bob", "biloxi.com", "zanzibar"
    nonce, uri = "84a4cc6f3082121f32b42a2187831a9e", "sip:bob@biloxi.com"

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    expected = md5(f"{md5(f'{user}:{realm}:{password}')}:{nonce}:{md5(f'INVITE:{uri}')}")
    header = build_authorization(
        f'Digest realm="{realm}", nonce="{nonce}", algorithm=MD5',
        "INVITE",
        uri,
        user,
        password,
        cnonce="unused",
    )
    creds = parse_credentials(header)
    assert creds.response == expected
    assert creds.qop is None and creds.nc is None and creds.cnonce is None
    assert "cnonce" not in header and "nc=" not in header


def test_ha1_is_hash_of_user_realm_password() -> None:
    assert compute_ha1("a", "r", "p") == hashlib.md5(b"a:r:p").hexdigest()
    assert compute_ha1("a", "r", "p", "SHA-256") == hashlib.sha256(b"a:r:p").hexdigest()
    # The stored value for a -sess algorithm is its base HA1.
    assert compute_ha1("a", "r", "p", "md5-SESS") == compute_ha1("a", "r", "p", "MD5")
    with pytest.raises(UnsupportedAlgorithmError):
        compute_ha1("a", "r", "p", "SHA-512-256")


def test_parse_tolerates_lws_case_and_escapes() -> None:
    creds = parse_credentials(
        '  digest   USERNAME = "al\\"ice\\\\" ,Realm="a, b"\t,\r\n nonce=abc ,'
        ' URI=sip:bob@example.com;transport=udp, ReSpOnSe="00ff",,  '
    )
    assert creds.username == 'al"ice\\'
    assert creds.realm == "a, b"
    assert creds.nonce == "abc"
    assert creds.uri == "sip:bob@example.com;transport=udp"
    assert creds.response == "00ff"


def test_parse_keeps_unknown_params_and_reads_optional_ones() -> None:
    creds = parse_credentials(
        'Digest username="u", realm="r", nonce="n", uri="sip:x", response="ab",'
        ' algorithm=SHA-256, qop=AUTH, nc=0000000A, cnonce="c", opaque="o", x-extra=1'
    )
    assert (creds.algorithm, creds.qop, creds.nc) == ("SHA-256", "auth", 10)
    assert (creds.cnonce, creds.opaque) == ("c", "o")
    assert creds.params["x-extra"] == "1"


@pytest.mark.parametrize("missing", ["username", "realm", "nonce", "uri", "response"])
def test_parse_rejects_missing_required_param(missing: str) -> None:
    values = {"username": "u", "realm": "r", "nonce": "n", "uri": "sip:x", "response": "ab"}
    del values[missing]
    header = "Digest " + ", ".join(f'{k}="{v}"' for k, v in values.items())
    with pytest.raises(ParseError, match=missing):
        parse_credentials(header)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "   ",
        "Digest",
        'Digest username="u", realm="r", nonce="n", uri="x", response="unterminated',
        'Digest username="u" realm="r", nonce="n", uri="x", response="a"',
        'Digest username="u", username="v", realm="r", nonce="n", uri="x", response="a"',
        'Digest username="u", realm="r", nonce="n", uri="x", response="a", qop=auth',
        'Digest username="u", realm="r", nonce="n", uri="x", response="a", qop=auth,'
        ' nc=1, cnonce="c"',
        'Digest username="u", realm="r", nonce="n", uri="x", response="a", qop=auth,'
        ' nc=0x000001, cnonce="c"',
        'Digest username="u", realm="r", nonce="n", uri="x", response="a", algorithm=MD5-sess',
        'Digest username=, realm="r", nonce="n", uri="x", response="a"',
        'Digest =u, realm="r", nonce="n", uri="x", response="a"',
    ],
)
def test_parse_rejects_malformed(header: str) -> None:
    with pytest.raises(ParseError) as excinfo:
        parse_credentials(header)
    assert not isinstance(excinfo.value, NotDigest)


@pytest.mark.parametrize(
    "header",
    [
        "NoOneKnowsThisScheme opaque-data=here",  # RFC 4475 §3.1.2.14 (regaut01)
        "Basic dXNlcjpwYXNz",
        'Bearer abc, username="u", realm="r", nonce="n", uri="x", response="a"',
    ],
)
def test_other_schemes_are_flagged_as_not_digest(header: str) -> None:
    with pytest.raises(NotDigest) as excinfo:
        parse_credentials(header)
    assert isinstance(excinfo.value, ParseError)
    assert excinfo.value.scheme == header.split()[0]


def test_credentials_repr_hides_response() -> None:
    creds = parse_credentials(RFC2617_CREDENTIALS)
    assert "6629fae49393a05397450978507c4ef1" not in repr(creds)
    assert "Mufasa" in repr(creds)


def test_build_challenge_format_and_round_trip() -> None:
    value = build_challenge(
        'a "quoted" \\realm', "n0nce", algorithm="sha-256", stale=True, opaque="op"
    )
    assert value.startswith("Digest ")
    assert "algorithm=SHA-256" in value
    assert 'qop="auth"' in value
    assert "stale=true" in value
    challenge = parse_challenge(value)
    assert challenge.realm == 'a "quoted" \\realm'
    assert (challenge.nonce, challenge.opaque) == ("n0nce", "op")
    assert (challenge.algorithm, challenge.qop_options, challenge.stale) == (
        "SHA-256",
        ("auth",),
        True,
    )


def test_build_challenge_without_qop_and_not_stale() -> None:
    value = build_challenge("r", "n", qop=None)
    challenge = parse_challenge(value)
    assert challenge.qop_options == ()
    assert challenge.stale is False
    assert "qop" not in value and "stale" not in value


def test_build_challenges_lists_sha256_before_md5_with_one_nonce() -> None:
    values = build_challenges("example.com", "abc")
    assert [parse_challenge(v).algorithm for v in values] == ["SHA-256", "MD5"]
    assert {parse_challenge(v).nonce for v in values} == {"abc"}
    stale = build_challenges("example.com", "abc", ("MD5",), stale=True)
    assert len(stale) == 1 and parse_challenge(stale[0]).stale


def test_build_challenge_rejects_unknown_algorithm_and_header_injection() -> None:
    with pytest.raises(UnsupportedAlgorithmError):
        build_challenge("r", "n", algorithm="SHA-1")
    with pytest.raises(UnsafeValueError):
        build_challenge("evil\r\nVia: x", "n")


def test_client_rejects_unusable_challenges() -> None:
    with pytest.raises(NotDigest):
        build_authorization('Basic realm="r"', "REGISTER", "sip:r", "u", "p", cnonce="c")
    with pytest.raises(UnsupportedAlgorithmError):
        build_authorization(
            'Digest realm="r", nonce="n", algorithm=SHA-512-256',
            "REGISTER",
            "sip:r",
            "u",
            "p",
            cnonce="c",
        )
    with pytest.raises(UnsupportedQopError):
        build_authorization(
            'Digest realm="r", nonce="n", qop="auth-conf"',
            "REGISTER",
            "sip:r",
            "u",
            "p",
            cnonce="c",
        )
    with pytest.raises(ParseError, match="nonce"):
        build_authorization('Digest realm="r"', "REGISTER", "sip:r", "u", "p", cnonce="c")


def test_client_uses_auth_int_when_only_that_is_offered() -> None:
    header = build_authorization(
        'Digest realm="r", nonce="n", qop="auth-int"',
        "MESSAGE",
        "sip:b@r",
        "u",
        "p",
        cnonce="c",
        nc=7,
        body=b"hello",
    )
    creds = parse_credentials(header)
    assert (creds.qop, creds.nc) == ("auth-int", 7)
    body_hash = hashlib.md5(b"hello").hexdigest()
    ha2 = hashlib.md5(f"MESSAGE:sip:b@r:{body_hash}".encode()).hexdigest()
    ha1 = hashlib.md5(b"u:r:p").hexdigest()
    expected = hashlib.md5(f"{ha1}:n:00000007:c:auth-int:{ha2}".encode()).hexdigest()
    assert creds.response == expected


def test_redaction_keeps_identity_and_hides_secrets() -> None:
    redacted = redact_authorization(RFC2617_CREDENTIALS)
    assert redacted.startswith("Digest ")
    assert "Mufasa" in redacted and "testrealm@host.com" in redacted
    for secret in (
        "6629fae49393a05397450978507c4ef1",
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        "0a4f113b",
        "5ccc069c403ebaf9f0171e9517f40e41",
    ):
        assert secret not in redacted
    assert "response=***" in redacted and "nonce=***" in redacted and "cnonce=***" in redacted


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Basic dXNlcjpwYXNz", "Basic ***"),
        ('Digest response="deadbeef" garbage', "Digest ***"),
        ("", "***"),
        ('"notatoken"', "***"),
    ],
)
def test_redaction_of_unparseable_values_leaks_nothing(value: str, expected: str) -> None:
    assert redact_authorization(value) == expected


def test_redaction_neutralises_control_characters() -> None:
    redacted = redact_authorization('Digest username="a\r\nX-Injected: 1", response="ff"')
    assert "\r" not in redacted and "\n" not in redacted
    assert "response=***" in redacted
