"""DigestVerifier outcomes: nonces, replay, staleness, algorithms, and a real pyVoIP client."""

from __future__ import annotations

import base64
import warnings

import pytest

from switch.sip.digest import (
    AuthResult,
    DigestVerifier,
    NonceIssuer,
    build_authorization,
    build_challenge,
    compute_ha1,
    parse_credentials,
)
from switch.sip.digest_nonce import WeakSecretError

SECRET = b"0123456789abcdef0123456789abcdef"
REALM = "sip.example.net"
NOW = 1_700_000_000.0
USER, PASSWORD = "alice", "correct horse"
HA1 = {alg: compute_ha1(USER, REALM, PASSWORD, alg) for alg in ("MD5", "SHA-256")}
URI = "sip:sip.example.net"


def _verifier(*, replay_capacity: int = 100_000, accept_legacy: bool = True) -> DigestVerifier:
    return DigestVerifier(
        NonceIssuer(SECRET, REALM), replay_capacity=replay_capacity, accept_legacy=accept_legacy
    )


def _answer(
    nonce: str,
    *,
    algorithm: str = "MD5",
    qop: str | None = "auth",
    nc: int = 1,
    password: str = PASSWORD,
    method: str = "REGISTER",
    realm: str = REALM,
    body: bytes | None = None,
) -> str:
    challenge = build_challenge(realm, nonce, algorithm=algorithm, qop=qop)
    return build_authorization(
        challenge, method, URI, USER, password, cnonce="0a4f113b", nc=nc, body=body
    )


def _check(
    verifier: DigestVerifier,
    header: str,
    now: float = NOW,
    *,
    method: str = "REGISTER",
    body: bytes | None = None,
) -> AuthResult:
    return verifier.verify(parse_credentials(header), method, HA1, now, body=body)


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "MD5-sess", "SHA-256-sess"])
def test_correct_answer_is_ok(algorithm: str) -> None:
    verifier = _verifier()
    nonce = verifier.issuer.issue(NOW)
    assert _check(verifier, _answer(nonce, algorithm=algorithm), NOW + 1) is AuthResult.OK


def test_wrong_password_and_wrong_method_are_bad_responses() -> None:
    verifier = _verifier()
    nonce = verifier.issuer.issue(NOW)
    assert _check(verifier, _answer(nonce, password="wrong")) is AuthResult.BAD_RESPONSE
    header = _answer(nonce, method="REGISTER")
    assert _check(verifier, header, method="INVITE") is AuthResult.BAD_RESPONSE


def test_nonce_count_must_strictly_increase() -> None:
    verifier = _verifier()
    nonce = verifier.issuer.issue(NOW)
    assert _check(verifier, _answer(nonce, nc=1)) is AuthResult.OK
    assert _check(verifier, _answer(nonce, nc=1)) is AuthResult.REPLAY
    assert _check(verifier, _answer(nonce, nc=2)) is AuthResult.OK
    assert _check(verifier, _answer(nonce, nc=5)) is AuthResult.OK
    assert _check(verifier, _answer(nonce, nc=3)) is AuthResult.REPLAY
    # A failed attempt must not poison the count for the honest client.
    assert _check(verifier, _answer(nonce, nc=99, password="x")) is AuthResult.BAD_RESPONSE
    assert _check(verifier, _answer(nonce, nc=6)) is AuthResult.OK


def test_counts_are_tracked_per_nonce() -> None:
    verifier = _verifier()
    first, second = verifier.issuer.issue(NOW), verifier.issuer.issue(NOW)
    assert first != second  # same millisecond, still distinct
    assert _check(verifier, _answer(first)) is AuthResult.OK
    assert _check(verifier, _answer(second)) is AuthResult.OK


def test_upper_case_nonce_count_is_hashed_as_sent() -> None:
    verifier = _verifier()
    nonce = verifier.issuer.issue(NOW)
    header = _answer(nonce, nc=10)
    assert "nc=0000000a" in header
    # Recompute with an upper-case count the way some phones send it.
    from switch.sip.digest_hash import compute_response

    creds = parse_credentials(header)
    response = compute_response(
        HA1["MD5"],
        "MD5",
        method="REGISTER",
        uri=URI,
        nonce=nonce,
        qop="auth",
        nc="0000000A",
        cnonce="0a4f113b",
    )
    upper = header.replace("nc=0000000a", "nc=0000000A").replace(creds.response, response)
    assert _check(verifier, upper) is AuthResult.OK


