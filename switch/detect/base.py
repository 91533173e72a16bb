"""What every detector shares: a kind, and handlers per event type behind ``feed``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from switch.detect.alerts import Alert, DetectorKind

Handler = Callable[[Any], list[Alert]]


class BaseDetector:
    """Subclasses list the event types they read in ``handlers``; the engine calls those
    directly, so an event costs nothing in the detectors that ignore its type."""

    kind: ClassVar[DetectorKind]
    _routes: Mapping[type, Handler] | None = None

    def handlers(self) -> Mapping[type, Handler]:
        raise NotImplementedError

    def feed(self, event: object) -> list[Alert]:
        routes = self._routes
        if routes is None:
            routes = self._routes = self.handlers()
        handler = routes.get(type(event))
        return handler(event) if handler is not None else []
