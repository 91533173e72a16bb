"""The pluggable external validator interface and its disabled default."""

from __future__ import annotations

from dataclasses import replace

from e911.civic import CivicAddress
from e911.msag import DisabledValidator, ExternalResult, ExternalStatus, ExternalValidator

ADDRESS = CivicAddress(
    country="US", a1="IL", a3="SPRINGFIELD", rd="MAIN", sts="ST", hno="123", pc="62704"
)


class _ZipPlusFour:
    """Stand-in for an MSAG/geocoder client: corrects the ZIP to ZIP+4."""

    def validate(self, address: CivicAddress) -> ExternalResult:
        fixed = replace(address, pc=f"{address.pc}-0001")
        return ExternalResult(ExternalStatus.CORRECTED, address=fixed, coverage=True)


def _check(validator: ExternalValidator, address: CivicAddress) -> ExternalResult:
    return validator.validate(address)


def test_disabled_validator_reports_not_checked_and_does_not_accept() -> None:
    result = _check(DisabledValidator(), ADDRESS)
    assert result.status is ExternalStatus.NOT_CHECKED
    assert not result.accepted
    assert result.address is None and result.coverage is None
    assert "123" not in result.detail and "MAIN" not in result.detail


def test_implementations_satisfy_the_protocol() -> None:
    assert isinstance(DisabledValidator(), ExternalValidator)
    assert isinstance(_ZipPlusFour(), ExternalValidator)
    assert not isinstance(object(), ExternalValidator)


def test_corrected_result_is_accepted_and_carries_the_corrected_address() -> None:
    result = _check(_ZipPlusFour(), ADDRESS)
    assert result.accepted
    assert result.address is not None and result.address.pc == "62704-0001"


def test_only_valid_and_corrected_are_accepted() -> None:
    accepted = {s for s in ExternalStatus if ExternalResult(s).accepted}
    assert accepted == {ExternalStatus.VALID, ExternalStatus.CORRECTED}
