"""Printable labels for specimens and containers: PDF sheets and ZPL for Zebra printers.

A label carries a 2-D code (ECC 200 DataMatrix or QR) holding the barcode, the barcode as text
and at most three short lines (material type, date, participant code). It is built from a
``LabelData`` and nothing else, so no identity can reach a label: the caller hands over only
what may be printed. Everything here is pure except ``send_zpl``, which writes to a socket.
"""

from __future__ import annotations

import re
import socket
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from io import BytesIO

from django.utils.translation import gettext as _
from reportlab.graphics.barcode.ecc200datamatrix import ECC200DataMatrix
from reportlab.graphics.barcode.qrencoder import QRCode, QRErrorCorrectLevel
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from biobank.core.errors import ApplicationError
from biobank.core.pdf import register_cjk_font

MAX_LINES = 3
MAX_BARCODE_LENGTH = 64  # Specimen.barcode's max_length
CODES = ("datamatrix", "qr")
ELLIPSIS = "…"


class LabelPrinterError(ApplicationError):
    """The label printer could not be reached or refused the data."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=502)


# Label content -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelData:
    """What one label shows: the barcode (2-D code and text) and up to three lines."""

    barcode: str
    lines: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        if not 0 < len(self.barcode) <= MAX_BARCODE_LENGTH or not _printable_ascii(self.barcode):
            raise ValueError(
                f"A barcode is 1 to {MAX_BARCODE_LENGTH} printable ASCII characters: "
                f"{self.barcode!r}"
            )
        if len(self.lines) > MAX_LINES:
            raise ValueError(f"A label has at most {MAX_LINES} lines, not {len(self.lines)}.")
        if any(unicodedata.category(c).startswith("C") for line in self.lines for c in line):
            raise ValueError("Label lines cannot hold control characters.")


def specimen_label(
    barcode: str, material_type: str, collected_on: date | None, participant_code: str | None
) -> LabelData:
    """A specimen's label: material type, collection date (ISO), participant code; blanks left out.

    The participant appears only by code, never by name or national ID.
    """
    lines = (material_type, collected_on.isoformat() if collected_on else "", participant_code)
    return LabelData(barcode, tuple(line.strip() for line in lines if line and line.strip()))


def _printable_ascii(text: str) -> bool:
    return all(" " <= c <= "~" for c in text)


# Label stocks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelStock:
    """A sheet (or a roll, one label per page) of equal labels in a grid, measured in mm."""

    key: str
    name: str
    page_width_mm: float
    page_height_mm: float
    label_width_mm: float
    label_height_mm: float
    columns: int
    rows: int
    margin_left_mm: float
    margin_top_mm: float
    gap_x_mm: float
    gap_y_mm: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def origin_mm(self, slot: int) -> tuple[float, float]:
        """Top-left corner of position ``slot`` (0 = top left, then along the row), from the
        page's top-left corner."""
        row, column = divmod(slot, self.columns)
        return (
            self.margin_left_mm + column * (self.label_width_mm + self.gap_x_mm),
            self.margin_top_mm + row * (self.label_height_mm + self.gap_y_mm),
        )


STOCKS: dict[str, LabelStock] = {
    stock.key: stock
    for stock in (
        LabelStock(
            "a4-cryo-33x13", "A4 sheet, 90 cryo labels 33 × 13 mm (1.5/2 mL tubes)",
            210, 297, 33, 13, 5, 18, 16.5, 14.5, 3, 2,
        ),
        LabelStock(
            "a4-65", "A4 sheet, 65 labels 38.1 × 21.2 mm",
            210, 297, 38.1, 21.2, 5, 13, 4.75, 10.7, 2.5, 0,
        ),
        LabelStock(
            "roll-25x13", "Roll, one label 25 × 13 mm a page (thermal printer)",
            25, 13, 25, 13, 1, 1, 0, 0, 0, 0,
        ),
        LabelStock(
            "roll-51x25", "Roll, one label 51 × 25 mm a page (thermal printer; boxes, racks)",
            51, 25, 51, 25, 1, 1, 0, 0, 0, 0,
        ),
    )
}  # fmt: skip


# 2-D codes -----------------------------------------------------------------------------------

