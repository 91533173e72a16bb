"""Feeds the metrics: call outcomes as records finish, gauges once a second."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from switch.cdr.record import CallRecord, Direction
from switch.cdr.sink import CdrSink
from switch.metrics import CallState, Metrics

from .dialogs import DialogState
from .guard import AbuseGuard

if TYPE_CHECKING:
    from .service import SwitchService

log = logging.getLogger(__name__)


class MeteredCdrSink:
    """Counts each finished call by class and disposition, then passes the record on."""

    def __init__(self, inner: CdrSink, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics
        self.guard: AbuseGuard | None = None  # fed answers and ends of calls

    def open(self, record: CallRecord) -> None:
        try:
            self._inner.open(record)
        except Exception:  # billing trouble must never break call handling
            log.exception("call record %s could not be queued", record.id)

    def update(self, record: CallRecord) -> None:
        if self.guard is not None:
            self.guard.call_answered(record)
        try:
            self._inner.update(record)
        except Exception:
            log.exception("call record %s could not be queued", record.id)

    def finish(self, record: CallRecord) -> None:
        if self.guard is not None:
            self.guard.call_finished(record)
        call_class = record.destination_class or (
            "inbound" if record.direction is Direction.INBOUND else "internal"
        )
        disposition = (record.disposition or "failed").replace("-", "_")
        self._metrics.call_ended(call_class, disposition)
        if record.answer_time is not None:
            self._metrics.call_setup((record.answer_time - record.start_time).total_seconds())
        elif record.end_time is not None:
            self._metrics.call_setup((record.end_time - record.start_time).total_seconds())
        try:
            self._inner.finish(record)
        except Exception:
            log.exception("call record %s could not be queued", record.id)


def refresh_gauges(service: SwitchService) -> None:
    metrics = service.metrics
    metrics.transactions.set(len(service.transactions))
    metrics.bindings.set(len(service.location))
    metrics.devices.set(service.location.devices_registered())
    proxy = service.proxy
    if proxy is not None:
        metrics.set_active_calls(CallState.CONFIRMED, proxy.dialogs.count(DialogState.CONFIRMED))
        early = sum(1 for c in proxy.contexts.values() if c.record is not None and not c.answered)
        metrics.set_active_calls(CallState.EARLY, early)
    by_transport: dict[str, int] = {"tcp": 0, "tls": 0}
    for connection in service.transports.connections:
        by_transport[connection.transport_name] = by_transport.get(connection.transport_name, 0) + 1
    for transport, count in by_transport.items():
        metrics.set_connections(transport, count)
    writer = service.cdr_writer
    if writer is not None:
        metrics.cdr_queue.set(writer.queue_depth)
        metrics.cdr_spool.set(writer.spool_size)
