"""Recognising transfers and forwards to 911, which lose the caller's location.

Hosted-voice providers pass a per-incident charge through for these, so each one is
detected, recorded and charged, while the emergency call itself still goes through.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from urllib.parse import unquote

from switch.sip.address import parse_address, parse_address_list
from switch.sip.errors import SipError
from switch.sip.message import Request, Response
from switch.sip.uri import AbsoluteURI, SipURI


class TransferKind(StrEnum):
    BLIND_REFER = "blind_refer"  # REFER whose Refer-To is an emergency number
    ATTENDED_REFER = "attended_refer"  # REFER with Replaces naming a call to 911
    REDIRECT = "redirect"  # a 3xx whose Contact is an emergency number
    REFERRED_BY = "referred_by"  # an INVITE to 911 that says someone referred it


IsEmergency = Callable[[str], bool]  # dialled string -> is it an emergency number


def _user_of(uri: SipURI | AbsoluteURI) -> str | None:
    if isinstance(uri, SipURI):
        return unquote(uri.user) if uri.user else None
    if uri.scheme.lower() == "tel":
        return uri.opaque.split(";", 1)[0]
    return None


def refer_target(request: Request) -> tuple[str | None, str | None]:
    """(dialled user of Refer-To, Call-ID named by its Replaces header) of a REFER."""
    value = request.headers.get("Refer-To")
    if value is None:
        return None, None
    try:
        uri = parse_address(value).uri
    except SipError:
        return None, None
    replaces = None
    if isinstance(uri, SipURI):
        raw = uri.headers.get("Replaces") or uri.headers.get("replaces")
        if raw:
            replaces = unquote(raw).split(";", 1)[0]
    return _user_of(uri), replaces


def detect_refer(
    request: Request, is_emergency: IsEmergency, replaced_is_emergency: Callable[[str], bool]
) -> TransferKind | None:
    user, replaces = refer_target(request)
    if replaces is not None and replaced_is_emergency(replaces):
        return TransferKind.ATTENDED_REFER
    if user is not None and is_emergency(user):
        return TransferKind.BLIND_REFER
    return None


def detect_redirect(response: Response, is_emergency: IsEmergency) -> bool:
    if not 300 <= response.status < 400:
        return False
    for value in response.headers.values("Contact"):
        try:
            addresses = parse_address_list(value)
        except SipError:
            continue
        for address in addresses:
            user = _user_of(address.uri)
            if user is not None and is_emergency(user):
                return True
    return False
