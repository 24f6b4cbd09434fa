"""Inspection exports (BS-07): inventory list and access records, committee records, training
records, drills and incidents, as XLSX and PDF, only of the user's organizations."""

from __future__ import annotations

from datetime import UTC, date, datetime
from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from biobank.biosafety import services
from biobank.biosafety.exports import EXPORTS
from biobank.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(cast, tb_stock):
    services.committee_form(
        actor=cast.biosafety,
        organization=cast.demo,
        kind="committee",
        regime="human",
        name="示範生安會",
        formed_on=date(2025, 1, 6),
    )
    worker = services.worker_register(
        actor=cast.biosafety,
        organization=cast.demo,
        user=cast.technician,
        started_on=date(2025, 1, 6),
    )
    services.training_record_add(
        actor=cast.biosafety, worker=worker, kind="course", title="新進人員訓練",
        on=date(2025, 1, 2), hours=8,
    )  # fmt: skip
    services.incident_report(
        actor=cast.biosafety, organization=cast.demo, title="針扎事件", description="x",
        occurred_at=datetime(2026, 3, 2, tzinfo=UTC), level=1, risk_assessment="低",
        regime="human",
    )  # fmt: skip


def _xlsx(response) -> list[list]:
    sheet = load_workbook(BytesIO(response.content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("kind", sorted(EXPORTS))
def test_bs07_every_export_answers_xlsx_and_pdf(kind, cast, records, client):
    client.force_login(cast.auditor)
    xlsx = client.get(reverse(f"biosafety:export-{kind}-xlsx"))
    assert xlsx.status_code == 200
    assert len(_xlsx(xlsx)[0]) == len(EXPORTS[kind].header)
    pdf = client.get(reverse(f"biosafety:export-{kind}-pdf"))
    assert pdf["Content-Type"] == "application/pdf"
    assert PdfReader(BytesIO(pdf.content)).pages
    assert AuditEvent.objects.filter(action="export", object_id=kind).count() == 2


def test_bs07_the_exports_carry_the_records(cast, records, client):
    client.force_login(cast.auditor)
    inventory = _xlsx(client.get(reverse("biosafety:export-inventory-xlsx")))
    assert inventory[1][1] == "MTB-001"
    training = _xlsx(client.get(reverse("biosafety:export-training-xlsx")))
    assert training[1][4] == "新進人員訓練"
    committee = _xlsx(client.get(reverse("biosafety:export-committee-xlsx")))
    assert committee[1][0] == "示範生安會"
    pdf = client.get(reverse("biosafety:export-incidents-pdf"))
    assert "針扎事件" in PdfReader(BytesIO(pdf.content)).pages[0].extract_text()
    assert "XLSX" in client.get(reverse("biosafety:export-list")).content.decode()


def test_exports_show_nothing_of_another_organization(cast, records, client):
    client.force_login(cast.outsider)
    inventory = _xlsx(client.get(reverse("biosafety:export-inventory-xlsx")))
    assert inventory[1:] == []
    assert client.get("/biosafety/exports/nothing.xlsx").status_code == 404
    client.force_login(cast.researcher)
    assert client.get(reverse("biosafety:export-inventory-pdf")).status_code == 404
