"""Printable documents of the IRB: the decision letter to the investigator (criterion 2.18)."""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from biobank.core.pdf import register_cjk_font
from biobank.ethics.models import ReviewDecision


def form_pdf(
    title: str, fields: Sequence[tuple[str, str]], *, paragraphs: Sequence[str] = ()
) -> bytes:
    """An A4 portrait document: a title, labelled fields, then free paragraphs."""
    font = register_cjk_font()
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=title,
    )
    heading = ParagraphStyle("heading", fontName=font, fontSize=15, leading=20)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=15)
    rows = [
        [Paragraph(escape(k), body), Paragraph(escape(v).replace("\n", "<br/>"), body)]
        for k, v in fields
    ]
    table = Table(rows, colWidths=[45 * mm, 125 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story = [Paragraph(escape(title), heading), Spacer(1, 6 * mm), table, Spacer(1, 6 * mm)]
    story += [Paragraph(escape(text).replace("\n", "<br/>"), body) for text in paragraphs]
    document.build(story)
    return buffer.getvalue()


def decision_letter_pdf(decision: ReviewDecision) -> bytes:
    """The decision letter (審查決定通知書) of one submission (EC-09, criterion 2.18)."""
    submission = decision.submission
    protocol = submission.protocol
    reasons = ", ".join(submission.review_reasons)
    fields = [
        (_("Ethics committee"), protocol.irb.name),
        (_("Protocol"), f"{protocol.code} {protocol.title}"),
        (_("Principal investigator"), protocol.principal_investigator),
        (_("Submission"), f"{submission.get_kind_display()} ({submission.received_on:%Y-%m-%d})"),
        (_("Review type"), f"{submission.get_review_type_display()} ({reasons}) · HR-01"),
        (_("Meeting"), str(decision.meeting.number) if decision.meeting else "—"),
        (_("Decision"), decision.get_outcome_display()),
        (_("Decided on"), f"{decision.decided_on:%Y-%m-%d}"),
        (_("Conditions or reasons"), decision.conditions or "—"),
        (_("Notice due"), f"{decision.notice_due:%Y-%m-%d} (EC-09)"),
    ]
    if protocol.approved_until and submission.kind in {"new", "continuing"}:
        fields.append(
            (_("Next continuing review due"), f"{protocol.approved_until:%Y-%m-%d} (HR-03)")
        )
    return form_pdf(
        _("Decision letter"),
        fields,
        paragraphs=[
            _(
                "Changes to the protocol need the committee's approval before they take effect "
                "(HR-01). Serious adverse events, deviations and the end of the project are "
                "reported to the committee."
            )
        ],
    )
