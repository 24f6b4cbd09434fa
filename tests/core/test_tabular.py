"""Reading CSV and XLSX imports: formats, encodings, header checks and row numbers."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from biobank.core import tabular
from biobank.core.tabular import Row, TabularError, open_table

COLUMNS = ("participant_id", "name")


def write_bytes(tmp_path: Path, content: bytes, name: str = "import.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def write_xlsx(tmp_path: Path, rows: list[list[object]], name: str = "import.xlsx") -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def error_of(path: Path, **kwargs: object) -> TabularError:
    with pytest.raises(TabularError) as caught:
        open_table(path, **{"required": COLUMNS, **kwargs})  # type: ignore[arg-type]
    return caught.value


# Formats and encodings


def test_utf8_csv_yields_rows_numbered_as_in_a_spreadsheet(tmp_path):
    path = write_bytes(tmp_path, "participant_id,name\nP001,王小明\nP002, 陳美華 \n".encode())

    table = open_table(path, required=COLUMNS)

    assert table.encoding == "utf-8"
    assert table.columns == ["participant_id", "name"]
    assert list(table) == [
        Row(number=2, values={"participant_id": "P001", "name": "王小明"}),
        Row(number=3, values={"participant_id": "P002", "name": "陳美華"}),
    ]


def test_utf8_csv_with_bom_leaves_no_bom_in_the_first_column_name(tmp_path):
    path = write_bytes(tmp_path, "\ufeffparticipant_id,name\r\nP001,王小明\r\n".encode())

    table = open_table(path, required=COLUMNS)

    assert table.encoding == "utf-8-sig"
    assert table.columns[0] == "participant_id"
    assert [row.values for row in table] == [{"participant_id": "P001", "name": "王小明"}]


def test_cp950_csv_from_traditional_chinese_excel_reads_chinese_names(tmp_path):
    text = "participant_id,name\r\nP001,王小明\r\nP002,陳美華\r\n"
    path = write_bytes(tmp_path, text.encode("cp950"))

    table = open_table(path, required=COLUMNS)

    assert table.encoding == "cp950"
    assert [row.values["name"] for row in table] == ["王小明", "陳美華"]


def test_csv_that_turns_into_big5_after_the_first_chunk_is_read_as_cp950(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "_CHUNK", 16)
    text = "participant_id,name\r\n" + "P000,AAAA\r\n" * 10 + "P001,陳美華\r\n"
    path = write_bytes(tmp_path, text.encode("cp950"))

    table = open_table(path, required=COLUMNS)

    assert table.encoding == "cp950"
    assert list(table)[-1] == Row(number=12, values={"participant_id": "P001", "name": "陳美華"})


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
def test_file_neither_utf8_nor_cp950_is_refused_naming_the_byte_offset(
    tmp_path, monkeypatch, chunk
):
    # 0xA4 0x20 is valid in neither: a Big5 lead byte followed by a space.
    monkeypatch.setattr(tabular, "_CHUNK", chunk)
    content = b"participant_id,name\nP001,\xa4\x20\n"
    path = write_bytes(tmp_path, content)

    error = error_of(path)

    assert "neither UTF-8 nor Big5" in error.message
    assert f"byte {content.index(0xA4)}" in error.message


def test_bom_file_with_invalid_utf8_is_refused_naming_the_byte_offset(tmp_path):
    content = b"\xef\xbb\xbfparticipant_id,name\nP001,\xff\n"
    path = write_bytes(tmp_path, content)

    error = error_of(path)

    assert f"byte {content.index(0xFF)}" in error.message


def test_xlsx_converts_dates_and_integers_to_text(tmp_path):
    path = write_xlsx(
        tmp_path,
        [
            ["participant_id", "name", "collected_on", "collected_at", "age", "weight"],
            [1001, "王小明", date(2024, 3, 1), datetime(2024, 3, 1, 8, 30), 42, 61.5],
            [1002.0, "陳美華", datetime(2024, 3, 2), datetime(2024, 3, 2, 0, 0), 37.0, None],
        ],
    )
    optional = ["collected_on", "collected_at", "age", "weight"]

    table = open_table(path, required=COLUMNS, optional=optional)

    assert table.encoding == "xlsx"
    assert [row.values for row in table] == [
        {
            "participant_id": "1001",
            "name": "王小明",
            "collected_on": "2024-03-01",
            "collected_at": "2024-03-01T08:30:00",
            "age": "42",
            "weight": "61.5",
        },
        {
            "participant_id": "1002",
            "name": "陳美華",
            # A datetime cell keeps its time even at midnight; only a date cell drops it.
            "collected_on": "2024-03-02T00:00:00",
            "collected_at": "2024-03-02T00:00:00",
            "age": "37",
            "weight": "",
        },
    ]


def test_xlsx_is_detected_by_content_whatever_the_file_name(tmp_path):
    path = write_xlsx(tmp_path, [list(COLUMNS), ["P001", "王小明"]], name="upload-7f3a.csv")

    table = open_table(path, required=COLUMNS)

    assert table.encoding == "xlsx"
    assert [row.number for row in table] == [2]


def test_xlsx_blank_rows_are_skipped_and_row_numbers_stay_true(tmp_path):
    path = write_xlsx(tmp_path, [list(COLUMNS), ["P001", "王小明"], [], [None, "  "], ["P002", ""]])

    table = open_table(path, required=COLUMNS)

    assert [(row.number, row.values["participant_id"]) for row in table] == [
        (2, "P001"),
        (5, "P002"),
    ]


def test_zip_that_is_not_a_workbook_is_refused(tmp_path):
    path = write_bytes(tmp_path, b"PK\x03\x04 this is not a workbook")

    error = error_of(path)

    assert "not a readable Excel workbook" in error.message


def test_old_xls_file_is_refused_with_advice(tmp_path):
    path = write_bytes(tmp_path, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100))

    assert ".xls" in error_of(path).message


def test_missing_file_is_refused_as_unreadable(tmp_path):
    assert "could not be read" in error_of(tmp_path / "absent.csv").message


# Header checks


def test_missing_required_column_is_named(tmp_path):
    path = write_bytes(tmp_path, b"participant_id\nP001\n")

    error = error_of(path)

    assert error.problems == ("Missing required column: name.",)
    assert "row 1" in error.message


def test_optional_column_may_be_absent_and_reads_when_present(tmp_path):
    absent = write_bytes(tmp_path, b"participant_id,name\nP001,A\n", name="absent.csv")
    present = write_bytes(tmp_path, b"participant_id,name,sex\nP001,A,F\n", name="present.csv")

    assert open_table(absent, required=COLUMNS, optional=["sex"]).columns == list(COLUMNS)
    table = open_table(present, required=COLUMNS, optional=["sex"])
    assert [row.values["sex"] for row in table] == ["F"]


def test_unknown_column_is_refused(tmp_path):
    path = write_bytes(tmp_path, b"participant_id,name,remarks\nP001,A,x\n")

    error = error_of(path)

    assert error.problems == ("Unknown column: remarks (column C).",)


def test_unknown_column_is_accepted_when_allow_extra_says_so(tmp_path):
    path = write_bytes(tmp_path, b"participant_id,name,Lab: HbA1c\nP001,A,5.6\n")

    table = open_table(path, required=COLUMNS, allow_extra=lambda name: name.startswith("Lab: "))

    assert table.columns == ["participant_id", "name", "Lab: HbA1c"]
    assert [row.values["Lab: HbA1c"] for row in table] == ["5.6"]


def test_duplicate_column_is_refused_even_in_another_case(tmp_path):
    path = write_bytes(tmp_path, b"participant_id,name,NAME\nP001,A,B\n")

    error = error_of(path)

    assert error.problems == ("Duplicate column: NAME (columns B and C).",)


def test_every_header_problem_is_listed_in_one_error(tmp_path):
    path = write_bytes(tmp_path, b"name,remarks,name,,note\n")

    error = error_of(path)

    assert error.problems == (
        "Unknown column: remarks (column B).",
        "Duplicate column: name (columns A and C).",
        "Column D has no name.",
        "Unknown column: note (column E).",
        "Missing required column: participant_id.",
    )
    assert all(problem in error.message for problem in error.problems)


def test_header_matches_case_insensitively_and_uses_the_declared_names(tmp_path):
    path = write_bytes(tmp_path, b" Participant_ID ,NAME\nP001,A\n")

    table = open_table(path, required=COLUMNS)

    assert table.columns == ["participant_id", "name"]
    assert [row.values for row in table] == [{"participant_id": "P001", "name": "A"}]


def test_trailing_empty_header_cells_are_ignored(tmp_path):
    path = write_bytes(tmp_path, b"participant_id,name,,\nP001,A,,\n")

    table = open_table(path, required=COLUMNS)

    assert table.columns == list(COLUMNS)
    assert [row.values for row in table] == [{"participant_id": "P001", "name": "A"}]


def test_semicolon_separated_file_gets_a_hint(tmp_path):
    path = write_bytes(tmp_path, b"participant_id;name\nP001;A\n")

    assert "separated by commas" in error_of(path).message


# Empty files and rows


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\n", b" , \r\n,\r\n"])
def test_empty_file_is_refused(tmp_path, content):
    path = write_bytes(tmp_path, content)

    assert error_of(path).message == "The file is empty."


def test_header_only_file_has_zero_rows(tmp_path):
    path = write_bytes(tmp_path, b"participant_id,name\r\n")

    table = open_table(path, required=COLUMNS)

    assert table.columns == list(COLUMNS)
    assert list(table) == []


def test_blank_lines_are_skipped_and_row_numbers_stay_true(tmp_path):
    path = write_bytes(tmp_path, b"\nparticipant_id,name\nP001,A\n\n , \nP002,B\n")

    table = open_table(path, required=COLUMNS)

    assert [(row.number, row.values["participant_id"]) for row in table] == [
        (3, "P001"),
        (6, "P002"),
    ]


def test_quoted_cell_spanning_lines_counts_as_one_row(tmp_path):
    path = write_bytes(tmp_path, b'participant_id,name\nP001,"A\nB"\nP002,C\n')

    table = open_table(path, required=COLUMNS)

    assert [(row.number, row.values["name"]) for row in table] == [(2, "A\nB"), (3, "C")]


def test_short_rows_read_missing_cells_as_empty_text(tmp_path):
    path = write_bytes(tmp_path, b"participant_id,name\nP001\n")

    table = open_table(path, required=COLUMNS)

    assert [row.values for row in table] == [{"participant_id": "P001", "name": ""}]


def test_rows_are_read_lazily_up_to_a_value_without_a_column(tmp_path):
    path = write_bytes(tmp_path, b"participant_id,name\nP001,A\nP002,B,stray\n")
    rows = iter(open_table(path, required=COLUMNS))

    assert next(rows).number == 2
    with pytest.raises(TabularError, match="Row 3 has a value in column C"):
        next(rows)


def test_table_can_be_iterated_twice(tmp_path):
    path = write_bytes(tmp_path, b"participant_id,name\nP001,A\n")
    table = open_table(path, required=COLUMNS)

    assert list(table) == list(table)


# Round trip

cell_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")),
        st.sampled_from(list(',"\n\r\t 王小明陳美華')),
    ),
    max_size=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(cell_text, min_size=3, max_size=3), max_size=8))
def test_any_rows_written_by_csv_writer_in_utf8_read_back_identical(tmp_path, rows):
    path = tmp_path / "roundtrip.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["a", "b", "c"])
        writer.writerows(rows)

    table = open_table(path, required=["a", "b", "c"])

    expected = [
        Row(number=number, values=dict(zip("abc", (cell.strip() for cell in row), strict=True)))
        for number, row in enumerate(rows, start=2)
        if any(cell.strip() for cell in row)
    ]
    assert list(table) == expected
