"""Tenancy: a user sees only the records of organizations they belong to.

The URL conf is walked, so every page and API endpoint that exists is covered: one with a
record in its path must answer 404 for another organization's record (register how to build
it in ``FOREIGN_RECORD`` below, or the test fails and says so); one without must not leak any
of the other organization's data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from biobank.core import services
from biobank.core.models import Membership
from tests.biosafety import foreign as _biosafety_foreign

# URL names that hold no tenant data, with the reason.
NOT_TENANT_SCOPED = {
    "login": "the sign-in form",
    "logout": "signs the user out",
    "set_language": "stores the language choice",
    "api:openapi-json": "the API description",
    "api:openapi-view": "the API documentation page",
    "api:api-root": "the API index",
}
# Namespaces outside tenancy: Django's admin is for superusers editing reference data only.
NOT_TENANT_SCOPED_NAMESPACES = {"admin"}

OTHER_MARKERS = [
    "他院",
    "OTHER-LAB",
    "他院專屬義務",
    "outsider-only reason",
    "OTHER-P1",
    "OTHER-FORM",
]


def _walk(resolver: URLResolver, namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace or ""
            full = f"{namespace}:{inner}" if namespace and inner else inner or namespace
            yield from _walk(entry, full)
        elif entry.name:
            yield (f"{namespace}:{entry.name}" if namespace else entry.name), entry


def all_url_patterns() -> list[tuple[str, URLPattern]]:
    return [
        (name, pattern)
        for name, pattern in _walk(get_resolver())
        if name.split(":")[0] not in NOT_TENANT_SCOPED_NAMESPACES and name not in NOT_TENANT_SCOPED
    ]


def _parameters(pattern: URLPattern) -> set[str]:
    return set(getattr(pattern.pattern, "converters", {})) | set(pattern.pattern.regex.groupindex)


@pytest.fixture
def foreign(cast, tmp_path) -> dict[str, Any]:
    """Records of organization OTHER, which the DEMO users must never reach."""
    obligation = services.obligation_open(
        organization=cast.other,
        rule_id="BS-12",
        title="他院專屬義務",
        due_at=timezone.now() + timedelta(days=2),
    )
    services.site_update(
        actor=cast.outsider, site=cast.other_site, phone="1", reason="outsider-only reason"
    )
    from datetime import date

    from biobank.participants import rules as consent_rules
    from biobank.participants import services as participant_services
    from biobank.participants.vault import Identity

    participant = participant_services.participant_register(
        actor=cast.outsider,
        organization=cast.other,
        code="OTHER-P1",
        identity=Identity(name="他院病人", national_id="A123456789"),
    )
    form = participant_services.consent_form_create(
        actor=cast.outsider,
        organization=cast.other,
        code="OTHER-FORM",
        version="1",
        title="他院同意書",
        committee_reference="OTHER-IRB-1",
        approved_on=date(2024, 1, 1),
        permissions=[consent_rules.GRU],
        duration_years=10,
    )
    consent = participant_services.consent_record(
        actor=cast.outsider,
        participant=participant,
        form=form,
        signed_on=date(2024, 2, 1),
        capacity="adult",
        signed_by="participant",
        permissions=[consent_rules.GRU],
    )
    request = participant_services.reidentification_request(
        actor=cast.outsider, participant=participant, reason="outsider-only reason"
    )
    from decimal import Decimal

    from biobank.specimens.services import collections as collection_services
    from biobank.specimens.services import specimens as specimen_services

    collection = collection_services.collection_create(
        actor=cast.outsider,
        organization=cast.other,
        code="OTHER-COLL",
        name="他院收集計畫",
        principal_investigator="他院醫師",
    )
    specimen = specimen_services.specimen_register(
        actor=cast.outsider,
        organization=cast.other,
        material_type="WHOLE_BLOOD",
        quantity=Decimal("10"),
        unit="mL",
        barcode="OTHER-S1",
        participant=participant,
        collection=collection,
    )
    from biobank.storage import services as storage_services

    room = storage_services.unit_create(
        actor=cast.outsider,
        organization=cast.other,
        barcode="OTHER-ROOM",
        name="他院冷凍室",
        kind="room",
    )
    freezer = storage_services.unit_create(
        actor=cast.outsider,
        organization=cast.other,
        barcode="OTHER-F80",
        name="他院冷凍櫃",
        kind="freezer",
        parent=room,
        set_point_c=Decimal("-80"),
    )
    box = storage_services.unit_create(
        actor=cast.outsider,
        organization=cast.other,
        barcode="OTHER-BOX",
        name="他院盒",
        kind="box",
        parent=freezer,
        rows=9,
        columns=9,
    )
    storage_services.specimen_place(actor=cast.outsider, specimen=specimen, unit=box, position="A1")
    from biobank.ethics import services as ethics_services

    irb = ethics_services.irb_create(
        actor=None, organization=cast.other, code="OTHER-IRB", name="他院IRB", kind="institution"
    )
    irb_protocol = ethics_services.protocol_create(
        actor=None,
        irb=irb,
        code="OTHER-PROT",
        title="他院計畫",
        principal_investigator="他院醫師",
        risk="minimal",
        received_on=date(2025, 1, 2),
    )
    irb_complaint = ethics_services.complaint_receive(
        actor=None,
        irb=irb,
        received_on=date(2025, 1, 3),
        complainant="他院受試者",
        summary="他院申訴",
    )
    from biobank.ethics.models import AuditCampaign, IRBAudit

    irb_campaign = AuditCampaign.objects.create(
        organization=cast.other,
        year=2025,
        window_opens=date(2025, 3, 3),
        window_closes=date(2025, 3, 31),
        completion_due=date(2025, 4, 7),
    )
    irb_audit = IRBAudit.objects.create(campaign=irb_campaign, irb=irb, audit_type="video")
    irb_meeting = ethics_services.meeting_create(
        actor=None, irb=irb, number="OTHER-M1", held_on=date(2025, 1, 10)
    )
    from biobank.distribution import services as distribution_services
    from biobank.distribution.models import Shipment

    distribution_request = distribution_services.request_create(
        actor=cast.outsider,
        organization=cast.other,
        requester_institution="他院研究所",
        title="他院申請",
        purpose="他院研究",
        purposes=[consent_rules.GRU],
        irb_reference="OTHER-IRB-9",
        irb_committee="他院IRB",
        irb_valid_from=date(2025, 1, 1),
        irb_valid_until=date(2030, 1, 1),
        destination_institution="他院研究所",
    )
    shipment = Shipment.objects.create(
        request=distribution_request,
        packaging_category="exempt",
        shipping_name="Exempt specimen",
        temperature="ambient",
        courier="他院快遞",
        tracking_number="OTHER-T1",
        shipped_at=timezone.now(),
    )
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import override_settings

    from biobank.core.import_jobs import job_start

    with override_settings(IMPORT_JOBS_INLINE=True, DATA_DIR=tmp_path):
        import_job = job_start(
            actor=cast.outsider,
            organization=cast.other,
            kind="storage",
            upload=SimpleUploadedFile(
                "他院匯入.csv", b"barcode,name,kind,parent_barcode,rows,columns,temperature\n"
            ),
            dry_run=True,
        )
    return {
        **_biosafety_foreign.records(cast),
        "import_job": import_job,
        "irb": irb,
        "irb_protocol": irb_protocol,
        "irb_submission": irb_protocol.submissions.get(),
        "irb_meeting": irb_meeting,
        "irb_complaint": irb_complaint,
        "irb_campaign": irb_campaign,
        "irb_audit": irb_audit,
        "distribution_request": distribution_request,
        "shipment": shipment,
        "unit": box,
        "specimen": specimen,
        "collection": collection,
        "participant": participant,
        "consent": consent,
        "reidentification": request,
        "organization": cast.other,
        "site": cast.other_site,
        "obligation": obligation,
        "membership": Membership.objects.get(user=cast.outsider, organization=cast.other),
    }


def _distribution_request_id(foreign: dict[str, Any]) -> dict[str, Any]:
    return {"request_id": foreign["distribution_request"].public_id}


FOREIGN_RECORD: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "core:organization-detail": lambda f: {"code": f["organization"].code},
    "core:organization-edit": lambda f: {"code": f["organization"].code},
    "core:site-create": lambda f: {"code": f["organization"].code},
    "core:membership-create": lambda f: {"code": f["organization"].code},
    "core:membership-end": lambda f: {"pk": f["membership"].pk},
    "core:site-detail": lambda f: {"public_id": f["site"].public_id},
    "core:site-edit": lambda f: {"public_id": f["site"].public_id},
    "core:obligation-detail": lambda f: {"public_id": f["obligation"].public_id},
    "api:organization_detail": lambda f: {"code": f["organization"].code},
    "api:organization_sites": lambda f: {"code": f["organization"].code},
    "api:site_detail": lambda f: {"site_id": f["site"].public_id},
    "api:obligation_detail": lambda f: {"obligation_id": f["obligation"].public_id},
    "api:obligation_close": lambda f: {"obligation_id": f["obligation"].public_id},
    "api:obligation_waive": lambda f: {"obligation_id": f["obligation"].public_id},
    "participants:participant-detail": lambda f: {"public_id": f["participant"].public_id},
    "participants:consent-create": lambda f: {"public_id": f["participant"].public_id},
    "participants:participant-withdraw": lambda f: {"public_id": f["participant"].public_id},
    "participants:participant-delink": lambda f: {"public_id": f["participant"].public_id},
    "participants:reidentification-create": lambda f: {"public_id": f["participant"].public_id},
    "participants:identity": lambda f: {"public_id": f["participant"].public_id},
    "participants:consent-detail": lambda f: {"public_id": f["consent"].public_id},
    "participants:consent-document": lambda f: {"public_id": f["consent"].public_id},
    "participants:reidentification-decide": lambda f: {
        "public_id": f["reidentification"].public_id
    },
    "api:participant_detail": lambda f: {"participant_id": f["participant"].public_id},
    "api:participant_consents": lambda f: {"participant_id": f["participant"].public_id},
    "api:participant_use_check": lambda f: {"participant_id": f["participant"].public_id},
    "api:reidentification_create": lambda f: {"participant_id": f["participant"].public_id},
    "api:identity": lambda f: {"participant_id": f["participant"].public_id},
    "api:consent_detail": lambda f: {"consent_id": f["consent"].public_id},
    "specimens:collection-detail": lambda f: {"public_id": f["collection"].public_id},
    "specimens:specimen-detail": lambda f: {"barcode": f["specimen"].barcode},
    "specimens:specimen-action": lambda f: {"barcode": f["specimen"].barcode, "action": "aliquot"},
    "api:specimen_detail": lambda f: {"barcode": f["specimen"].barcode},
    "api:specimen_events": lambda f: {"barcode": f["specimen"].barcode},
    "api:specimen_event": lambda f: {"barcode": f["specimen"].barcode},
    "api:specimen_lineage": lambda f: {"barcode": f["specimen"].barcode},
    "api:specimen_aliquot": lambda f: {"barcode": f["specimen"].barcode},
    "api:specimen_derive": lambda f: {"barcode": f["specimen"].barcode},
    "api:specimen_fhir": lambda f: {"barcode": f["specimen"].barcode},
    "api:specimen_data": lambda f: {"barcode": f["specimen"].barcode},
    "api:specimen_data_set": lambda f: {"barcode": f["specimen"].barcode},
    "api:specimen_results": lambda f: {"barcode": f["specimen"].barcode},
    "api:specimen_result_add": lambda f: {"barcode": f["specimen"].barcode},
    "storage:unit-detail": lambda f: {"public_id": f["unit"].public_id},
    "storage:find-places": lambda f: {"public_id": f["unit"].public_id},
    "storage:inventory": lambda f: {"public_id": f["unit"].public_id},
    "storage:inventory-pdf": lambda f: {"public_id": f["unit"].public_id},
    "storage:access-log": lambda f: {"public_id": f["unit"].public_id},
    "storage:unit-action": lambda f: {"public_id": f["unit"].public_id, "action": "place"},
    "storage:checkout": lambda f: {"barcode": f["specimen"].barcode, "action": "out"},
    "api:unit_detail": lambda f: {"unit_id": f["unit"].public_id},
    "api:unit_contents": lambda f: {"unit_id": f["unit"].public_id},
    "api:unit_place": lambda f: {"unit_id": f["unit"].public_id},
    "api:unit_move_in": lambda f: {"unit_id": f["unit"].public_id},
    "api:unit_reading": lambda f: {"unit_id": f["unit"].public_id},
    "api:unit_find_places": lambda f: {"unit_id": f["unit"].public_id},
    "api:unit_access": lambda f: {"unit_id": f["unit"].public_id},
    "api:specimen_check_out": lambda f: {"barcode": f["specimen"].barcode},
    "api:specimen_check_in": lambda f: {"barcode": f["specimen"].barcode},
    "ethics:irb-detail": lambda f: {"public_id": f["irb"].public_id},
    "ethics:self-assessment": lambda f: {"public_id": f["irb"].public_id, "year": 2026},
    "ethics:protocol-list": lambda f: {"public_id": f["irb"].public_id},
    "ethics:meeting-list": lambda f: {"public_id": f["irb"].public_id},
    "ethics:protocol-detail": lambda f: {"public_id": f["irb_protocol"].public_id},
    "ethics:submission-detail": lambda f: {"public_id": f["irb_submission"].public_id},
    "ethics:decision-letter": lambda f: {"public_id": f["irb_submission"].public_id},
    "ethics:submission-action": lambda f: {
        "public_id": f["irb_submission"].public_id,
        "action": "triage",
    },
    "ethics:meeting-detail": lambda f: {"public_id": f["irb_meeting"].public_id},
    "ethics:records": lambda f: {"public_id": f["irb"].public_id},
    "ethics:complaint-detail": lambda f: {"public_id": f["irb_complaint"].public_id},
    "ethics:campaign-detail": lambda f: {"public_id": f["irb_campaign"].public_id},
    "ethics:audit-detail": lambda f: {"public_id": f["irb_audit"].public_id},
    "ethics:application-pdf": lambda f: {"public_id": f["irb_audit"].public_id},
    "ethics:campaign-passing": lambda f: {"public_id": f["irb_campaign"].public_id},
    "ethics:audit-ratings": lambda f: {"public_id": f["irb_audit"].public_id},
    "ethics:audit-report": lambda f: {"public_id": f["irb_audit"].public_id},
    "ethics:irb-application-pdf": lambda f: {"public_id": f["irb"].public_id},
    "api:ethics_irb_detail": lambda f: {"irb_id": f["irb"].public_id},
    "api:ethics_protocol_list": lambda f: {"irb_id": f["irb"].public_id},
    "api:ethics_meeting_list": lambda f: {"irb_id": f["irb"].public_id},
    "api:ethics_self_assessment": lambda f: {"irb_id": f["irb"].public_id, "year": 2026},
    "api:ethics_self_assessment_rate": lambda f: {"irb_id": f["irb"].public_id, "year": 2026},
    "api:ethics_protocol_detail": lambda f: {"protocol_id": f["irb_protocol"].public_id},
    "api:ethics_submission_create": lambda f: {"protocol_id": f["irb_protocol"].public_id},
    "api:ethics_submission_detail": lambda f: {"submission_id": f["irb_submission"].public_id},
    "api:ethics_decision_record": lambda f: {"submission_id": f["irb_submission"].public_id},
    "api:ethics_meeting_detail": lambda f: {"meeting_id": f["irb_meeting"].public_id},
    "api:ethics_campaign_detail": lambda f: {"campaign_id": f["irb_campaign"].public_id},
    "api:ethics_campaign_passing": lambda f: {"campaign_id": f["irb_campaign"].public_id},
    "api:ethics_followup_draw": lambda f: {"campaign_id": f["irb_campaign"].public_id},
    "api:ethics_audit_detail": lambda f: {"audit_id": f["irb_audit"].public_id},
    "api:ethics_audit_ratings": lambda f: {"audit_id": f["irb_audit"].public_id},
    "api:ethics_audit_consolidated": lambda f: {"audit_id": f["irb_audit"].public_id},
    "ethics:irb-audits": lambda f: {"public_id": f["irb"].public_id},
    "ethics:irb-audit": lambda f: {
        "public_id": f["irb"].public_id,
        "audit_id": f["irb_audit"].public_id,
    },
    "api:ethics_irb_audits": lambda f: {"irb_id": f["irb"].public_id},
    "api:ethics_member_add": lambda f: {"irb_id": f["irb"].public_id},
    "api:ethics_member_end": lambda f: {"irb_id": f["irb"].public_id, "member_id": 1},
    "api:ethics_sop_list": lambda f: {"irb_id": f["irb"].public_id},
    "api:ethics_sop_record": lambda f: {"irb_id": f["irb"].public_id},
    "api:ethics_declaration_record": lambda f: {"irb_id": f["irb"].public_id, "member_id": 1},
    "api:ethics_training_record": lambda f: {"irb_id": f["irb"].public_id, "member_id": 1},
    "api:ethics_complaint_receive": lambda f: {"irb_id": f["irb"].public_id},
    "api:ethics_complaint_detail": lambda f: {"complaint_id": f["irb_complaint"].public_id},
    "api:ethics_complaint_investigate": lambda f: {"complaint_id": f["irb_complaint"].public_id},
    "api:ethics_complaint_close": lambda f: {"complaint_id": f["irb_complaint"].public_id},
    "api:ethics_meeting_create": lambda f: {"irb_id": f["irb"].public_id},
    "api:ethics_meeting_agenda_add": lambda f: {"meeting_id": f["irb_meeting"].public_id},
    "api:ethics_meeting_attendance": lambda f: {"meeting_id": f["irb_meeting"].public_id},
    "api:ethics_meeting_quorum": lambda f: {"meeting_id": f["irb_meeting"].public_id},
    "distribution:request-detail": lambda f: {"public_id": f["distribution_request"].public_id},
    "distribution:pick-list-pdf": lambda f: {"public_id": f["distribution_request"].public_id},
    "distribution:request-action": lambda f: {
        "public_id": f["distribution_request"].public_id,
        "action": "submit",
    },
    "distribution:manifest": lambda f: {"public_id": f["shipment"].public_id, "fmt": "pdf"},
    "api:distribution_request_detail": _distribution_request_id,
    "api:distribution_request_eligibility": _distribution_request_id,
    "api:distribution_request_candidates": _distribution_request_id,
    "api:distribution_request_submit": _distribution_request_id,
    "api:distribution_request_approval": _distribution_request_id,
    "api:distribution_request_agreement": _distribution_request_id,
    "api:distribution_request_approve": _distribution_request_id,
    "api:distribution_request_reserve": _distribution_request_id,
    "api:distribution_request_pick_list": _distribution_request_id,
    "api:distribution_request_ship": _distribution_request_id,
    "api:distribution_shipment_receipt": lambda f: {"shipment_id": f["shipment"].public_id},
    "api:distribution_shipment_detail": lambda f: {"shipment_id": f["shipment"].public_id},
    "api:distribution_shipment_returns": lambda f: {"shipment_id": f["shipment"].public_id},
    "api:distribution_shipment_return": lambda f: {"shipment_id": f["shipment"].public_id},
    "api:distribution_shipment_destructions": lambda f: {"shipment_id": f["shipment"].public_id},
    "api:distribution_shipment_destruction": lambda f: {"shipment_id": f["shipment"].public_id},
    "core:import-detail": lambda f: {"public_id": f["import_job"].public_id},
    "core:import-progress": lambda f: {"public_id": f["import_job"].public_id},
}
FOREIGN_RECORD.update(_biosafety_foreign.FOREIGN_RECORD)

PARAMETERISED = [name for name, pattern in all_url_patterns() if _parameters(pattern)]
PLAIN = [name for name, pattern in all_url_patterns() if not _parameters(pattern)]
POST_BODY = {"evidence": "x", "reason": "x", "name_zh": "x", "code": "X", "username": "x"}
# Endpoints whose body must be well-formed before they look the record up.
POST_BODIES = {
    "api:participant_use_check": {"purposes": ["DUO:0000042"], "on": "2025-01-01"},
    "api:specimen_event": {"activity": "thaw", "at": "2025-01-01T08:00:00+08:00"},
    "api:specimen_aliquot": {"count": 1, "quantity_each": "0.1"},
    "api:specimen_data_set": {"field": "x", "value": "1"},
    "api:unit_place": {"barcode": "x", "position": "A1"},
    "api:unit_move_in": {"barcode": "x", "position": "A1"},
    "api:unit_reading": {"value_c": "-80"},
    "api:unit_find_places": {"barcodes": ["x"]},
    "api:specimen_check_out": {"reason": "x"},
    "api:specimen_result_add": {"analyte": "x", "value": "1", "performed_on": "2025-01-01"},
    "api:specimen_derive": {
        "material_type": "PLASMA",
        "quantity_taken": "1",
        "quantities": ["0.5"],
        "unit": "mL",
    },
    "api:distribution_request_approval": {
        "body": "ethics_committee",
        "decision": "approved",
        "decided_on": "2026-01-05",
        "reference": "x",
    },
    "api:distribution_request_agreement": {
        "terms": "x",
        "signed_on": "2026-01-05",
        "recipient_signatory": "x",
    },
    "api:distribution_request_ship": {
        "temperature": "ambient",
        "courier": "x",
        "tracking_number": "x",
    },
    "api:distribution_shipment_receipt": {"condition": "complete"},
    "api:ethics_submission_create": {"kind": "amendment", "received_on": "2026-01-05"},
    "api:ethics_decision_record": {"outcome": "approve", "decided_on": "2026-01-05"},
    "api:ethics_self_assessment_rate": {"number": "1.1", "rating": "compliant"},
    "api:ethics_followup_draw": {"count": 1},
    "api:ethics_member_add": {"name": "x", "gender": "F", "external": False},
    "api:ethics_member_end": {"term_end": "2026-01-05"},
    "api:ethics_sop_record": {
        "topic": 1,
        "document": "x",
        "version": "1",
        "approved_on": "2026-01-05",
    },
    "api:ethics_declaration_record": {"kind": "confidentiality", "signed_on": "2026-01-05"},
    "api:ethics_training_record": {"course": "x", "taken_on": "2026-01-05", "hours": "1"},
    "api:ethics_complaint_receive": {
        "received_on": "2026-01-05",
        "complainant": "x",
        "summary": "x",
    },
    "api:ethics_complaint_investigate": {"investigation": "x"},
    "api:ethics_complaint_close": {"outcome": "x", "closed_on": "2026-01-05"},
    "api:ethics_meeting_create": {"number": "x", "held_on": "2026-01-05"},
    "api:ethics_meeting_agenda_add": {"submission": "00000000-0000-0000-0000-000000000000"},
    "api:ethics_meeting_attendance": {"present": []},
}
POST_BODIES.update(_biosafety_foreign.POST_BODIES)


def test_the_url_conf_has_pages_and_endpoints_to_check():
    assert "core:site-detail" in PARAMETERISED
    assert "api:site_detail" in PARAMETERISED
    assert "core:dashboard" in PLAIN


@pytest.mark.parametrize("name", PARAMETERISED)
def test_another_organizations_record_answers_404(name, cast, foreign, client):
    assert name in FOREIGN_RECORD, (
        f"URL {name!r} takes a record in its path: add it to FOREIGN_RECORD in {__file__} "
        "so tenancy is tested for it"
    )
    url = reverse(name, kwargs=FOREIGN_RECORD[name](foreign))
    client.force_login(cast.manager)  # DEMO's manager: the widest rights in DEMO
    get = client.get(url)
    body = {**POST_BODY, **POST_BODIES.get(name, {})}
    post = client.post(url, data=json.dumps(body), content_type="application/json")
    form_post = client.post(url, data=POST_BODY)
    statuses = {get.status_code, post.status_code, form_post.status_code}
    # 405: the method is not served; 400/422: a body of the wrong kind is refused unread
    assert statuses <= {400, 404, 405, 422}, f"{url}: {statuses}"
    assert 404 in statuses, f"{url}: {statuses}"
    for response in (get, post, form_post):
        body = response.content.decode()
        assert not any(marker in body for marker in OTHER_MARKERS), url


@pytest.mark.parametrize("name", PLAIN)
def test_lists_show_nothing_of_another_organization(name, cast, foreign, client):
    client.force_login(cast.manager)
    response = client.get(reverse(name))
    content = (
        b"".join(response.streaming_content) if response.streaming else response.content
    ).decode("utf-8", errors="replace")
    assert response.status_code < 500
    assert not any(marker in content for marker in OTHER_MARKERS), name


@pytest.mark.parametrize("name", PLAIN)
def test_outsider_sees_nothing_of_demo(name, cast, client):
    from biobank.participants.services import participant_register

    participant_register(actor=cast.technician, organization=cast.demo, code="DEMO-P1")
    services.site_update(
        actor=cast.manager, site=cast.demo_site, phone="2", reason="demo-only reason"
    )
    client.force_login(cast.outsider)
    response = client.get(reverse(name))
    content = (
        b"".join(response.streaming_content) if response.streaming else response.content
    ).decode("utf-8", errors="replace")
    assert response.status_code < 500
    assert "demo-only reason" not in content
    assert "結核菌實驗室" not in content
    assert "示範生物資料庫" not in content
    assert "DEMO-P1" not in content


def test_anonymous_user_is_sent_to_sign_in_or_refused(cast, client):
    for name in PLAIN:
        response = client.get(reverse(name))
        assert response.status_code in {302, 401, 404}, name
