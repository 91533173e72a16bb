"""Property tests: the parsers fail only with ParseError, and client/server round-trip."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from switch.sip.digest import (
    AuthResult,
    DigestVerifier,
    NonceIssuer,
    build_authorization,
    build_challenge,
    compute_ha1,
    parse_challenge,
    parse_credentials,
    redact_authorization,
)
from switch.sip.errors import ParseError

SECRET = b"property-test-secret-32-bytes..."
NOW = 1_700_000_000.0

# Printable text, with the characters a quoted-string must escape made common.
_chars = st.one_of(
    st.sampled_from('"\\, =\t'),
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")),
)
_values = st.text(_chars, max_size=24)
_headerish = st.one_of(
    st.text(max_size=120),
    st.text(max_size=120).map(lambda t: "Digest " + t),
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "username",
                    "realm",
                    "nonce",
                    "uri",
                    "response",
                    "qop",
                    "nc",
                    "cnonce",
                    "algorithm",
                    "x",
                ]
            ),
            st.text(st.sampled_from('ab"\\=, \r\n0'), max_size=8),
        ),
        max_size=8,
    ).map(lambda pairs: "Digest " + ",".join(f"{k}={v}" for k, v in pairs)),
)


@given(_headerish)
def test_parsers_raise_only_parse_error(text: str) -> None:
    # Anything else escaping (IndexError, ValueError, ...) fails the test.
    for parse in (parse_credentials, parse_challenge):
        with contextlib.suppress(ParseError):
            parse(text)


@given(_headerish)
def test_redaction_never_fails_and_stays_on_one_line(text: str) -> None:
    redacted = redact_authorization(text)
    assert "\r" not in redacted and "\n" not in redacted


@settings(max_examples=150)
@given(
    username=_values,
    realm=_values,
    password=_values,
    cnonce=_values.filter(bool),
    uri=st.text(_chars, min_size=1, max_size=40),
    method=st.sampled_from(["REGISTER", "INVITE", "MESSAGE", "SUBSCRIBE"]),
    algorithm=st.sampled_from(["MD5", "SHA-256", "MD5-sess", "SHA-256-sess"]),
    qop=st.sampled_from(["auth", None]),
    nc=st.integers(min_value=1, max_value=0xFFFFFFFF),
)
def test_client_answer_verifies(
    username: str,
    realm: str,
    password: str,
    cnonce: str,
    uri: str,
    method: str,
    algorithm: str,
    qop: str | None,
    nc: int,
) -> None:
    if qop is None and algorithm.endswith("-sess"):
        qop = "auth"  # -sess keys need a cnonce, so they always come with qop
    issuer = NonceIssuer(SECRET, realm)
    verifier = DigestVerifier(issuer)
    challenge = build_challenge(realm, issuer.issue(NOW), algorithm=algorithm, qop=qop)
    header = build_authorization(challenge, method, uri, username, password, cnonce=cnonce, nc=nc)
    creds = parse_credentials(header)
    assert (creds.username, creds.realm, creds.uri) == (username, realm, uri)
    base = algorithm.removesuffix("-sess")
    ha1 = {base: compute_ha1(username, realm, password, base)}
    assert verifier.verify(creds, method, ha1, NOW + 1) is AuthResult.OK
    wrong = {base: compute_ha1(username, realm, password + "x", base)}
    assert verifier.verify(creds, method, wrong, NOW + 1) is AuthResult.BAD_RESPONSE
    redacted = redact_authorization(header)
    assert creds.response not in redacted