# Square ECC 200 symbols with one Reed-Solomon block: (modules, data words, ECC words, regions).
_DATAMATRIX_SIZES = (
    (10, 3, 5, 1), (12, 5, 7, 1), (14, 8, 10, 1), (16, 12, 12, 1), (18, 18, 14, 1),
    (20, 22, 18, 1), (22, 30, 20, 1), (24, 36, 24, 1), (26, 44, 28, 1), (32, 62, 36, 2),
    (36, 86, 42, 2), (40, 114, 48, 2), (44, 144, 56, 2),
)  # fmt: skip


def _datamatrix_codewords(value: str) -> list[int]:
    """ASCII encodation (ISO/IEC 16022 5.2.3): digit pairs packed into one codeword."""
    words: list[int] = []
    i = 0
    while i < len(value):
        if value[i : i + 2].isdigit() and len(value[i : i + 2]) == 2:
            words.append(130 + int(value[i : i + 2]))
            i += 2
        else:
            words.append(ord(value[i]) + 1)
            i += 1
    return words


def datamatrix_modules(value: str) -> list[list[bool]]:
    """The smallest square ECC 200 symbol holding ``value``, top row first (finder included).

    reportlab's ``ECC200DataMatrix`` builds only the 44 × 44 C40 symbol Royal Mail uses, which
    is 0.25 mm a module on a 13 mm cryo label. Its Reed-Solomon and module placement are
    general, so this sizes the symbol to the data and encodes in ASCII mode.
    """
    words = _datamatrix_codewords(value)
    fitting = [s for s in _DATAMATRIX_SIZES if s[1] >= len(words)]
    if not _printable_ascii(value) or not fitting:
        raise ValueError(f"Not printable ASCII of at most 144 codewords: {value!r}")
    size, data_words, ecc_words, regions = fitting[0]
    if len(words) < data_words:
        words.append(129)  # first pad; the rest are scrambled (253-state algorithm)
    while len(words) < data_words:
        pad = 129 + (149 * (len(words) + 1)) % 253 + 1
        words.append(pad if pad <= 254 else pad - 254)
    usable = size - 2 * regions
    symbol = ECC200DataMatrix(value)
    symbol.row_modules = symbol.col_modules = size
    symbol.row_regions = symbol.col_regions = regions
    symbol.row_usable_modules = symbol.col_usable_modules = usable
    symbol.cw_data, symbol.cw_ecc = data_words, ecc_words
    placed = symbol._create_matrix(words + symbol._get_reed_solomon_code(words, ecc_words))
    if usable * usable % 8:  # four modules no codeword reaches get the fixed pattern
        placed[usable - 1][usable - 1] = placed[usable - 2][usable - 2] = 1
    wrapped = symbol._wrap_data_regions_with_finders(symbol._create_data_regions(placed))
    return [[bool(m) for m in row] for row in symbol._merge_data_regions(wrapped)]


def qr_modules(value: str) -> list[list[bool]]:
    """The smallest QR code (error correction M) holding ``value``, top row first."""
    qr = QRCode(None, QRErrorCorrectLevel.M)
    qr.addData(value)
    qr.make()
    return [[bool(m) for m in row] for row in qr.modules]


def _check_code(code: str) -> None:
    if code not in CODES:
        raise ValueError(f"Unknown 2-D code {code!r}; choose one of {', '.join(CODES)}.")


def _modules(code: str, value: str) -> tuple[list[list[bool]], int]:
    """The symbol and the quiet zone (modules) drawn around it inside the label."""
    if code == "datamatrix":
        return datamatrix_modules(value), 1
    # QR asks for four; two plus the label's own margin give at least that on every stock.
    return qr_modules(value), 2


# PDF -----------------------------------------------------------------------------------------

CJK_FONT = "MSung-Light"  # Adobe's Traditional Chinese CID font: viewers supply it, no file
LATIN_FONT = "Helvetica"
BARCODE_FONT = "Helvetica-Bold"
PADDING_MM = 1.0
MAX_MODULE_MM = 0.75
MAX_FONT_PT = 10.0
MIN_FONT_PT = 4.0


def _register_cjk_font() -> None:
    register_cjk_font()  # the project's one registration, with the CMap fix


