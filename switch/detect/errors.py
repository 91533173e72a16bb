"""Exceptions of the abuse-detection package.

Detectors never raise for odd traffic: a strange event is data. These errors
are for bad configuration and for misuse of the enforcement helpers.
"""

from __future__ import annotations


class DetectError(Exception):
    """Base of the detection package's errors."""


class ThresholdError(DetectError, ValueError):
    """A threshold set is inconsistent (critical below warning, a negative window...)."""


class UnknownRestriction(DetectError, KeyError):
    """A restriction id that the restriction state does not hold (already lifted or never made)."""
