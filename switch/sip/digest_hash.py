"""Digest hash computations (RFC 7616 §3.4.1-3.4.3, RFC 8760 for SIP).

The stored secret is HA1 = H(username ":" realm ":" password), one per hash
function. The "-sess" variants derive their key from that same HA1 and the
nonce/cnonce pair, so they cost nothing extra to accept.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum


class UnsupportedAlgorithmError(ValueError):
    """An algorithm name this library does not implement (e.g. SHA-512-256)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unsupported digest algorithm {name[:32]!r}")
        self.name = name


class UnsupportedQopError(ValueError):
    """A quality of protection other than auth and auth-int."""


class DigestInputError(ValueError):
    """qop without nc/cnonce, or a "-sess" algorithm without qop."""


class DigestAlgorithm(StrEnum):
    MD5 = "MD5"
    MD5_SESS = "MD5-sess"
    SHA256 = "SHA-256"
    SHA256_SESS = "SHA-256-sess"

    @property
    def is_session(self) -> bool:
        return self in _SESSION

    @property
    def base(self) -> DigestAlgorithm:
        """The algorithm whose stored HA1 this one uses."""
        return _BASE.get(self, self)


_SESSION = frozenset({DigestAlgorithm.MD5_SESS, DigestAlgorithm.SHA256_SESS})
_BASE = {
    DigestAlgorithm.MD5_SESS: DigestAlgorithm.MD5,
    DigestAlgorithm.SHA256_SESS: DigestAlgorithm.SHA256,
}
_BY_NAME = {alg.value.lower(): alg for alg in DigestAlgorithm}
QOP_VALUES = frozenset({"auth", "auth-int"})


def parse_algorithm(name: str) -> DigestAlgorithm:
    """Map an algorithm token, compared case-insensitively, to its enum member."""
    try:
        return _BY_NAME[name.lower()]
    except KeyError:
        raise UnsupportedAlgorithmError(name) from None


def octets(text: str) -> bytes:
    """UTF-8 (RFC 7616 charset) that round-trips bytes a parser kept as surrogates."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _h(algorithm: DigestAlgorithm, data: bytes) -> str:
    if algorithm.base is DigestAlgorithm.MD5:
        return hashlib.md5(data).hexdigest()
    return hashlib.sha256(data).hexdigest()


def compute_ha1(username: str, realm: str, password: str, algorithm: str = "MD5") -> str:
    """The value to store: H(username:realm:password) as lower-case hex.

    A "-sess" name returns the HA1 of its base algorithm, which is what is stored.
    """
    alg = parse_algorithm(algorithm)
    return _h(alg, octets(f"{username}:{realm}:{password}"))


def compute_response(
    ha1: str,
    algorithm: str,
    *,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
    body: bytes | None = None,
) -> str:
    """The request-digest (RFC 7616 §3.4.1); without qop, the RFC 2069 form.

    ``nc`` is the 8-hex-digit text exactly as sent; ``body`` (None means
    empty) matters for qop=auth-int only.
    """
    alg = parse_algorithm(algorithm)
    if qop is not None and qop not in QOP_VALUES:
        raise UnsupportedQopError(f"unsupported qop {qop[:32]!r}")
    if qop is None and alg.is_session:
        raise DigestInputError("-sess algorithms need qop")
    if qop is not None and (nc is None or cnonce is None):
        raise DigestInputError("qop needs nc and cnonce")
    key = ha1
    if alg.is_session:
        key = _h(alg, octets(f"{ha1}:{nonce}:{cnonce}"))
    a2 = f"{method}:{uri}"
    if qop == "auth-int":
        a2 += ":" + _h(alg, body or b"")
    ha2 = _h(alg, octets(a2))
    if qop is None:
        return _h(alg, octets(f"{key}:{nonce}:{ha2}"))
    return _h(alg, octets(f"{key}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}"))
