"""PDF reports: a titled table (inventory lists, manifests) in A4, Chinese included."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from io import BytesIO
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import CIDEncoding, UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

CJK_FONT = "MSung-Light"  # Adobe's Traditional Chinese CID font: viewers supply it, no file
CJK_ENCODING = "UniCNS-UCS2-H"


@cache
def register_cjk_font() -> str:
    """Register the Traditional Chinese CID font once and return its name.

    reportlab's table gives MSung-Light the CMap UniGB-UCS2-H, which belongs to the Adobe-GB1
    collection, not to this Adobe-CNS1 font: poppler then drops the text. Both map UCS-2, so
    naming the right CMap is the whole fix.
    """
    font = UnicodeCIDFont(CJK_FONT)
    font.encodingName = CJK_ENCODING
    font.encoding = CIDEncoding(CJK_ENCODING)
    pdfmetrics.registerFont(font)
    return CJK_FONT


def table_pdf(
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    subtitle: str = "",
    footer_rows: Sequence[Sequence[Any]] = (),
) -> bytes:
    """An A4 landscape report: a title, a repeated table header, and optional totals."""
    font = register_cjk_font()
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=title,
    )
    heading = ParagraphStyle("heading", fontName=font, fontSize=14, leading=18)
    small = ParagraphStyle("small", fontName=font, fontSize=9, leading=12)
    data = [list(header), *[[str(c) if c is not None else "" for c in r] for r in rows]]
    data += [[str(c) if c is not None else "" for c in r] for r in footer_rows]
    table = Table(data, repeatRows=1)
    style = [
        ("FONT", (0, 0), (-1, -1), font, 8),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f6")),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d9dee7")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if footer_rows:
        style.append(
            ("BACKGROUND", (0, len(data) - len(footer_rows)), (-1, -1), colors.HexColor("#f5f7fa"))
        )
    table.setStyle(TableStyle(style))
    story = [Paragraph(title, heading)]
    if subtitle:
        story.append(Paragraph(subtitle, small))
    story += [Spacer(1, 4 * mm), table]
    document.build(story)
    return buffer.getvalue()
