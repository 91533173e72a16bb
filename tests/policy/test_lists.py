"""High-risk and embargo list files: layout, validation and matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from switch.policy import PolicyDataError, default_lists, load_policy_lists
from switch.policy.lists import parse_table

HEADER = "country_code,national_prefix,area,label\n"


def test_shipped_lists_load_with_documented_sizes() -> None:
    lists = default_lists()
    assert 20 <= len(lists.high_risk) <= 40
    areas = {entry.area for entry in lists.embargoed.entries}
    assert {"CU", "IR", "KP", "SY", "UA-43", "UA-40"} <= areas


def test_longest_prefix_wins() -> None:
    table = parse_table(HEADER + "371,,LV,Latvia\n371,90,LV,Latvia premium\n", source="t")
    premium = table.match("37190123456")
    whole = table.match("37121234567")
    assert premium is not None and premium.label == "Latvia premium"
    assert whole is not None and whole.label == "Latvia"
    assert table.match("37061234567") is None


def test_shared_country_code_without_prefix_matches_by_region() -> None:
    table = parse_table(HEADER + "7,,KZ,Kazakhstan\n", source="t")
    assert table.match("77012345678", "KZ") is not None
    assert table.match("74951234567", "RU") is None


def test_comments_and_blank_lines_are_ignored() -> None:
    table = parse_table("# note\n\n" + HEADER + "# more\n53,,CU,Cuba\n\n", source="t")
    assert len(table) == 1


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("prefix,label\n53,Cuba\n", 1),
        (HEADER + "53,,CU\n", 2),
        (HEADER + "5x,,CU,Cuba\n", 2),
        (HEADER + "53,7a,CU,Cuba\n", 2),
        (HEADER + "999,,XX,Nowhere\n", 2),
        (HEADER + "53,,,Cuba\n", 2),
        (HEADER + "53,,CU,Cuba\n53,,CU,Cuba again\n", 3),
        (HEADER + "7,,DE,Wrong region for +7\n", 2),
    ],
)
def test_malformed_rows_name_file_and_line(text: str, line: int) -> None:
    with pytest.raises(PolicyDataError) as caught:
        parse_table(text, source="lists.csv")
    assert caught.value.line == line
    assert str(caught.value).startswith(f"lists.csv:{line}:")


def test_empty_file_is_an_error() -> None:
    with pytest.raises(PolicyDataError):
        parse_table("# only a comment\n", source="empty.csv")


def test_missing_operator_file_is_a_policy_data_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyDataError) as caught:
        load_policy_lists(high_risk=tmp_path / "absent.csv")
    assert "absent.csv" in str(caught.value)
