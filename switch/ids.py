"""Identifiers that must be unique, not secret: branches, tags, Call-IDs, content ids.

Each ``secrets`` call is a system call, and system calls are dear on the packet path;
these come from a generator seeded once from the operating system instead. Nonces and
keys, which must be unguessable, keep using ``secrets``.
"""

from __future__ import annotations

import os
import random

_random = random.Random(os.urandom(32))


def token(nbytes: int = 6) -> str:
    """``nbytes`` random bytes as lower-case hex (like ``secrets.token_hex``)."""
    return f"{_random.getrandbits(nbytes * 8):0{nbytes * 2}x}"


def reseed() -> None:
    """After a fork, so that two processes never share a sequence."""
    _random.seed(os.urandom(32))


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=reseed)
