"""What happens beside an emergency call: on-site notification and transfer incidents.

The proxy reports; this module tells people and writes the audit rows. Nothing here
runs before the emergency INVITE has left, and nothing here can fail the call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from e911.dispatchable import dispatchable_location
from provisioning.e911_models import (
    ContactKind,
    EmergencyNotification,
    NotificationStatus,
    TransferIncident,
)
from provisioning.e911_models import TransferKind as StoredKind

from .directory import DeviceRecord
from .e911_types import EmergencyLocation, LocationSource
from .notify import Channel, Delivery, DeliveryStatus, EmergencyNotice, Notifier, Target
from .transfers import TransferKind

if TYPE_CHECKING:
    from .service import SwitchService

log = logging.getLogger(__name__)

_CHANNEL_KIND = {
    Channel.WEBHOOK: ContactKind.WEBHOOK,
    Channel.EMAIL: ContactKind.EMAIL,
    Channel.SIP: ContactKind.SIP,
}


class EmergencyEvents:
    def __init__(self, service: SwitchService, notifier: Notifier) -> None:
        self._service = service
        self._notifier = notifier
        self._tasks: set[asyncio.Task[None]] = set()

    def emergency_call(
        self,
        call_id: str,
        device: DeviceRecord,
        location: EmergencyLocation | None,
        callback: str | None,
        *,
        test_call: bool,
        now: float,
    ) -> None:
        """An emergency call has just been sent on; tell the site (not for 933 tests)."""
        service = self._service
        source = location.source if location else LocationSource.NONE
        if test_call:
            service.metrics.emergency_call(source.value, "none")
            return
        extension = service.directory.extensions_by_id.get(device.extension_id)
        notice = EmergencyNotice(
            event="emergency_call",
            call_id=call_id,
            callback_number=callback,
            extension=extension.number if extension else None,
            device=device.username,
            location=_describe(location),
            location_source=source.value,
            time=datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"),
        )

        def done(outcome: str) -> None:
            service.metrics.emergency_call(source.value, outcome)

        self._tell_site(notice, device, done)

    def _tell_site(
        self, notice: EmergencyNotice, device: DeviceRecord, done: Callable[[str], None]
    ) -> None:
        """Deliver ``notice`` to every contact of the device's site, in the background."""
        service = self._service
        directory = service.directory
        known = directory.locations.get(device.id)
        site_id = known.site_id if known is not None else None
        contacts = directory.site_contacts.get(site_id) if site_id is not None else None
        targets: list[Target] = []
        if contacts is not None:
            targets += [Target(Channel.WEBHOOK, url) for url in contacts.webhooks]
            targets += [Target(Channel.EMAIL, mail) for mail in contacts.emails]
            account = contacts.account_id
            targets += [Target(Channel.SIP, ext, account) for ext in contacts.sip_extensions]
        if not targets:
            log.error("%s from device %s: its site has no one to notify", notice.event, device.id)
            done("none")
            return

        def store(delivery: Delivery) -> None:
            service.rows.add(_notification_row(notice, device, site_id, delivery))

        async def run() -> None:
            results = await self._notifier.notify(notice, targets, store)
            failed = any(d.status is DeliveryStatus.FAILED for d in results)
            retried = any(d.attempts > 1 for d in results)
            done("failed" if failed else ("retried" if retried else "sent"))

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def transfer_to_911(
        self, call_id: str, kind: TransferKind, account_id: int | None, device_id: int | None
    ) -> None:
        """A transfer or forward to 911: the call goes on, the incident is charged."""
        service = self._service
        account = service.directory.accounts.get(account_id) if account_id else None
        fee = account.e911.transfer_fee if account else "150.00"
        log.warning("call transferred or forwarded to 911 (%s); incident recorded", kind.value)
        service.metrics.transfer_to_911()
        service.rows.add(
            TransferIncident(
                call_id=call_id,
                account_id=account_id,
                device_id=device_id,
                kind=StoredKind(kind.value),
                fee=fee,
                currency="USD",
                details={"detected_by": kind.value},
            )
        )
        device = next((d for d in service.directory.devices.values() if d.id == device_id), None)
        if device is None:
            return
        extension = service.directory.extensions_by_id.get(device.extension_id)
        notice = EmergencyNotice(
            event="transfer_to_911",
            call_id=call_id,
            callback_number=None,
            extension=extension.number if extension else None,
            device=device.username,
            location=None,
            location_source="none",
            time=datetime.now(UTC).isoformat(timespec="milliseconds"),
        )
        # The site and the account's people hear of it: the caller's location was lost.
        self._tell_site(notice, device, lambda outcome: None)


def _describe(location: EmergencyLocation | None) -> str | None:
    if location is None:
        return None
    try:
        return dispatchable_location(location.address)
    except Exception:  # an address that no longer validates is still worth showing
        return ", ".join(v for _, v in location.address.elements())


def _notification_row(
    notice: EmergencyNotice, device: DeviceRecord, site_id: int | None, delivery: Delivery
) -> EmergencyNotification:
    sent = delivery.status is DeliveryStatus.SENT
    return EmergencyNotification(
        call_id=notice.call_id,
        device_id=device.id,
        site_id=site_id,
        channel=_CHANNEL_KIND[delivery.target.channel],
        target=delivery.target.address,
        status=NotificationStatus.SENT if sent else NotificationStatus.FAILED,
        attempts=delivery.attempts,
        last_error=delivery.error,
        payload=delivery.payload,
        sent_at=datetime.now(UTC) if sent else None,
    )
