"""Kari's Law on-site notification (47 CFR 9.16(b)(2)): tell the site a 911 call was made.

Runs beside the call, never before it: the emergency INVITE is already on its way
when these deliveries start. Each delivery is retried and every attempt's outcome
is handed to ``record`` (which stores it in the emergency_notifications table).
"""

from __future__ import annotations

import asyncio
import json
import logging
import smtplib
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from enum import StrEnum

log = logging.getLogger(__name__)


class Channel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"
    SIP = "sip"


class DeliveryStatus(StrEnum):
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class EmergencyNotice:
    """What the site is told: the facts the law names, nothing more."""

    event: str  # "emergency_call" or "emergency_test_call"
    call_id: str
    callback_number: str | None
    extension: str | None
    device: str | None
    location: str | None  # dispatchable location sent with the call
    location_source: str
    time: str  # UTC, ISO 8601

    def text(self) -> str:
        if self.event == "transfer_to_911":
            return (
                f"A call was transferred or forwarded to 911 from extension "
                f"{self.extension or 'unknown'} at {self.time}. The caller's location was not "
                "passed on: tell callers to hang up and dial 911 themselves."
            )
        return (
            f"A 911 call was placed from extension {self.extension or 'unknown'} "
            f"at {self.time}. Callback number: {self.callback_number or 'unknown'}. "
            f"Location sent: {self.location or 'none on file'}."
        )


@dataclass(frozen=True, slots=True)
class Target:
    channel: Channel
    address: str  # URL, e-mail address or extension number
    # SIP: the account whose extension this is (every account may have its own 202).
    account_id: int | None = None


@dataclass(slots=True)
class Delivery:
    target: Target
    status: DeliveryStatus
    attempts: int
    error: str | None = None
    payload: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    sender: str


SipSender = Callable[[int, str, str], Awaitable[bool]]  # (account, extension, text) -> delivered


def _post_webhook(url: str, payload: bytes, timeout: float) -> None:
    request = urllib.request.Request(
        url, data=payload, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        if answer.status >= 300:
            raise OSError(f"webhook answered {answer.status}")


def _send_mail(smtp: SmtpSettings, to: str, notice: EmergencyNotice, timeout: float) -> None:
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = to
    what = "transfer to 911" if notice.event == "transfer_to_911" else "911 call"
    message["Subject"] = f"{what} from extension {notice.extension or 'unknown'}"
    message.set_content(notice.text())
    with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as client:
        client.send_message(message)


class Notifier:
    def __init__(
        self,
        smtp: SmtpSettings | None,
        send_sip: SipSender | None,
        *,
        attempts: int = 3,
        retry_delay: float = 2.0,
        timeout: float = 5.0,
    ) -> None:
        self._smtp = smtp
        self._send_sip = send_sip
        self._attempts = attempts
        self._retry_delay = retry_delay
        self._timeout = timeout

    async def notify(
        self,
        notice: EmergencyNotice,
        targets: list[Target],
        record: Callable[[Delivery], None],
    ) -> list[Delivery]:
        results = await asyncio.gather(*(self._deliver(notice, t) for t in targets))
        for delivery in results:
            record(delivery)
            if delivery.status is DeliveryStatus.FAILED:
                log.error(
                    "Kari's Law notification by %s failed after %d attempts: %s",
                    delivery.target.channel,
                    delivery.attempts,
                    delivery.error,
                )
        return list(results)

    async def _deliver(self, notice: EmergencyNotice, target: Target) -> Delivery:
        payload = asdict(notice)
        error: str | None = None
        for attempt in range(1, self._attempts + 1):
            try:
                await self._once(notice, target, payload)
            except Exception as exc:  # every channel fails in its own way; retry them all
                error = f"{exc.__class__.__name__}: {exc}"[:500]
                if attempt < self._attempts:
                    await asyncio.sleep(self._retry_delay * attempt)
                continue
            return Delivery(target, DeliveryStatus.SENT, attempt, None, payload)
        return Delivery(target, DeliveryStatus.FAILED, self._attempts, error, payload)

    async def _once(
        self, notice: EmergencyNotice, target: Target, payload: dict[str, object]
    ) -> None:
        if target.channel is Channel.WEBHOOK:
            body = json.dumps(payload).encode()
            await asyncio.to_thread(_post_webhook, target.address, body, self._timeout)
        elif target.channel is Channel.EMAIL:
            if self._smtp is None:
                raise OSError("no SMTP server configured (notify.smtp_host)")
            await asyncio.to_thread(_send_mail, self._smtp, target.address, notice, self._timeout)
        else:
            if target.account_id is None:
                raise OSError(f"front-desk extension {target.address} names no account")
            sender = self._send_sip
            if sender is None or not await sender(target.account_id, target.address, notice.text()):
                raise OSError(f"front-desk extension {target.address} did not take the MESSAGE")
