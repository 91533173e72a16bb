"""Location service: the contacts each device is reachable at, in memory.

The registrar is the only writer; the proxy reads. Persisting bindings is the
job of ``BindingStore`` so that this class never blocks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from switch.transport.peer import Peer


@dataclass(slots=True)
class Binding:
    device_id: int
    aor: str
    contact: str  # the Contact URI as registered, with its URI parameters
    expires_at: float  # seconds since the epoch
    call_id: str
    cseq: int
    source: Peer  # where the REGISTER came from: requests to the phone go there (NAT)
    q: float | None = None
    instance_id: str | None = None
    reg_id: int | None = None
    user_agent: str | None = None

    def remaining(self, now: float) -> int:
        return max(0, int(self.expires_at - now + 0.5))

    def same_flow(self, other: Binding) -> bool:
        """RFC 5626 §6: one binding per instance and reg-id, else per Contact URI."""
        if self.instance_id is not None and self.reg_id is not None:
            return (self.instance_id, self.reg_id) == (other.instance_id, other.reg_id)
        return self.contact == other.contact


class LocationService:
    def __init__(self) -> None:
        self._by_device: dict[int, list[Binding]] = {}

    def bindings(self, device_id: int, now: float) -> list[Binding]:
        return [b for b in self._by_device.get(device_id, ()) if b.expires_at > now]

    def replace(self, device_id: int, bindings: list[Binding]) -> None:
        if bindings:
            self._by_device[device_id] = bindings
        else:
            self._by_device.pop(device_id, None)

    def expire(self, now: float) -> list[Binding]:
        """Drop bindings whose time is up; returns them so the store can forget them too."""
        gone: list[Binding] = []
        for device_id in list(self._by_device):
            keep: list[Binding] = []
            for binding in self._by_device[device_id]:
                (keep if binding.expires_at > now else gone).append(binding)
            self.replace(device_id, keep)
        return gone

    def __iter__(self) -> Iterator[Binding]:
        for bindings in self._by_device.values():
            yield from bindings

    def __len__(self) -> int:
        return sum(len(b) for b in self._by_device.values())

    def devices_registered(self) -> int:
        return len(self._by_device)
