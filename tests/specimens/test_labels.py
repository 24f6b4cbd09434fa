"""Printable labels (biobank.specimens.labels): PDF sheets, ZPL, the raw-port send. No database.

The 2-D codes were checked once by eye and by readers outside the suite (libdmtx's dmtxread and
zbarimg decoded every label of every stock from 300 dpi renders); the reference DataMatrix
below is one of those, so a change in reportlab's internals shows up here.
"""

from __future__ import annotations

import dataclasses
import re
import socket
import threading
from datetime import date
from io import BytesIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from biobank.specimens.labels import (
    CODES,
    STOCKS,
    LabelData,
    LabelPrinterError,
    datamatrix_modules,
    pdf_sheet,
    qr_modules,
    send_zpl,
    specimen_label,
    zpl,
)

PLASMA = specimen_label("DEMO-00000123", "血漿", date(2025, 3, 14), "P000123")
FIELD_DATA = re.compile(r"\^FD(.*?)\^FS", re.DOTALL)


def many(count: int) -> list[LabelData]:
    return [
        specimen_label(f"DEMO-{n:08d}", "血清", date(2025, 3, 14), "P000001") for n in range(count)
    ]


def pdf_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(BytesIO(pdf)).pages]


def text_positions(pdf: bytes, page: int = 0) -> dict[str, tuple[float, float]]:
    """Each drawn string and where it starts, in mm from the page's top-left corner."""
    reader = PdfReader(BytesIO(pdf))
    height = float(reader.pages[page].mediabox.height)
    found: dict[str, tuple[float, float]] = {}

    def visit(text, cm, tm, font, size):
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            found[text.strip()] = (x / 72 * 25.4, (height - y) / 72 * 25.4)

    reader.pages[page].extract_text(visitor_text=visit)
    return found


def numbers(pattern: str, text: str) -> list[int]:
    match = re.search(pattern, text)
    assert match, pattern
    return [int(n) for n in match.groups()]


