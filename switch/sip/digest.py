"""SIP Digest authentication, server side (RFC 3261 §22, RFC 7616, RFC 8760).

Pure library: header values in, verdicts out; ``now`` and secrets are passed in.

Accepted forms:
  * qop=auth (and qop=auth-int, hashing the body the caller passes), with a
    nonce-count that must strictly increase per nonce (replay protection);
  * the RFC 2069 form without qop/nc/cnonce, as pyVoIP 1.6.8 sends it. It has
    no nonce-count, so a captured request can be replayed while its nonce is
    fresh (``NonceIssuer.lifetime``); pass ``accept_legacy=False`` to refuse it;
  * algorithms MD5 and SHA-256 and their "-sess" variants (keyed from the same
    stored HA1, so accepting them is free; they require qop).

The registrar should send one challenge per algorithm, SHA-256 first
(RFC 8760 §2.4), all carrying the same nonce: pyVoIP reads only the first
challenge but always answers with MD5, which then still verifies.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from switch.sip.digest_client import DigestChallenge, build_authorization, parse_challenge
from switch.sip.digest_hash import (
    QOP_VALUES,
    DigestAlgorithm,
    DigestInputError,
    UnsupportedAlgorithmError,
    UnsupportedQopError,
    compute_ha1,
    compute_response,
    octets,
    parse_algorithm,
)
from switch.sip.digest_nonce import CountVerdict, NonceCounter, NonceIssuer, NonceState
from switch.sip.digest_params import (
    NotDigest,
    UnsafeValueError,
    parse_auth_params,
    quote,
    split_scheme,
)
from switch.sip.errors import ParseError

__all__ = [
    "DEFAULT_ALGORITHMS",
    "AuthResult",
    "DigestAlgorithm",
    "DigestChallenge",
    "DigestCredentials",
    "DigestInputError",
    "DigestVerifier",
    "NonceIssuer",
    "NotDigest",
    "UnsafeValueError",
    "UnsupportedAlgorithmError",
    "UnsupportedQopError",
    "build_authorization",
    "build_challenge",
    "build_challenges",
    "compute_ha1",
    "compute_response",
    "parse_challenge",
    "parse_credentials",
    "redact_authorization",
]

DEFAULT_ALGORITHMS: tuple[str, ...] = ("SHA-256", "MD5")
_REQUIRED = ("username", "realm", "nonce", "uri", "response")
_NC_SHAPE = re.compile(r"[0-9A-Fa-f]{8}")
# Parameters safe to show in logs; everything else becomes ***.
_LOGGABLE = frozenset({"username", "realm", "uri", "algorithm", "qop", "nc", "stale"})
_LOG_TOKEN = re.compile(r"[A-Za-z0-9\-.]+")


class AuthResult(Enum):
    OK = "ok"
    STALE = "stale"  # correct response, nonce expired: re-challenge with stale=true
    BAD_RESPONSE = "bad-response"  # wrong password, or wrong method/uri in the hash
    REPLAY = "replay"  # nonce-count not above the last one accepted for this nonce
    INVALID_NONCE = "invalid-nonce"  # forged, garbled or issued for another realm
    UNSUPPORTED_ALGORITHM = "unsupported-algorithm"  # unknown, or no HA1 stored for it
    UNSUPPORTED_QOP = "unsupported-qop"  # unknown qop, or legacy form when refused
    REALM_MISMATCH = "realm-mismatch"


@dataclass(frozen=True, slots=True)
class DigestCredentials:
    """A parsed Authorization / Proxy-Authorization Digest value (values unquoted)."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str = field(repr=False)
    algorithm: str = "MD5"
    qop: str | None = None  # lower-cased
    nc: int | None = None
    cnonce: str | None = None
    opaque: str | None = None
    params: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False, hash=False
    )


def parse_credentials(value: str) -> DigestCredentials:
    """Parse credentials; ``NotDigest`` for other schemes, ``ParseError`` otherwise."""
    scheme, rest = split_scheme(value)
    if scheme.lower() != "digest":
        raise NotDigest(scheme)
    params = parse_auth_params(rest)
    missing = [name for name in _REQUIRED if name not in params]
    if missing:
        raise ParseError(f"Digest credentials lack {', '.join(missing)}")
    qop = params.get("qop")
    nc: int | None = None
    cnonce: str | None = None
    if qop is not None:
        qop = qop.lower()
        nc_text, cnonce = params.get("nc"), params.get("cnonce")
        if nc_text is None or cnonce is None:
            raise ParseError("Digest credentials with qop lack nc or cnonce")
        if not _NC_SHAPE.fullmatch(nc_text):
            raise ParseError("Digest nonce-count is not 8 hex digits")
        nc = int(nc_text, 16)
    algorithm = params.get("algorithm", "MD5")
    if qop is None and algorithm.lower().endswith("-sess"):
        raise ParseError("Digest -sess algorithm without qop")
    return DigestCredentials(
        username=params["username"],
        realm=params["realm"],
        nonce=params["nonce"],
        uri=params["uri"],
        response=params["response"],
        algorithm=algorithm,
        qop=qop,
        nc=nc,
        cnonce=cnonce,
        opaque=params.get("opaque"),
        params=MappingProxyType(params),
    )