def pdf_sheet(
    labels: Sequence[LabelData],
    stock: str = "a4-65",
    code: str = "datamatrix",
    start_position: int = 0,
) -> bytes:
    """Labels laid out left to right, top to bottom, on as many pages as they need.

    ``start_position`` skips the positions already used on a partly used first sheet.
    """
    if stock not in STOCKS:
        raise ValueError(f"Unknown label stock {stock!r}; choose one of {', '.join(STOCKS)}.")
    sheet = STOCKS[stock]
    _check_code(code)
    if not 0 <= start_position < sheet.per_page:
        raise ValueError(f"Start position must be 0 to {sheet.per_page - 1} on {stock}.")
    if not labels:
        raise ValueError("No labels to print.")
    _register_cjk_font()
    buffer = BytesIO()
    canvas = Canvas(
        buffer, pagesize=(sheet.page_width_mm * mm, sheet.page_height_mm * mm), invariant=True
    )
    canvas.setTitle("Labels")
    canvas.setCreator("biobank")
    for index, label in enumerate(labels, start=start_position):
        slot = index % sheet.per_page
        if slot == 0 and index > start_position:
            canvas.showPage()
        left, top = sheet.origin_mm(slot)
        _draw_label(canvas, label, sheet, code, left * mm, (sheet.page_height_mm - top) * mm)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_label(
    canvas: Canvas, label: LabelData, sheet: LabelStock, code: str, left: float, top: float
) -> None:
    width, height = sheet.label_width_mm * mm, sheet.label_height_mm * mm
    pad = PADDING_MM * mm
    matrix, quiet = _modules(code, label.barcode)
    span = len(matrix) + 2 * quiet
    side = min(height - 2 * pad, width * 0.42, span * MAX_MODULE_MM * mm)
    module = side / span
    _draw_matrix(
        canvas,
        matrix,
        left + pad + quiet * module,
        top - (height - side) / 2 - quiet * module,
        module,
    )

    # Four lines of text (barcode + MAX_LINES), as a block centred beside the code.
    text_left = left + pad + side + pad
    text_width = left + width - pad - text_left
    room = (height - 2 * pad) / (1 + MAX_LINES)
    size = min(MAX_FONT_PT, room / 1.2)
    pitch = min(room, size * 1.25)
    first_baseline = top - (height - MAX_LINES * pitch - size) / 2 - size * 0.8
    texts = [(label.barcode, BARCODE_FONT, MIN_FONT_PT)]
    texts += [(line, _pdf_font(line), size * 0.8) for line in label.lines]
    for i, (text, font, smallest) in enumerate(texts):
        fitted, fitted_size = _pdf_fit(text, font, size, smallest, text_width)
        canvas.setFont(font, fitted_size)
        canvas.drawString(text_left, first_baseline - i * pitch, fitted)


def _draw_matrix(
    canvas: Canvas, matrix: list[list[bool]], x: float, y: float, module: float
) -> None:
    """Dark modules as one path of horizontal runs, top-left corner at (x, y)."""
    path = canvas.beginPath()
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                run = next((k for k in range(c, len(row)) if not row[k]), len(row)) - c
                path.rect(x + c * module, y - (r + 1) * module, run * module, module)
                c += run
            else:
                c += 1
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)


def _pdf_font(text: str) -> str:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return CJK_FONT
    return LATIN_FONT


def _pdf_fit(text: str, font: str, size: float, smallest: float, width: float) -> tuple[str, float]:
    """Shrink the font down to ``smallest``, then cut the text with an ellipsis."""
    needed = pdfmetrics.stringWidth(text, font, size)
    if needed > width:
        size = max(smallest, size * width / needed * 0.999)  # 0.999: float rounding
    return _truncate(text, lambda t: pdfmetrics.stringWidth(t, font, size) <= width), size


def _truncate(text: str, fits: Callable[[str], bool]) -> str:
    if fits(text):
        return text
    for end in range(len(text) - 1, 0, -1):
        candidate = text[:end].rstrip() + ELLIPSIS
        if fits(candidate):
            return candidate
    return ""


# ZPL -----------------------------------------------------------------------------------------

# Zebra's resident fonts have no Chinese glyphs. Load a Unicode TrueType font that has them on
# the printer (Zebra's Andale fonts, or a Traditional Chinese TTF of your own) and name it here.
ZPL_FONT = "E:ANMDS.TTF"
# ^BX's escape character, named so the printer's firmware default (_ or ~) cannot matter.
_BX_ESCAPE = "_"
_ZPL_SPECIAL = re.compile(r"[\^~_\x00-\x1f\x7f]")