def unhex(field: str) -> str:
    """Undo ^FH: each _XX is one byte of UTF-8."""
    raw = field.encode()
    return re.sub(rb"_([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw).decode()


# Label content -------------------------------------------------------------------------------


def test_specimen_label_shows_material_type_date_and_participant_code():
    assert PLASMA.barcode == "DEMO-00000123"
    assert PLASMA.lines == ("血漿", "2025-03-14", "P000123")


def test_specimen_label_leaves_out_what_is_unknown():
    assert specimen_label("S00000001", "Serum", None, None).lines == ("Serum",)
    assert specimen_label("S00000001", "Serum", None, "  ").lines == ("Serum",)


def test_label_data_has_no_place_for_identity():
    # A label prints a LabelData and nothing else: its only fields are the barcode and the
    # lines the caller chose (participant *code*, never name, birth date or national ID).
    assert [f.name for f in dataclasses.fields(LabelData)] == ["barcode", "lines"]


@pytest.mark.parametrize(
    ("barcode", "lines"),
    [
        ("", ()),
        ("DEMO-0001\n", ()),
        ("血漿-0001", ()),
        ("X" * 65, ()),
        ("DEMO-0001", ("a", "b", "c", "d")),
        ("DEMO-0001", ("two\nlines",)),
    ],
)
def test_label_data_refuses_what_cannot_be_printed(barcode, lines):
    with pytest.raises(ValueError):
        LabelData(barcode, lines)


def test_label_data_takes_lines_as_any_sequence():
    assert LabelData("A1", ["x", "y"]).lines == ("x", "y")  # type: ignore[arg-type]


# Stocks --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stock", STOCKS.values(), ids=list(STOCKS))
def test_every_stock_fits_its_page(stock):
    right, bottom = stock.origin_mm(stock.per_page - 1)
    assert right + stock.label_width_mm <= stock.page_width_mm + 0.01
    assert bottom + stock.label_height_mm <= stock.page_height_mm + 0.01


def test_a4_65_is_five_by_thirteen_labels_of_38_by_21():
    stock = STOCKS["a4-65"]
    assert stock.per_page == 65
    assert (stock.label_width_mm, stock.label_height_mm) == (38.1, 21.2)
    assert stock.origin_mm(0) == (4.75, 10.7)
    assert stock.origin_mm(6) == pytest.approx((4.75 + 40.6, 10.7 + 21.2))


def test_roll_stock_is_one_label_a_page():
    assert STOCKS["roll-25x13"].per_page == 1


# 2-D codes -----------------------------------------------------------------------------------

REFERENCE_DATAMATRIX = [  # "DEMO-00000123", 16 x 16, decoded by dmtxread
    "#.#.#.#.#.#.#.#.",
    "#.###..#..#...##",
    "#........###.##.",
    "###.#.##.####..#",
    "#.#.##..#...#...",
    "##...##.##.#..##",
    "#..#.####.#.....",
    "#..#..##...#.#.#",
    "##.....##..##.#.",
    "##...####..##..#",
    "#.##.........#..",
    "#..##...#..#####",
    "##....##.##.....",
    "#.#.#.#....#.#.#",
    "#...#..#.###..#.",
    "################",
]


def test_datamatrix_matches_the_reference_symbol():
    symbol = datamatrix_modules("DEMO-00000123")
    assert ["".join("#" if m else "." for m in row) for row in symbol] == REFERENCE_DATAMATRIX


@pytest.mark.parametrize(
    ("value", "size"),
    [("1", 10), ("123456", 10), ("ABC", 10), ("DEMO-0001", 14), ("x" * 64, 36)],
)
def test_datamatrix_is_the_smallest_square_that_holds_the_data(value, size):
    assert len(datamatrix_modules(value)) == size


@pytest.mark.parametrize("length", [1, 5, 12, 20, 40, 64])
def test_datamatrix_has_its_finder_pattern(length):
    symbol = datamatrix_modules("A" * length)
    size = len(symbol)
    regions = 1 if size <= 26 else 2
    step = size // regions
    for k in range(regions):
        edge = symbol[k * step + step - 1]  # bottom of each region row: solid
        assert all(edge)
        assert all(row[k * step] for row in symbol)  # left of each region column: solid
        top = symbol[k * step]
        assert [bool(m) for m in top[:step]] == [i % 2 == 0 for i in range(step)]


@pytest.mark.parametrize("value", ["血漿", "x" * 145])
def test_datamatrix_refuses_what_it_cannot_hold(value):
    with pytest.raises(ValueError):
        datamatrix_modules(value)


def test_qr_is_version_1_for_a_short_barcode():
    assert len(qr_modules("DEMO-00000123")) == 21


# PDF -----------------------------------------------------------------------------------------


def test_pdf_is_a_pdf():
    assert pdf_sheet([PLASMA]).startswith(b"%PDF-")


@pytest.mark.parametrize(("count", "pages"), [(1, 1), (65, 1), (66, 2), (131, 3)])
def test_pdf_takes_as_many_a4_65_sheets_as_needed(count, pages):
    assert len(PdfReader(BytesIO(pdf_sheet(many(count), "a4-65"))).pages) == pages


def test_pdf_on_a_roll_is_one_page_per_label():
    assert len(PdfReader(BytesIO(pdf_sheet(many(3), "roll-25x13"))).pages) == 3


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("stock", list(STOCKS))
def test_pdf_shows_barcode_and_lines_in_chinese_too(stock, code):
    (text,) = pdf_text(pdf_sheet([PLASMA], stock, code))
    assert text.split("\n")[:4] == ["DEMO-00000123", "血漿", "2025-03-14", "P000123"]


def test_pdf_prints_nothing_but_the_label_data():
    (text,) = pdf_text(pdf_sheet([PLASMA, LabelData("S00000002")]))
    assert set(text.split()) == {"DEMO-00000123", "血漿", "2025-03-14", "P000123", "S00000002"}


def test_pdf_lays_labels_left_to_right_then_down():
    positions = text_positions(pdf_sheet(many(7), "a4-65"))
    stock = STOCKS["a4-65"]
    for n in range(7):
        left, top = stock.origin_mm(n)
        x, y = positions[f"DEMO-{n:08d}"]
        assert left < x < left + stock.label_width_mm
        assert top < y < top + stock.label_height_mm


def test_pdf_starts_at_the_first_free_position_of_a_used_sheet():
    stock = STOCKS["a4-65"]
    pdf = pdf_sheet(many(2), "a4-65", start_position=64)
    assert len(PdfReader(BytesIO(pdf)).pages) == 2
    x, y = text_positions(pdf, page=0)["DEMO-00000000"]
    left, top = stock.origin_mm(64)
    assert left < x < left + stock.label_width_mm and top < y < top + stock.label_height_mm
    x, y = text_positions(pdf, page=1)["DEMO-00000001"]
    left, top = stock.origin_mm(0)
    assert left < x < left + stock.label_width_mm and top < y < top + stock.label_height_mm


def test_pdf_start_position_moves_the_page_breaks():
    assert len(PdfReader(BytesIO(pdf_sheet(many(65), "a4-65", start_position=1))).pages) == 2


def test_pdf_cuts_a_line_too_long_for_the_label():
    label = LabelData("DEMO-00000123", ("A material type with a very long name indeed",))
    (text,) = pdf_text(pdf_sheet([label], "a4-cryo-33x13"))
    line = text.split("\n")[1]
    assert line.endswith("…") and "A material type".startswith(line[:15].rstrip("…"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"stock": "letter-30"},
        {"code": "pdf417"},
        {"start_position": -1},
        {"start_position": 65},
        {"stock": "roll-25x13", "start_position": 1},
    ],
)
def test_pdf_refuses_unknown_stock_code_or_position(kwargs):
    with pytest.raises(ValueError):
        pdf_sheet([PLASMA], **kwargs)


