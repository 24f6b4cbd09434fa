"""The IRB audit criteria as data (EC-02): the CSV against the digest and the seed text."""

from __future__ import annotations

import csv
import re
from collections import Counter

import pytest

from biobank.ethics.rules import (
    BASIC,
    CRITERIA_COLUMNS,
    CRITERIA_FILE,
    KINDS,
    MANDATORY,
    OPTIONAL,
    OPTIONAL_IF_NOT_PASSED,
    load_criteria,
    number_key,
)
from tests.conftest import shared_path

SEED = ("seeds", "002_2b4eda7f474fe62f.txt")

# EC-02, per chapter: basic / 必 / 可 / *可 / total
PER_CHAPTER = {
    1: (11, 1, 0, 0, 12),
    2: (12, 0, 5, 3, 20),
    3: (2, 0, 1, 4, 7),
    4: (8, 0, 0, 1, 9),
    5: (2, 0, 0, 0, 2),
    6: (4, 0, 1, 0, 5),
    7: (2, 0, 0, 0, 2),
}
MANDATORY_ITEMS = {"1.4"}
OPTIONAL_ITEMS = {"2.1", "2.4", "2.10", "2.14", "2.15", "3.7", "6.5"}
OPTIONAL_IF_NOT_PASSED_ITEMS = {"2.3", "2.12", "2.13", "3.3", "3.4", "3.5", "3.6", "4.3"}


def rows() -> list[dict[str, str]]:
    with CRITERIA_FILE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def without_space(text: str) -> str:
    return re.sub(r"\s+", "", text)


def seed_text() -> str:
    """The seed without whitespace and without the <p> tags left in its table."""
    text = shared_path(*SEED).read_text(encoding="utf-8")
    return without_space(re.sub(r"</?p>", "", text))


def test_ec02_csv_has_the_columns_and_57_rows():
    with CRITERIA_FILE.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert tuple(header) == CRITERIA_COLUMNS
    assert len(rows()) == 57
    assert len(load_criteria()) == 57


def test_ec02_counts_per_chapter_and_kind():
    counts = Counter((int(row["chapter"]), row["kind"]) for row in rows())
    for chapter, (basic, mandatory, optional, if_not_passed, total) in PER_CHAPTER.items():
        assert counts[chapter, BASIC] == basic, chapter
        assert counts[chapter, MANDATORY] == mandatory, chapter
        assert counts[chapter, OPTIONAL] == optional, chapter
        assert counts[chapter, OPTIONAL_IF_NOT_PASSED] == if_not_passed, chapter
        assert sum(counts[chapter, kind] for kind in KINDS) == total, chapter
    assert Counter(row["kind"] for row in rows()) == {
        BASIC: 41,
        MANDATORY: 1,
        OPTIONAL: 7,
        OPTIONAL_IF_NOT_PASSED: 8,
    }


def test_ec02_numbering_is_complete_within_each_chapter():
    by_chapter: dict[int, list[int]] = {}
    for row in rows():
        chapter, item = number_key(row["number"])
        assert int(row["chapter"]) == chapter, row["number"]
        by_chapter.setdefault(chapter, []).append(item)
    assert sorted(by_chapter) == list(range(1, 8))
    for chapter, items in by_chapter.items():
        assert items == list(range(1, PER_CHAPTER[chapter][4] + 1)), chapter


def test_ec02_the_listed_mandatory_and_optional_items():
    kinds = {row["number"]: row["kind"] for row in rows()}
    assert {number for number, kind in kinds.items() if kind == MANDATORY} == MANDATORY_ITEMS
    assert {number for number, kind in kinds.items() if kind == OPTIONAL} == OPTIONAL_ITEMS
    assert {
        number for number, kind in kinds.items() if kind == OPTIONAL_IF_NOT_PASSED
    } == OPTIONAL_IF_NOT_PASSED_ITEMS


def test_ec02_every_text_is_filled_and_only_optional_items_have_an_na_condition():
    for row in rows():
        for column in ("chapter_title_zh", "chapter_title_en", "text_zh", "text_en"):
            assert row[column].strip(), (row["number"], column)
            assert "\n" not in row[column], (row["number"], column)
        optional = row["kind"] in {OPTIONAL, OPTIONAL_IF_NOT_PASSED}
        assert bool(row["na_condition_zh"].strip()) is optional, row["number"]
        assert bool(row["na_condition_en"].strip()) is optional, row["number"]


def test_ec02_chapter_titles_agree_within_a_chapter():
    titles = {(row["chapter"], row["chapter_title_zh"], row["chapter_title_en"]) for row in rows()}
    assert len(titles) == 7


def test_ec02_loaded_criteria_match_the_csv_in_item_order():
    loaded = load_criteria()
    assert [criterion.number for criterion in loaded] == [row["number"] for row in rows()]
    assert load_criteria() is loaded  # cached
    first = loaded[0]
    assert (first.number, first.chapter, first.kind) == ("1.1", 1, BASIC)
    assert first.chapter_title_zh == "審查會組織章程及書面作業程序之完備性"


def test_ec02_each_text_appears_in_the_seed():
    seed = seed_text()
    for row in rows():
        assert without_space(row["text_zh"]) in seed, row["number"]
        assert without_space(row["chapter_title_zh"]) in seed, row["number"]


def test_ec02_each_item_is_followed_in_the_seed_by_its_own_na_condition():
    # The seed's table runs text and NA condition together; each optional item's condition
    # must come right after its own text, not another item's.
    seed = seed_text()
    for row in rows():
        if row["na_condition_zh"]:
            joined = without_space(row["text_zh"] + "可選項目認定原則：" + row["na_condition_zh"])
            assert joined in seed, row["number"]


def test_ec02_the_seed_lists_the_same_mandatory_and_optional_items():
    seed = seed_text()

    def listed(label: str) -> set[str]:
        match = re.search(re.escape(label) + r"字註記，共計(\d+)項次\(([\d.、]+)\)", seed)
        assert match is not None, label
        items = set(match.group(2).split("、"))
        assert len(items) == int(match.group(1))
        return items

    assert listed("「必」") == MANDATORY_ITEMS
    assert listed("「可」") == OPTIONAL_ITEMS
    assert listed("「*可」") == OPTIONAL_IF_NOT_PASSED_ITEMS


@pytest.mark.parametrize(
    ("number", "marker"),
    [(number, "必") for number in sorted(MANDATORY_ITEMS)]
    + [(number, "可") for number in sorted(OPTIONAL_ITEMS - {"3.7", "6.5"})]
    + [(number, "☐") for number in ["3.7"]]
    + [(number, '<inputtype="checkbox"/>') for number in ["6.5"]]
    + [(number, "*可") for number in sorted(OPTIONAL_IF_NOT_PASSED_ITEMS)],
)
def test_ec02_the_seed_table_marks_the_item(number, marker):
    # The marker printed before the item number in the seed's table, followed by the item's
    # text (so 2.1 does not match 2.10). The seed shows a checkbox where 可 is meant for 3.7
    # and 6.5; the usage notes list both as 可 (see the test above).
    text = next(row["text_zh"] for row in rows() if row["number"] == number)
    assert without_space(f"{marker} {number} {text}") in seed_text()