def zpl_escape(text: str) -> str:
    """Field data safe after ^FH: ^, ~, _ (the hex indicator) and control characters as _XX."""
    return _ZPL_SPECIAL.sub(lambda m: f"_{ord(m.group()):02X}", text)


def zpl(
    labels: Sequence[LabelData],
    *,
    width_dots: int = 200,
    height_dots: int = 100,
    dpi: int = 203,
    code: str = "datamatrix",
    font: str = ZPL_FONT,
) -> str:
    """One ^XA…^XZ format per label, UTF-8 (^CI28), for a Zebra printer or a .zpl download.

    The defaults fit a 25 × 12.5 mm label on a 203 dpi printer.
    """
    _check_code(code)
    if not labels:
        raise ValueError("No labels to print.")
    if re.search(r"[\^~,\s]", font) or not font:
        raise ValueError(f"Not a printer font path: {font!r}")
    if min(width_dots, height_dots, dpi) <= 0:
        raise ValueError("Label size and resolution must be positive.")
    return "".join(_zpl_label(label, width_dots, height_dots, dpi, code, font) for label in labels)


def _zpl_label(label: LabelData, width: int, height: int, dpi: int, code: str, font: str) -> str:
    margin = max(2, round(dpi / 25.4))  # 1 mm
    matrix, _quiet = _modules(code, label.barcode)
    module = min(
        (height - 2 * margin) // len(matrix),
        int(width * 0.42) // len(matrix),
        max(2, round(dpi * MAX_MODULE_MM / 25.4)),
    )
    room = (height - 2 * margin) // (1 + MAX_LINES)
    font_height = min(room - room // 10, round(dpi * MAX_FONT_PT / 72))
    pitch = min(room, font_height * 5 // 4)
    text_left = margin + len(matrix) * module + margin
    text_width = width - margin - text_left
    if module < 1 or font_height < 10 or text_width < font_height:
        raise ValueError(
            f"A {width} × {height} dot label is too small for a 2-D code and four lines of text."
        )
    top = (height - len(matrix) * module) // 2
    text_top = (height - MAX_LINES * pitch - font_height) // 2
    if code == "datamatrix":
        data = label.barcode.replace(_BX_ESCAPE, _BX_ESCAPE * 2)
        symbol = f"^BXN,{module},200,,,,{_BX_ESCAPE}^FH^FD{zpl_escape(data)}^FS"
    else:
        symbol = f"^BQN,2,{min(module, 10)}^FH^FDMA,{zpl_escape(label.barcode)}^FS"
    fields = ["^XA", "^CI28", f"^PW{width}", f"^LL{height}", "^LH0,0", f"^FO{margin},{top}{symbol}"]
    for i, text in enumerate((label.barcode, *label.lines)):
        narrowest = max(10, font_height // 2 if i == 0 else font_height * 3 // 4)
        fitted, char_width = _zpl_fit(text, font_height, narrowest, text_width)
        fields.append(
            f"^FO{text_left},{text_top + i * pitch}^A@N,{font_height},{char_width},{font}"
            f"^FH^FD{zpl_escape(fitted)}^FS"
        )
    fields.append("^XZ\n")
    return "\n".join(fields)


def _zpl_width(text: str, char_width: int) -> float:
    """An estimate: the printer measures its own font; wide (CJK) characters take a full em."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text) * char_width


def _zpl_fit(text: str, height: int, narrowest: int, width: int) -> tuple[str, int]:
    """Condense the characters down to ``narrowest`` dots, then cut with an ellipsis."""
    char_width = height
    while char_width > narrowest and _zpl_width(text, char_width) > width:
        char_width -= 1
    return _truncate(text, lambda t: _zpl_width(t, char_width) <= width), char_width


def send_zpl(data: str, host: str, port: int = 9100, timeout: float = 5.0) -> None:
    """Send ZPL to a network printer's raw port (9100 on Zebra printers) over plain TCP."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.sendall(data.encode("utf-8"))
    except OSError as exc:
        raise LabelPrinterError(
            _("Could not send the labels to the printer at %(host)s:%(port)s (%(reason)s).")
            % {"host": host, "port": port, "reason": exc.strerror or exc}
        ) from exc