def test_expired_nonce_is_stale_only_when_response_is_right() -> None:
    verifier = _verifier()
    nonce = verifier.issuer.issue(NOW)
    later = NOW + 301
    assert _check(verifier, _answer(nonce), later) is AuthResult.STALE
    assert _check(verifier, _answer(nonce, password="wrong"), later) is AuthResult.BAD_RESPONSE
    assert _check(verifier, _answer(nonce), NOW + 299) is AuthResult.OK


def test_lifetime_is_configurable() -> None:
    verifier = DigestVerifier(NonceIssuer(SECRET, REALM, lifetime=10))
    nonce = verifier.issuer.issue(NOW)
    assert _check(verifier, _answer(nonce), NOW + 11) is AuthResult.STALE


def _alter(nonce: str, index: int) -> str:
    replacement = "A" if nonce[index] != "A" else "B"
    return nonce[:index] + replacement + nonce[index + 1 :]


@pytest.mark.parametrize("index", [0, 7, 12, 20, 30, 42])
def test_forged_nonce_is_invalid(index: int) -> None:
    verifier = _verifier()
    forged = _alter(verifier.issuer.issue(NOW), index)
    assert _check(verifier, _answer(forged)) is AuthResult.INVALID_NONCE


def test_non_canonical_nonce_spelling_is_invalid() -> None:
    verifier = _verifier()
    nonce = verifier.issuer.issue(NOW)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # The last character carries two unused bits; flip them.
    twin = nonce[:-1] + alphabet[alphabet.index(nonce[-1]) ^ 1]
    assert base64.urlsafe_b64decode(twin + "=") == base64.urlsafe_b64decode(nonce + "=")
    assert _check(verifier, _answer(twin)) is AuthResult.INVALID_NONCE


@pytest.mark.parametrize("nonce", ["", "abc", "dcd98b7102dd2f0e8b11d0f600bfb0c093", "!" * 43])
def test_garbled_nonce_is_invalid(nonce: str) -> None:
    verifier = _verifier()
    assert _check(verifier, _answer(nonce)) is AuthResult.INVALID_NONCE


def test_nonce_from_other_secret_or_realm_is_invalid() -> None:
    verifier = _verifier()
    foreign = NonceIssuer(b"another-secret-of-32-bytes......", REALM).issue(NOW)
    assert _check(verifier, _answer(foreign)) is AuthResult.INVALID_NONCE
    other_realm = NonceIssuer(SECRET, "other.example.net").issue(NOW)
    assert _check(verifier, _answer(other_realm)) is AuthResult.INVALID_NONCE


def test_nonce_from_far_future_is_invalid_but_small_skew_is_tolerated() -> None:
    verifier = _verifier()
    issuer = verifier.issuer
    assert _check(verifier, _answer(issuer.issue(NOW + 10))) is AuthResult.OK
    assert _check(verifier, _answer(issuer.issue(NOW + 3600))) is AuthResult.INVALID_NONCE


def test_any_worker_with_the_secret_accepts_the_nonce() -> None:
    nonce = NonceIssuer(SECRET, REALM).issue(NOW)
    assert _check(_verifier(), _answer(nonce)) is AuthResult.OK


def test_rotated_secret_keeps_old_nonces_valid() -> None:
    old = NonceIssuer(SECRET, REALM).issue(NOW)
    rotated = DigestVerifier(
        NonceIssuer(b"the-new-secret-of-32-bytes......", REALM, previous_secrets=[SECRET])
    )
    assert _check(rotated, _answer(old)) is AuthResult.OK
    assert (
        _check(
            DigestVerifier(NonceIssuer(b"the-new-secret-of-32-bytes......", REALM)), _answer(old)
        )
        is AuthResult.INVALID_NONCE
    )


def test_unknown_or_unstored_algorithm_is_unsupported() -> None:
    verifier = _verifier()
    nonce = verifier.issuer.issue(NOW)
    header = _answer(nonce).replace("algorithm=MD5", "algorithm=SHA-512-256")
    assert _check(verifier, header) is AuthResult.UNSUPPORTED_ALGORITHM
    sha = parse_credentials(_answer(nonce, algorithm="SHA-256"))
    only_md5 = {"MD5": HA1["MD5"]}
    assert verifier.verify(sha, "REGISTER", only_md5, NOW) is AuthResult.UNSUPPORTED_ALGORITHM


def test_unknown_qop_is_unsupported() -> None:
    verifier = _verifier()
    header = _answer(verifier.issuer.issue(NOW)).replace("qop=auth", "qop=auth-conf")
    assert _check(verifier, header) is AuthResult.UNSUPPORTED_QOP


def test_realm_mismatch() -> None:
    verifier = _verifier()
    nonce = verifier.issuer.issue(NOW)
    assert _check(verifier, _answer(nonce, realm="evil.example")) is AuthResult.REALM_MISMATCH