def build_challenge(
    realm: str,
    nonce: str,
    *,
    algorithm: str = "MD5",
    stale: bool = False,
    qop: str | None = "auth",
    opaque: str | None = None,
) -> str:
    """A WWW-Authenticate / Proxy-Authenticate value; ``qop=None`` asks for RFC 2069 form."""
    parts = [f"realm={quote(realm)}", f"nonce={quote(nonce)}"]
    if opaque is not None:
        parts.append(f"opaque={quote(opaque)}")
    parts.append(f"algorithm={parse_algorithm(algorithm).value}")
    if qop is not None:
        parts.append(f"qop={quote(qop)}")
    if stale:
        parts.append("stale=true")
    return "Digest " + ", ".join(parts)


def build_challenges(
    realm: str,
    nonce: str,
    algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
    stale: bool = False,
    *,
    qop: str | None = "auth",
    opaque: str | None = None,
) -> list[str]:
    """One challenge per algorithm, in the given (preference) order, sharing ``nonce``."""
    return [
        build_challenge(realm, nonce, algorithm=alg, stale=stale, qop=qop, opaque=opaque)
        for alg in algorithms
    ]


class DigestVerifier:
    """Checks credentials against stored HA1 values, nonces and nonce-counts.

    One instance per realm and worker; the replay table is in memory, so a
    client must keep talking to the worker that accepted its first count
    (nonce-counts seen elsewhere are unknown here and start afresh).
    """

    __slots__ = ("_accept_legacy", "_counter", "_issuer")

    def __init__(
        self,
        issuer: NonceIssuer,
        *,
        replay_capacity: int = 100_000,
        accept_legacy: bool = True,
    ) -> None:
        self._issuer = issuer
        self._counter = NonceCounter(replay_capacity)
        self._accept_legacy = accept_legacy

    @property
    def realm(self) -> str:
        return self._issuer.realm

    @property
    def issuer(self) -> NonceIssuer:
        return self._issuer

    def challenges(
        self, now: float, *, stale: bool = False, algorithms: Sequence[str] = DEFAULT_ALGORITHMS
    ) -> list[str]:
        """Fresh challenges (one nonce shared by all algorithms) for a 401/407."""
        return build_challenges(self.realm, self._issuer.issue(now), algorithms, stale)

    def verify(
        self,
        credentials: DigestCredentials,
        method: str,
        ha1_by_algorithm: Mapping[str, str],
        now: float,
        *,
        body: bytes | None = None,
    ) -> AuthResult:
        """Judge ``credentials`` for a request with ``method`` (and ``body`` for auth-int).

        ``ha1_by_algorithm`` maps "MD5" / "SHA-256" to the stored HA1 hex.
        The caller should also check that ``credentials.uri`` names the request.
        """
        if credentials.realm != self._issuer.realm:
            return AuthResult.REALM_MISMATCH
        try:
            algorithm = parse_algorithm(credentials.algorithm)
        except UnsupportedAlgorithmError:
            return AuthResult.UNSUPPORTED_ALGORITHM
        ha1 = ha1_by_algorithm.get(algorithm.base.value)
        if ha1 is None:
            return AuthResult.UNSUPPORTED_ALGORITHM
        qop = credentials.qop
        if qop is not None and qop not in QOP_VALUES:
            return AuthResult.UNSUPPORTED_QOP
        if qop is None and not self._accept_legacy:
            return AuthResult.UNSUPPORTED_QOP
        nonce = self._issuer.check(credentials.nonce, now)
        if nonce.state is NonceState.INVALID:
            return AuthResult.INVALID_NONCE
        if not self._response_matches(credentials, algorithm, ha1, method, body):
            return AuthResult.BAD_RESPONSE
        if nonce.state is NonceState.STALE:
            return AuthResult.STALE
        if credentials.nc is None:
            return AuthResult.OK
        verdict = self._counter.advance(credentials.nonce, nonce.issued_at, credentials.nc)
        return _COUNT_RESULTS[verdict]

    @staticmethod
    def _response_matches(
        credentials: DigestCredentials,
        algorithm: DigestAlgorithm,
        ha1: str,
        method: str,
        body: bytes | None,
    ) -> bool:
        nc_text: str | None = None
        if credentials.qop is not None and credentials.nc is not None:
            # Hash the count exactly as sent: clients may use upper-case hex.
            nc_text = credentials.params.get("nc", f"{credentials.nc:08x}")
        try:
            expected = compute_response(
                ha1.lower(),
                algorithm,
                method=method,
                uri=credentials.uri,
                nonce=credentials.nonce,
                qop=credentials.qop,
                nc=nc_text,
                cnonce=credentials.cnonce,
                body=body,
            )
        except DigestInputError:
            return False
        return hmac.compare_digest(octets(expected), octets(credentials.response.lower()))


_COUNT_RESULTS = {
    CountVerdict.ACCEPTED: AuthResult.OK,
    CountVerdict.REPLAY: AuthResult.REPLAY,
    # The table may have dropped this nonce: refuse, but as stale so that an
    # honest client retries with a new nonce without asking its user.
    CountVerdict.FORGOTTEN: AuthResult.STALE,
}


def redact_authorization(value: str) -> str:
    """A log-safe copy of an Authorization value: response, nonces and unknowns -> ***."""
    try:
        scheme, rest = split_scheme(value)
    except ParseError:
        return "***"
    try:
        params = parse_auth_params(rest) if scheme.lower() == "digest" else None
    except ParseError:
        params = None
    if params is None:
        return f"{scheme} ***"
    shown = [
        f"{name}={_log_quote(text)}" if name in _LOGGABLE else f"{name}=***"
        for name, text in params.items()
    ]
    return f"{scheme} " + ", ".join(shown)


def _log_quote(text: str) -> str:
    if _LOG_TOKEN.fullmatch(text):
        return text
    return quote("".join(ch if ch.isprintable() else "?" for ch in text))
