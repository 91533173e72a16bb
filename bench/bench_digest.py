"""Print Digest verifications per second (parse + verify) for each supported form.

Run: python bench/bench_digest.py [seconds-per-case]
"""

from __future__ import annotations

import sys
import time

from switch.sip.digest import (
    AuthResult,
    DigestVerifier,
    NonceIssuer,
    build_authorization,
    build_challenge,
    compute_ha1,
    parse_credentials,
)

REALM = "bench.example.net"
USER, PASSWORD = "alice", "secret"
HA1 = {alg: compute_ha1(USER, REALM, PASSWORD, alg) for alg in ("MD5", "SHA-256")}


def _rate(algorithm: str, qop: str | None, seconds: float) -> float:
    now = 1_700_000_000.0
    verifier = DigestVerifier(NonceIssuer(b"b" * 32, REALM))
    nonce = verifier.issuer.issue(now)
    challenge = build_challenge(REALM, nonce, algorithm=algorithm, qop=qop)
    # Pre-build distinct nonce-counts so every verification is accepted, not a replay.
    headers = [
        build_authorization(challenge, "REGISTER", f"sip:{REALM}", USER, PASSWORD, cnonce="c", nc=n)
        for n in range(1, 20_001)
    ]
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds and done < len(headers):
        creds = parse_credentials(headers[done])
        if verifier.verify(creds, "REGISTER", HA1, now) is not AuthResult.OK:
            raise SystemExit(f"unexpected result for {algorithm} qop={qop}")
        done += 1
    return done / (time.perf_counter() - start)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    for algorithm in ("MD5", "SHA-256", "SHA-256-sess"):
        for qop in ("auth", None):
            if qop is None and algorithm.endswith("-sess"):
                continue
            rate = _rate(algorithm, qop, seconds)
            print(f"{algorithm:13} qop={qop or 'none':5} {rate:10,.0f} verifications/s")


if __name__ == "__main__":
    main()
