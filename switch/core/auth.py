"""Digest authentication of requests from devices (RFC 3261 §22, RFC 8760)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from switch.config import Settings
from switch.sip.digest import AuthResult, DigestVerifier, parse_credentials
from switch.sip.digest_nonce import NonceIssuer
from switch.sip.errors import ParseError
from switch.sip.message import Request, Response, make_response

from .directory import DeviceRecord, Directory


class AuthStatus(StrEnum):
    """Bounded outcome set (a metric label)."""

    OK = "ok"
    MISSING = "missing"
    STALE = "stale"
    UNKNOWN_USER = "unknown_user"
    BAD_PASSWORD = "bad_password"
    REPLAY = "replay"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class AuthCheck:
    status: AuthStatus
    device: DeviceRecord | None = None
    username: str | None = None


_RESULTS = {
    AuthResult.OK: AuthStatus.OK,
    AuthResult.STALE: AuthStatus.STALE,
    AuthResult.BAD_RESPONSE: AuthStatus.BAD_PASSWORD,
    AuthResult.REPLAY: AuthStatus.REPLAY,
}


def load_nonce_secret(settings: Settings) -> bytes:
    """The configured secret, else one kept in data_dir so restarts honour old nonces."""
    if settings.sip.nonce_secret:
        return settings.sip.nonce_secret.encode()
    path = Path(settings.data_dir) / "nonce.key"
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex())
    return key


class Authenticator:
    def __init__(
        self, realm: str, secret: bytes, algorithms: tuple[str, ...], nonce_lifetime: int
    ) -> None:
        self.realm = realm
        self._algorithms = algorithms
        self._verifier = DigestVerifier(NonceIssuer(secret, realm, lifetime=nonce_lifetime))
        # Told of every failed check (for metrics and the brute-force detector).
        self.on_failure: Callable[[AuthCheck], None] | None = None

    def check(self, request: Request, header: str, directory: Directory, now: float) -> AuthCheck:
        """Find credentials for our realm in ``header`` and judge them."""
        credentials = None
        for value in request.headers.get_all(header):
            try:
                parsed = parse_credentials(value)
            except ParseError:
                continue  # other schemes (RFC 4475 regaut01) earn a fresh challenge
            if parsed.realm == self.realm:
                credentials = parsed
                break
        if credentials is None:
            return AuthCheck(AuthStatus.MISSING)
        username = credentials.username
        device = directory.device(username)
        if device is None:
            return self._note(AuthCheck(AuthStatus.UNKNOWN_USER, username=username))
        result = self._verifier.verify(credentials, request.method, device.ha1, now)
        status = _RESULTS.get(result, AuthStatus.INVALID)
        return self._note(AuthCheck(status, device if status is AuthStatus.OK else None, username))

    def _note(self, check: AuthCheck) -> AuthCheck:
        if check.status not in (AuthStatus.OK, AuthStatus.MISSING) and self.on_failure:
            self.on_failure(check)
        return check

    def challenge(self, request: Request, check: AuthCheck, *, proxy: bool, now: float) -> Response:
        status, header = (407, "Proxy-Authenticate") if proxy else (401, "WWW-Authenticate")
        response = make_response(request, status)
        stale = check.status is AuthStatus.STALE
        for value in self._verifier.challenges(now, stale=stale, algorithms=self._algorithms):
            response.headers.add(header, value)
        return response
