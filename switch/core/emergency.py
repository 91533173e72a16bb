"""Emergency calls carry the caller's location by value (RFC 6442, RFC 4119, RFC 5491).

Nothing here may stop a 911 call: every failure degrades to sending the call
without a location part, and the call record says so.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from e911.geolocation import build_location_body, geolocation_header, geolocation_routing
from e911.pidf import build_pidf_lo
from switch import ids
from switch.sip.message import Request

from .directory import DeviceRecord, Directory
from .e911_types import EmergencyLocation, LocationSource

__all__ = ["EmergencyLocation", "LocationSource", "add_location", "locate"]

log = logging.getLogger(__name__)


def locate(device: DeviceRecord, directory: Directory) -> EmergencyLocation | None:
    """The device's registered address, else its site's, else its account's."""
    found = directory.locations.get(device.id)
    return found.for_emergency() if found is not None else None


def add_location(
    request: Request,
    location: EmergencyLocation | None,
    *,
    callback: str | None,
    device_id: str,
    host: str,
    now: float,
) -> None:
    """Turn a forwarded INVITE into an emergency INVITE: location, priority, callback."""
    request.headers.set("Priority", "emergency")
    if callback:
        request.headers.set("P-Asserted-Identity", f"<sip:{callback}@{host}>")
    if location is None:
        return
    try:
        entity = f"sip:{callback}@{host}" if callback else f"sip:{device_id}@{host}"
        pidf = build_pidf_lo(
            location.address,
            entity=entity,
            device_id=device_id,
            method="Manual",
            timestamp=datetime.fromtimestamp(now, UTC),
            retransmission_allowed=True,  # the PSAP may pass it on to responders
        )
        content_id = f"{ids.token(8)}@{host.strip('[]')}"
        if request.body:
            content_type, body = build_location_body(
                request.body, pidf, content_id=content_id, boundary=f"loc-{ids.token(8)}"
            )
        else:  # no offer to go with it: the location is the whole body
            content_type, body = "application/pidf+xml", pidf
            request.headers.set("Content-ID", f"<{content_id}>")
    except Exception:  # a bad address must not cost the call its way to the PSAP
        log.exception("could not attach the location to an emergency call")
        return
    request.body = body
    request.headers.set("Content-Type", content_type)
    request.headers.set("Geolocation", geolocation_header(content_id))
    # The emergency network routes on this location (to the right PSAP).
    request.headers.set("Geolocation-Routing", geolocation_routing(True))
