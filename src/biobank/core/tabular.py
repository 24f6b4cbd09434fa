"""Read spreadsheet imports (CSV or XLSX) as a stream of rows, with checked column names.

Hospitals send CSV in UTF-8 (with or without a BOM) or in Big5/CP950, the encoding Excel uses on
Traditional-Chinese Windows, or an XLSX workbook. ``open_table`` detects which, checks the header
row against the columns an import expects, and returns a ``Table`` whose iteration yields one
``Row`` at a time, so a file of a million rows is never held in memory. Nothing here touches the
database; messages are translated, because the people who read them fix the file.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.styles.numbers import is_datetime
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

_CHUNK = 1 << 20
# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_STARTS = frozenset("=+-@\t\r")
_UTF8_BOM = codecs.BOM_UTF8
_XLSX_ERRORS = (
    zipfile.BadZipFile,
    InvalidFileException,
    KeyError,
    IndexError,
    ValueError,
    OSError,
    ParseError,
)


class TabularError(ValueError):
    """The file cannot be imported as it is: ``message`` says why, for the person who sent it.

    ``problems`` lists each problem separately (several for a bad header row), for pages that
    show them as a list; ``message`` joins them.
    """

    def __init__(self, message: str, *, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems: tuple[str, ...] = tuple(problems) or (message,)


@dataclass(frozen=True)
class Row:
    """One data row: ``number`` as a spreadsheet shows it (the header is row 1)."""

    number: int
    values: dict[str, str]


class Table:
    """An opened import: checked ``columns``, the detected ``encoding``, and its rows.

    Iterating reads the file again from the start, lazily, and yields a ``Row`` per data row,
    skipping rows whose cells are all empty (their numbers are simply not used). A cell without a
    column (a row longer than the header) must be empty, otherwise iteration raises
    ``TabularError`` naming the row.
    """

    def __init__(
        self,
        path: Path,
        *,
        encoding: str,
        columns: list[str],
        positions: list[tuple[int, str]],
        header_row: int,
    ) -> None:
        self.path = path
        self.encoding = encoding
        self.columns = columns
        self.header_row = header_row
        self._positions = positions
        self._width = positions[-1][0] + 1 if positions else 0
        #: how much of the file the current iteration has read, 0 to 1 (for an ETA); None
        #: when unknown
        self.fraction: float | None = None

    def __iter__(self) -> Iterator[Row]:
        self.fraction = 0.0
        for number, cells in _raw_rows(self.path, self.encoding, self):
            if number <= self.header_row or not any(cells):
                continue
            for index in range(self._width, len(cells)):
                if cells[index]:
                    raise TabularError(
                        _("Row %(row)d has a value in column %(column)s, which has no name.")
                        % {"row": number, "column": get_column_letter(index + 1)}
                    )
            width = len(cells)
            values = {
                name: cells[index] if index < width else "" for index, name in self._positions
            }
            yield Row(number=number, values=values)

    def __repr__(self) -> str:
        return f"<Table {self.path.name} {self.encoding} {self.columns}>"


def open_table(
    path: Path,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    allow_extra: Callable[[str], bool] | None = None,
) -> Table:
    """Detect the format and encoding of ``path`` and check its header row.

    Column names match ``required`` and ``optional`` case-insensitively, and are then spelled
    as given there; a column matching neither is refused unless ``allow_extra(name)`` is true,
    in which case it keeps its name as written in the file. Missing, unknown and duplicate
    columns are all reported in one ``TabularError``. Leading empty rows are skipped, so the
    header is the first row with any text.
    """
    encoding = detect_encoding(path)
    header_row, header = _first_non_empty_row(path, encoding)
    columns, positions = _check_header(header, header_row, required, optional, allow_extra)
    return Table(
        path, encoding=encoding, columns=columns, positions=positions, header_row=header_row
    )


def detect_encoding(path: Path) -> str:
    """``"xlsx"`` for a ZIP file, otherwise the CSV encoding: utf-8-sig, utf-8 or cp950.

    The whole file is checked, a chunk at a time, so a file that starts as valid UTF-8 and
    turns into Big5 halfway is read as Big5 rather than failing on row 500,000.
    """
    try:
        with path.open("rb") as file:
            start = file.read(4)
    except OSError as error:
        raise TabularError(
            _("The file could not be read (%(reason)s).") % {"reason": error.strerror}
        ) from error
    if start.startswith(b"PK"):
        return "xlsx"
    if start.startswith(b"\xd0\xcf\x11\xe0"):
        raise TabularError(
            _("This is an old Excel (.xls) file. Save it as .xlsx or as CSV and upload it again.")
        )
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise TabularError(
            _("This file is saved as UTF-16 (Unicode text). Save it as CSV (UTF-8) or .xlsx.")
        )
    if start in (b"", _UTF8_BOM):
        # Nothing, or nothing but a BOM: there is no header row to read.
        raise TabularError(_("The file is empty."))
    if start.startswith(_UTF8_BOM):
        offset = _first_invalid_byte(path, "utf-8")
        if offset is not None:
            raise TabularError(
                _("The file starts as UTF-8 but byte %(offset)d is not valid UTF-8.")
                % {"offset": offset}
            )
        return "utf-8-sig"
    if _first_invalid_byte(path, "utf-8") is None:
        return "utf-8"
    offset = _first_invalid_byte(path, "cp950")
    if offset is not None:
        raise TabularError(
            _(
                "The file is neither UTF-8 nor Big5 (CP950) text: byte %(offset)d cannot be "
                "read. Save it as CSV (UTF-8) or .xlsx."
            )
            % {"offset": offset}
        )
    return "cp950"


def _first_invalid_byte(path: Path, encoding: str) -> int | None:
    """The offset of the first byte that does not decode in ``encoding``, or None."""
    decoder = codecs.getincrementaldecoder(encoding)()
    position = 0
    with path.open("rb") as file:
        while True:
            chunk = file.read(_CHUNK)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                # The error counts from the bytes the decoder held back from the last chunk.
                return position - pending + error.start
            if not chunk:
                return None
            position += len(chunk)


def _raw_rows(
    path: Path, encoding: str, table: Table | None = None
) -> Generator[tuple[int, list[str]], None, None]:
    """Every row of the file, numbered from 1, as stripped cell texts; ``table.fraction``
    follows how much has been read."""
    if encoding == "xlsx":
        yield from _xlsx_rows(path, table)
    else:
        yield from _csv_rows(path, encoding, table)


def _csv_rows(path: Path, encoding: str, table: Table | None) -> Iterator[tuple[int, list[str]]]:
    number = 0
    size = max(path.stat().st_size, 1)
    with path.open(encoding=encoding, newline="") as file:
        reader = csv.reader(file)
        try:
            # One record is one row, as Excel shows it, even when a quoted cell spans lines.
            for number, record in enumerate(reader, start=1):
                if table is not None and not number & 1023:
                    table.fraction = min(file.buffer.tell() / size, 1.0)  # type: ignore[attr-defined]
                cells = [cell.strip() for cell in record]
                if "'" in "".join(record):  # rare: only then look for the exports' escape
                    cells = [_unescape(cell) for cell in cells]
                yield number, cells
        except csv.Error as error:
            raise TabularError(
                _("Row %(row)d cannot be read as CSV (%(reason)s).")
                % {"row": number + 1, "reason": error}
            ) from error


def _xlsx_rows(path: Path, table: Table | None) -> Iterator[tuple[int, list[str]]]:
    try:
        with path.open("rb") as file:
            # A file object, not the path: openpyxl refuses names not ending in .xlsx.
            workbook = load_workbook(file, read_only=True, data_only=True)
            try:
                sheet = workbook.worksheets[0]
                declared = sheet.max_row if isinstance(sheet.max_row, int) else 0
                # Some writers record wrong dimensions; reading without them loses nothing.
                sheet.reset_dimensions()
                # Missing rows come back empty, so counting rows gives the sheet's numbers.
                for number, cells in enumerate(sheet.iter_rows(), start=1):
                    if table is not None and declared and not number & 1023:
                        table.fraction = min(number / declared, 1.0)
                    yield number, [_unescape(_xlsx_text(cell)) for cell in cells]
            finally:
                workbook.close()
    except _XLSX_ERRORS as error:
        raise TabularError(
            _("The file is not a readable Excel workbook (.xlsx). Save it again from Excel.")
        ) from error


def _unescape(text: str) -> str:
    """Undo the exports' guard against formula injection: a leading apostrophe before
    ``= + - @`` (see ``biobank.core.exports``)."""
    if text[:1] == "'" and text[1:2] in FORMULA_STARTS:
        return text[1:]
    return text


def _xlsx_text(cell: Any) -> str:
    """A cell as text: whole numbers without ".0", dates and times in ISO 8601."""
    value = cell.value
    if isinstance(value, str):
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # 15 significant digits, as Excel shows them: 0.1 + 0.2 reads "0.3".
        return str(int(value)) if value.is_integer() else f"{value:.15g}"
    if isinstance(value, datetime):
        if value.time() == time(0) and is_datetime(cell.number_format) == "date":
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        hours, seconds = divmod(int(value.total_seconds()), 3600)
        return f"{hours}:{seconds // 60:02d}:{seconds % 60:02d}"
    return str(value).strip()


def _first_non_empty_row(path: Path, encoding: str) -> tuple[int, list[str]]:
    rows = _raw_rows(path, encoding)
    try:
        for number, cells in rows:
            if any(cells):
                return number, cells
    finally:
        rows.close()
    raise TabularError(_("The file is empty."))


def _check_header(
    header: list[str],
    header_row: int,
    required: Sequence[str],
    optional: Sequence[str],
    allow_extra: Callable[[str], bool] | None,
) -> tuple[list[str], list[tuple[int, str]]]:
    """The column names in file order and (cell index, name) pairs, or every problem found."""
    known = {name.casefold(): name for name in [*optional, *required]}
    names = [cell.replace("\ufeff", "").strip() for cell in header]
    while names and not names[-1]:
        names.pop()  # Excel often leaves empty cells after the last column.
    problems: list[str] = []
    positions: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for index, written in enumerate(names):
        letter = get_column_letter(index + 1)
        if not written:
            problems.append(_("Column %(column)s has no name.") % {"column": letter})
            continue
        name = known.get(written.casefold())
        if name is None:
            if allow_extra is None or not allow_extra(written):
                problems.append(
                    _("Unknown column: %(name)s (column %(column)s).")
                    % {"name": written, "column": letter}
                )
                continue
            name = written
        key = name.casefold()
        if key in seen:
            problems.append(
                _("Duplicate column: %(name)s (columns %(first)s and %(second)s).")
                % {"name": written, "first": get_column_letter(seen[key] + 1), "second": letter}
            )
            continue
        seen[key] = index
        positions.append((index, name))
    for name in required:
        if name.casefold() not in seen:
            problems.append(_("Missing required column: %(name)s.") % {"name": name})
    if len(names) == 1 and any(separator in names[0] for separator in "\t;"):
        problems.append(_("The columns must be separated by commas, not tabs or semicolons."))
    if problems:
        message = _("The header (row %(row)d) has problems: %(problems)s") % {
            "row": header_row,
            "problems": " ".join(problems),
        }
        raise TabularError(message, problems=problems)
    return [name for _index, name in positions], positions