def test_legacy_form_is_accepted_while_fresh_without_replay_protection() -> None:
    verifier = _verifier()
    nonce = verifier.issuer.issue(NOW)
    header = _answer(nonce, qop=None)
    assert "nc=" not in header
    assert _check(verifier, header) is AuthResult.OK
    assert _check(verifier, header) is AuthResult.OK  # documented: no nonce-count to check
    assert _check(verifier, header, NOW + 301) is AuthResult.STALE
    strict = _verifier(accept_legacy=False)
    assert _check(strict, header) is AuthResult.UNSUPPORTED_QOP


def test_auth_int_protects_the_body() -> None:
    verifier = _verifier()
    nonce = verifier.issuer.issue(NOW)
    header = _answer(nonce, qop="auth-int", method="MESSAGE", body=b"hi")
    assert _check(verifier, header, method="MESSAGE", body=b"tampered") is AuthResult.BAD_RESPONSE
    assert _check(verifier, header, method="MESSAGE", body=b"hi") is AuthResult.OK


def test_evicted_nonce_is_refused_as_stale_not_replayable() -> None:
    verifier = _verifier(replay_capacity=2)
    issuer = verifier.issuer
    first = issuer.issue(NOW)
    assert _check(verifier, _answer(first, nc=1)) is AuthResult.OK
    for offset in (1, 2):
        assert _check(verifier, _answer(issuer.issue(NOW + offset))) is AuthResult.OK
    # `first` fell out of the table: its nc=1 request must not be accepted again.
    assert _check(verifier, _answer(first, nc=1), NOW + 3) is AuthResult.STALE
    # Nonces issued after the eviction are unaffected.
    assert _check(verifier, _answer(issuer.issue(NOW + 4)), NOW + 4) is AuthResult.OK


def test_challenges_helper_issues_verifiable_nonce() -> None:
    verifier = _verifier()
    sha, md5 = verifier.challenges(NOW)
    assert "algorithm=SHA-256" in sha and "algorithm=MD5" in md5
    header = build_authorization(sha, "REGISTER", URI, USER, PASSWORD, cnonce="x")
    assert _check(verifier, header) is AuthResult.OK
    assert all("stale=true" in c for c in verifier.challenges(NOW, stale=True))


def test_short_secret_is_refused_and_repr_hides_it() -> None:
    with pytest.raises(WeakSecretError):
        NonceIssuer(b"short", REALM)
    assert SECRET.decode() not in repr(NonceIssuer(SECRET, REALM))


def _pyvoip_register_authorization(challenges: list[str], password: str) -> str:
    """Feed a 401 to pyVoIP 1.6.8 and return the Authorization value it sends back."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pyVoIP.VoIP  # noqa: F401  (breaks pyVoIP's SIP <-> VoIP import cycle)
        from pyVoIP.SIP import SIPClient, SIPMessage

    lines = [
        "SIP/2.0 401 Unauthorized",
        "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK776asdhds;rport",
        'From: "alice" <sip:alice@sip.example.net>;tag=1928301774',
        'To: "alice" <sip:alice@sip.example.net>;tag=a6c85cf',
        "Call-ID: a84b4c76e66710@192.0.2.10",
        "CSeq: 1 REGISTER",
        *(f"WWW-Authenticate: {c}" for c in challenges),
        "Content-Length: 0",
    ]
    response = SIPMessage(("\r\n".join(lines) + "\r\n\r\n").encode())
    # No phone and no sockets: gen_register only hashes and formats.
    client = SIPClient(
        REALM,
        5060,
        USER,
        password,
        phone=None,  # type: ignore[arg-type]
        myIP="192.0.2.10",
        myPort=5062,
    )
    register = client.gen_register(response)
    (auth,) = (ln for ln in register.split("\r\n") if ln.startswith("Authorization: "))
    return auth.removeprefix("Authorization: ")


def test_real_pyvoip_register_verifies() -> None:
    verifier = _verifier()
    header = _pyvoip_register_authorization(verifier.challenges(NOW), PASSWORD)
    creds = parse_credentials(header)
    assert creds.qop is None and creds.algorithm == "MD5"  # RFC 2069 form
    assert creds.uri == f"sip:{REALM};transport=UDP"
    assert verifier.verify(creds, "REGISTER", HA1, NOW + 1) is AuthResult.OK
    wrong = parse_credentials(_pyvoip_register_authorization(verifier.challenges(NOW), "nope"))
    assert verifier.verify(wrong, "REGISTER", HA1, NOW + 1) is AuthResult.BAD_RESPONSE
