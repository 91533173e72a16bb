"""The softswitch: SIP registrar and stateful proxy with policy enforcement."""

__version__ = "0.1.0"
