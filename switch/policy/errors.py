"""Exceptions of the policy package.

Classification and evaluation never raise for a dialled string or a call: bad
input becomes an INVALID destination or a deny decision. These errors are for
operator data (list files) and for misuse of the helpers.
"""

from __future__ import annotations


class PolicyError(Exception):
    """Base of the policy package's errors."""


class PolicyDataError(PolicyError):
    """A policy data file (high-risk or embargo list) cannot be read or is malformed."""

    def __init__(self, reason: str, *, source: str, line: int | None = None) -> None:
        where = source if line is None else f"{source}:{line}"
        super().__init__(f"{where}: {reason}")
        self.reason = reason
        self.source = source
        self.line = line


class NotADenial(PolicyError, ValueError):
    """A header helper that explains a refusal was given a decision that allows the call."""
