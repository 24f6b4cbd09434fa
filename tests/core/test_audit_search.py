"""The auditor's search of the audit trail, with CSV and XLSX export."""

from __future__ import annotations

from io import BytesIO

from openpyxl import load_workbook

from biobank.core import services
from biobank.core.models import AuditEvent


def test_auditor_filters_by_person_and_record_type(cast, client):
    services.site_update(actor=cast.manager, site=cast.demo_site, phone="1", reason="r1")
    services.site_update(actor=cast.biosafety, site=cast.demo_site, phone="2", reason="r2")
    client.force_login(cast.auditor)
    response = client.get("/audit/", {"actor": "chang", "object_type": "core.site"})
    events = list(response.context["page"].object_list)
    assert response.status_code == 200
    assert [e.reason for e in events] == ["r2"]


def test_search_excludes_other_organizations_events(cast, client):
    services.site_update(actor=cast.outsider, site=cast.other_site, phone="3", reason="theirs")
    client.force_login(cast.auditor)
    response = client.get("/audit/")
    reasons = [e.reason for e in response.context["page"].object_list]
    assert "theirs" not in reasons


def test_csv_export_lists_the_matching_events_and_is_itself_audited(cast, client):
    services.site_update(actor=cast.manager, site=cast.demo_site, phone="4", reason="exported")
    client.force_login(cast.auditor)
    response = client.get("/audit/", {"export": "csv", "action": "update"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("sequence,at,actor,organization,action")
    assert any("exported" in line for line in lines[1:])
    assert all(",update," in line for line in lines[1:])
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, actor=cast.auditor).exists()


def test_xlsx_export_has_a_header_and_rows(cast, client):
    client.force_login(cast.auditor)
    response = client.get("/audit/", {"export": "xlsx"})
    sheet = load_workbook(BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("sequence", "at", "actor")
    assert len(rows) > 1


def test_technician_has_no_audit_search(cast, client):
    client.force_login(cast.technician)
    assert client.get("/audit/").status_code == 404


def test_biosafety_officer_reads_but_cannot_export(cast, client):
    client.force_login(cast.biosafety)
    assert client.get("/audit/").status_code == 200
    assert client.get("/audit/", {"export": "csv"}).status_code == 404