def test_pdf_refuses_an_empty_print():
    with pytest.raises(ValueError):
        pdf_sheet([])


# ZPL -----------------------------------------------------------------------------------------


def test_zpl_has_one_format_per_label():
    out = zpl(many(3))
    assert out.count("^XA") == out.count("^XZ") == 3
    blocks = re.findall(r"\^XA.*?\^XZ", out, re.DOTALL)
    assert len(blocks) == 3
    assert all("^CI28" in block for block in blocks)


def test_zpl_datamatrix_holds_the_barcode():
    out = zpl([PLASMA])
    assert re.search(r"\^BXN,\d+,200,,,,_\^FH\^FDDEMO-00000123\^FS", out)


def test_zpl_qr_holds_the_barcode():
    out = zpl([PLASMA], code="qr")
    assert re.search(r"\^BQN,2,\d+\^FH\^FDMA,DEMO-00000123\^FS", out)


def test_zpl_prints_the_lines_in_a_unicode_font():
    out = zpl([PLASMA], font="E:NOTOTC.TTF")
    texts = re.findall(r"\^A@N,\d+,\d+,E:NOTOTC.TTF\^FH\^FD(.*?)\^FS", out)
    assert texts == ["DEMO-00000123", "血漿", "2025-03-14", "P000123"]


def test_zpl_prints_nothing_but_the_label_data():
    fields = {unhex(f) for f in FIELD_DATA.findall(zpl([PLASMA]))}
    assert fields == {"DEMO-00000123", "血漿", "2025-03-14", "P000123"}


def test_zpl_escapes_caret_tilde_and_underscore_in_field_data():
    out = zpl([LabelData("A^B~C_D", ("^XZ~JR",))])
    for field in FIELD_DATA.findall(out):
        assert "^" not in field and "~" not in field
    assert "^FDA_5EB_7EC_5FD^FS" in out  # the text
    assert "^FDA_5EB_7EC_5F_5FD^FS" in out  # the DataMatrix: ^BX's own escape doubled
    assert "^FD_5EXZ_7EJR^FS" in out
    assert out.count("^XZ") == 1


def test_zpl_condenses_the_barcode_to_fit():
    out = zpl([LabelData("DEMO-000000000123")])
    height, width = numbers(r"\^A@N,(\d+),(\d+),", out)
    assert width < height


def test_zpl_scales_with_the_label():
    small = zpl([PLASMA])
    large = zpl([PLASMA], width_dots=812, height_dots=406)
    assert numbers(r"\^BXN,(\d+),", large) > numbers(r"\^BXN,(\d+),", small)
    assert numbers(r"\^A@N,(\d+),", large) > numbers(r"\^A@N,(\d+),", small)
    assert "^PW812" in large and "^LL406" in large


@pytest.mark.parametrize(
    "kwargs",
    [
        {"code": "aztec"},
        {"font": "E:A^B.TTF"},
        {"font": ""},
        {"width_dots": 40, "height_dots": 20},
        {"dpi": 0},
    ],
)
def test_zpl_refuses_bad_settings(kwargs):
    with pytest.raises(ValueError):
        zpl([PLASMA], **kwargs)


def test_zpl_refuses_an_empty_print():
    with pytest.raises(ValueError):
        zpl([])


@settings(max_examples=200, deadline=None)
@given(
    barcode=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=64)
)
def test_zpl_field_data_round_trips_for_any_printable_barcode(barcode):
    for code in CODES:
        out = zpl([LabelData(barcode)], code=code, width_dots=812, height_dots=406)
        symbol, text = FIELD_DATA.findall(out)
        assert "^" not in symbol + text and "~" not in symbol + text
        assert unhex(text) == barcode
        if code == "datamatrix":
            assert unhex(symbol).replace("__", "_") == barcode
        else:
            assert unhex(symbol) == "MA," + barcode


# Sending -------------------------------------------------------------------------------------


def test_send_zpl_delivers_exactly_the_zpl():
    received = bytearray()
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def accept_one():
            connection, _ = server.accept()
            with connection:
                while chunk := connection.recv(4096):
                    received.extend(chunk)

        thread = threading.Thread(target=accept_one)
        thread.start()
        data = zpl(many(50))
        send_zpl(data, "127.0.0.1", port)
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert received.decode("utf-8") == data


def test_send_zpl_to_a_closed_port_raises_a_printer_error():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(LabelPrinterError, match=f"127.0.0.1:{port}") as caught:
        send_zpl("^XA^XZ", "127.0.0.1", port, timeout=2)
    assert caught.value.status == 502
