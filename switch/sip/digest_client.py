"""Client side of Digest: read a challenge, answer it (RFC 7616 §3.4, RFC 8760)."""

from __future__ import annotations

from dataclasses import dataclass

from switch.sip.digest_hash import (
    DigestAlgorithm,
    UnsupportedQopError,
    compute_ha1,
    compute_response,
    parse_algorithm,
)
from switch.sip.digest_params import NotDigest, parse_auth_params, quote, split_scheme
from switch.sip.errors import ParseError


@dataclass(frozen=True, slots=True)
class DigestChallenge:
    """One WWW-Authenticate / Proxy-Authenticate Digest challenge."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop_options: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False


def parse_challenge(value: str) -> DigestChallenge:
    """Parse a challenge; raises ``NotDigest`` or ``ParseError``."""
    scheme, rest = split_scheme(value)
    if scheme.lower() != "digest":
        raise NotDigest(scheme)
    params = parse_auth_params(rest)
    for name in ("realm", "nonce"):
        if name not in params:
            raise ParseError(f"Digest challenge lacks {name}")
    qop_text = params.get("qop", "")
    options = tuple(opt.strip(" \t").lower() for opt in qop_text.split(",") if opt.strip(" \t"))
    return DigestChallenge(
        realm=params["realm"],
        nonce=params["nonce"],
        algorithm=params.get("algorithm", "MD5"),
        qop_options=options,
        opaque=params.get("opaque"),
        stale=params.get("stale", "").lower() == "true",
    )


def _choose_qop(options: tuple[str, ...], algorithm: DigestAlgorithm) -> str | None:
    # No qop offered means the RFC 2069 form, which cannot carry a -sess key.
    if not options and not algorithm.is_session:
        return None
    for preferred in ("auth", "auth-int"):
        if preferred in options:
            return preferred
    raise UnsupportedQopError("challenge offers no usable qop")


def build_authorization(
    challenge_value: str,
    method: str,
    uri: str,
    username: str,
    password: str,
    *,
    cnonce: str,
    nc: int = 1,
    body: bytes | None = None,
) -> str:
    """An Authorization / Proxy-Authorization value answering ``challenge_value``.

    Prefers qop=auth; falls back to auth-int (hashing ``body``) or, when the
    challenge offers no qop, to the RFC 2069 form. Raises ``NotDigest``,
    ``ParseError``, ``UnsupportedAlgorithmError`` or ``UnsupportedQopError``.
    """
    challenge = parse_challenge(challenge_value)
    algorithm = parse_algorithm(challenge.algorithm)
    qop = _choose_qop(challenge.qop_options, algorithm)
    if qop is not None and not 0 < nc <= 0xFFFFFFFF:
        raise ValueError("nonce-count must fit in 8 hex digits and be positive")
    nc_text = f"{nc:08x}"
    ha1 = compute_ha1(username, challenge.realm, password, algorithm.base)
    response = compute_response(
        ha1,
        algorithm,
        method=method,
        uri=uri,
        nonce=challenge.nonce,
        qop=qop,
        nc=nc_text if qop else None,
        cnonce=cnonce if qop else None,
        body=body,
    )
    parts = [
        f"username={quote(username)}",
        f"realm={quote(challenge.realm)}",
        f"nonce={quote(challenge.nonce)}",
        f"uri={quote(uri)}",
        f'response="{response}"',
        f"algorithm={algorithm.value}",
    ]
    if qop is not None:
        parts += [f"qop={qop}", f"nc={nc_text}", f"cnonce={quote(cnonce)}"]
    if challenge.opaque is not None:
        parts.append(f"opaque={quote(challenge.opaque)}")
    return "Digest " + ", ".join(parts)
