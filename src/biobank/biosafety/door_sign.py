"""The entrance sign of a site (BS-08 §6) as a printable A4 PDF: containment level, the
biohazard symbol, supervisor and manager, phone, emergency contact and measures. Chinese text
uses the CID font of ``core.pdf``."""

from __future__ import annotations

import math
from io import BytesIO
from typing import Any

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from reportlab.platypus import Frame, Paragraph

from biobank.biosafety import rules
from biobank.core.models import Site
from biobank.core.pdf import register_cjk_font

ORANGE = colors.HexColor("#f26522")


def sign_fields(site: Site) -> dict[str, Any]:
    """What the sign shows, keyed as ``rules.SIGNAGE_FIELDS`` (BS-08)."""
    person = site.person_in_charge
    supervisor = ""
    if person is not None:
        supervisor = person.display_name or person.get_full_name() or person.username
    return {
        "biosafety_level": "" if site.containment == "none" else site.get_containment_display(),
        "biohazard_sign": site.containment != "none",
        "supervisor_name": supervisor,
        "manager_name": site.manager_name,
        "phone": site.phone,
        "emergency_contact": site.emergency_contact,
        "emergency_measures": site.emergency_measures,
    }


def sign_check(site: Site) -> rules.Decision:
    return rules.signage_fields_missing(sign_fields(site))


def _biohazard(pdf: canvas.Canvas, x: float, y: float, size: float) -> None:
    """The biohazard trefoil, drawn: three rings cut open, a centre ring, on white."""
    lobe, lobe_at = size * 0.30, size * 0.22
    cut, cut_at = size * 0.21, size * 0.30
    pdf.setFillColor(colors.black)
    angles = [math.radians(90 + 120 * n) for n in range(3)]
    for angle in angles:
        pdf.circle(x + lobe_at * math.cos(angle), y + lobe_at * math.sin(angle), lobe, 0, 1)
    pdf.setFillColor(colors.white)
    for angle in angles:
        pdf.circle(x + cut_at * math.cos(angle), y + cut_at * math.sin(angle), cut, 0, 1)
    pdf.circle(x, y, size * 0.075, 0, 1)
    pdf.setStrokeColor(colors.black)
    pdf.setLineWidth(size * 0.04)
    pdf.circle(x, y, size * 0.16, 1, 0)
    for angle in angles:  # the gaps between the ring and each lobe's opening
        pdf.setStrokeColor(colors.white)
        pdf.setLineWidth(size * 0.03)
        inner = x + size * 0.1 * math.cos(angle), y + size * 0.1 * math.sin(angle)
        outer = x + size * 0.2 * math.cos(angle), y + size * 0.2 * math.sin(angle)
        pdf.line(*inner, *outer)


def door_sign_pdf(site: Site) -> bytes:
    """An A4 portrait sign for the entrance of ``site`` (BS-08)."""
    font = register_cjk_font()
    fields = sign_fields(site)
    buffer = BytesIO()
    width, height = A4
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(_("Biohazard sign %s") % site.code)
    pdf.setFillColor(ORANGE)
    pdf.rect(0, height - 70 * mm, width, 70 * mm, stroke=0, fill=1)
    pdf.setFillColor(colors.black)
    pdf.setFont(font, 40)
    pdf.drawCentredString(width / 2, height - 28 * mm, "生物危害 BIOHAZARD")
    pdf.setFont(font, 22)
    pdf.drawCentredString(width / 2, height - 45 * mm, _("Authorized personnel only"))
    pdf.drawCentredString(width / 2, height - 58 * mm, "非工作人員禁止進入")
    pdf.setFillColor(colors.white)
    pdf.circle(width / 2, height - 115 * mm, 40 * mm, 0, 1)
    _biohazard(pdf, width / 2, height - 115 * mm, 80 * mm)
    pdf.setFillColor(colors.black)
    pdf.setFont(font, 34)
    pdf.drawCentredString(
        width / 2, height - 172 * mm, f"{_('Containment level')} {fields['biosafety_level']}"
    )
    label = ParagraphStyle("label", fontName=font, fontSize=13, leading=18)
    rows = [
        (_("Site"), f"{site.code} {site.name} {site.location}".strip()),
        (_("Supervisor"), fields["supervisor_name"]),
        (_("Facility manager"), fields["manager_name"]),
        (_("Phone"), fields["phone"]),
        (_("Emergency contact"), fields["emergency_contact"]),
        (_("Emergency measures"), fields["emergency_measures"]),
    ]
    story = [
        Paragraph(
            f"<b>{name}</b>: {str(value).replace(chr(10), '<br/>') or '—'}",
            label,
        )
        for name, value in rows
    ]
    frame = Frame(20 * mm, 15 * mm, width - 40 * mm, height - 200 * mm, showBoundary=0)
    frame.addFromList(story, pdf)
    pdf.setFont(font, 8)
    pdf.drawRightString(width - 10 * mm, 8 * mm, "BS-08 §6")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
