"""Committee meetings with their minutes and decisions (BS-06): who was present, the agenda,
the minutes (text and signed document), and decisions that decide an approval (BS-10),
confirm a destruction (BS-15), confirm an incident's material may be used again (BS-13) or
approve the emergency plan (BS-12)."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from io import BytesIO

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from biobank.biosafety import rules, services
from biobank.biosafety.models import Approval, CommitteeDecision, Meeting
from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import AuditEvent, Obligation
from tests.biosafety.conftest import register

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4 minutes signed by the chair"
PARTS = {key: f"第 {n} 部分" for n, key in enumerate(rules.EMERGENCY_PLAN_PARTS, start=1)}
HELD = date(2026, 2, 10)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime(2026, 3, 2, 2, 0, tzinfo=UTC), tick=False):
        yield


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def committee(cast):
    made = services.committee_form(
        actor=cast.biosafety,
        organization=cast.demo,
        kind="committee",
        regime="human",
        name="生物安全會",
        formed_on=date(2026, 1, 15),
    )
    for name, role in (("林院長", "head"), ("張主任", "site_supervisor"), ("陳技師", "technical")):
        services.committee_member_add(
            actor=cast.biosafety, committee=made, name=name, role=role, joined_on=date(2026, 1, 15)
        )
    return made


@pytest.fixture
def meeting(cast, committee) -> Meeting:
    return services.meeting_record(
        actor=cast.biosafety,
        committee=committee,
        held_on=HELD,
        agenda="一、核准使用申請\n二、銷毀確認",
        attendees=committee.members.all(),
        minutes="出席三人，全數同意。",
    )


def decide(cast, meeting, decides, outcome="approved", **links) -> CommitteeDecision:
    return services.decision_record(
        actor=cast.biosafety, meeting=meeting, decides=decides, outcome=outcome, **links
    )


def test_bs06_a_meeting_records_who_was_present_the_agenda_and_the_minutes(cast, meeting):
    assert meeting.attendees.count() == 3
    assert meeting.organization == cast.demo
    event = AuditEvent.objects.get(object_type="biosafety.meeting", action="create")
    assert "林院長" in event.reason
    services.meeting_minutes_record(
        actor=cast.biosafety,
        meeting=meeting,
        document=ContentFile(PDF, name="minutes.pdf"),
        reason="主席簽署",
    )
    meeting.refresh_from_db()
    assert meeting.minutes_document and len(meeting.minutes_document_sha256) == 64
    assert meeting.minutes == "出席三人，全數同意。"
    with pytest.raises(ApplicationError):
        services.meeting_minutes_record(
            actor=cast.biosafety, meeting=meeting, document=ContentFile(b"MZ", name="x.exe")
        )
    with pytest.raises(ApplicationError):
        services.meeting_minutes_record(actor=cast.biosafety, meeting=meeting)


def test_bs06_only_members_serving_on_the_day_attend(cast, committee):
    late = services.committee_member_add(
        actor=cast.biosafety,
        committee=committee,
        name="新委員",
        role="technical",
        joined_on=date(2026, 2, 20),
    )

    def record(held_on, attendees, agenda="議程"):
        return services.meeting_record(
            actor=cast.biosafety,
            committee=committee,
            held_on=held_on,
            agenda=agenda,
            attendees=attendees,
        )

    for held_on, attendees, agenda in (
        (HELD, [late], "議程"),  # joined after the meeting
        (HELD, [], "議程"),  # nobody present
        (date(2026, 1, 2), committee.members.all()[:1], "議程"),  # before its formation
        (HELD, committee.members.all()[:1], " "),  # no agenda
    ):
        with pytest.raises(ApplicationError) as refused:
            record(held_on, attendees, agenda)
        assert refused.value.rule == "BS-06"
    with pytest.raises(ApplicationError):
        record(date(2026, 3, 3), committee.members.all()[:1])  # not yet held
    with pytest.raises(PermissionDenied):
        services.meeting_record(
            actor=cast.technician,
            committee=committee,
            held_on=HELD,
            agenda="議程",
            attendees=committee.members.all(),
        )
    assert record(date(2026, 2, 25), [late]).attendees.get() == late


def test_bs10_a_decision_naming_an_approval_decides_it(cast, committee, meeting, bsl2):
    stock = register(cast, bsl2, "SA-1", "s-aureus")
    approval = services.approval_request(
        actor=cast.biosafety, material=stock, kind="use", purpose="藥敏試驗"
    )
    decision = decide(cast, meeting, "approval", approval=approval, conditions="限 BSC 內操作")
    approval.refresh_from_db()
    assert approval.status == Approval.Status.APPROVED
    assert approval.committee_decided_on == HELD
    assert approval.committee_reference == decision.reference == f"生物安全會 {HELD} #1"
    assert "限 BSC 內操作" in approval.conditions
    assert decision.subject  # taken from the approval when none is given
    other = services.approval_request(
        actor=cast.biosafety, material=stock, kind="change", purpose="改變用途"
    )
    decide(cast, meeting, "approval", "rejected", approval=other, reference="BSC-115-02")
    other.refresh_from_db()
    assert other.status == Approval.Status.REJECTED and other.committee_reference == "BSC-115-02"
    # a decision about one approval cannot decide another
    third = services.approval_request(
        actor=cast.biosafety, material=stock, kind="transfer", purpose="轉移"
    )
    with pytest.raises(ApplicationError) as refused:
        services.approval_committee_decide(actor=cast.biosafety, approval=third, decision=decision)
    assert refused.value.rule == "BS-10"


def test_bs15_a_destruction_cites_the_committees_decision(cast, committee, meeting, tb_stock):
    confirmed = decide(cast, meeting, "destruction", "confirmed", material=tb_stock)
    destruction = services.destruction_record(
        actor=cast.biosafety,
        material=tb_stock,
        method="autoclave",
        destroyed_on=date(2026, 2, 11),
        reason="過期菌株",
        decision=confirmed,
    )
    assert destruction.confirmed_on == HELD
    assert destruction.committee_reference == confirmed.reference
    other = register(cast, cast.demo_site, "MTB-002", "m-tuberculosis")
    deferred = decide(cast, meeting, "destruction", "deferred", material=other)
    cases = [
        (confirmed, "BS-15"),  # about another material
        (deferred, "BS-15"),  # the committee has not confirmed
        (
            decide(cast, meeting, "other", "approved", subject="年度稽核"),
            "BS-15",
        ),  # not a destruction
    ]
    for decision, rule in cases:
        with pytest.raises(ApplicationError) as refused:
            services.destruction_record(
                actor=cast.biosafety,
                material=other,
                method="autoclave",
                destroyed_on=date(2026, 2, 11),
                reason="x",
                decision=decision,
            )
        assert refused.value.rule == rule
    with pytest.raises(ApplicationError) as refused:
        services.destruction_record(
            actor=cast.biosafety,
            material=other,
            method="autoclave",
            destroyed_on=date(2026, 2, 11),
            reason="x",
        )
    assert refused.value.rule == "BS-15"  # neither a decision nor a day and reference


def test_bs06_a_decision_of_the_other_regimes_committee_is_refused(cast, committee, tb_stock):
    animal = services.committee_form(
        actor=cast.biosafety,
        organization=cast.demo,
        kind="committee",
        regime="animal",
        name="動物生安會",
        formed_on=date(2026, 1, 15),
    )
    member = services.committee_member_add(
        actor=cast.biosafety, committee=animal, name="獸醫", role="head", joined_on=HELD
    )
    sitting = services.meeting_record(
        actor=cast.biosafety, committee=animal, held_on=HELD, agenda="x", attendees=[member]
    )
    with pytest.raises(ApplicationError) as refused:
        decide(cast, sitting, "destruction", "confirmed", material=tb_stock)
    assert refused.value.rule == "BS-06"
    loose = decide(cast, sitting, "destruction", "confirmed", subject="銷毀人類病原")
    with pytest.raises(ApplicationError) as refused:
        services.destruction_record(
            actor=cast.biosafety,
            material=tb_stock,
            method="autoclave",
            destroyed_on=HELD,
            reason="x",
            decision=loose,
        )
    assert refused.value.rule == "BS-06"
    with pytest.raises(ApplicationError):  # one link, matching what it decides
        decide(cast, sitting, "approval", "approved", material=tb_stock)


def test_bs13_a_decision_confirms_the_material_but_resumption_waits_for_the_authorities(
    cast, committee, meeting, tb_stock
):
    incident = services.incident_report(
        actor=cast.biosafety, organization=cast.demo, title="離心管破裂", description="x",
        occurred_at=datetime(2026, 2, 1, 2, tzinfo=UTC), level=1, risk_assessment="低",
        regime="human", materials=[tb_stock],
    )  # fmt: skip
    services.incident_material_measure(
        actor=cast.biosafety, incident=incident, material=tb_stock, measure="suspend", note="暫停"
    )
    decision = decide(cast, meeting, "resumption", "confirmed", incident=incident)
    incident.refresh_from_db()
    assert incident.committee_confirmed_on == HELD
    assert incident.committee_reference == decision.reference
    with pytest.raises(ApplicationError) as refused:
        services.incident_resume(actor=cast.biosafety, incident=incident, resumed_on=HELD)
    assert refused.value.rule == "BS-13"
    services.incident_authority_consent(
        actor=cast.biosafety, incident=incident, consented_on=HELD, reference="疾管字-1"
    )
    services.incident_resume(actor=cast.biosafety, incident=incident, resumed_on=HELD)
    tb_stock.refresh_from_db()
    assert tb_stock.status == "held"


def test_bs12_a_decision_approves_a_complete_plan_only(cast, committee, meeting):
    draft = services.plan_create(
        actor=cast.biosafety, organization=cast.demo, regime="human", title="緊急應變計畫",
        version="1", parts={**PARTS, "evacuation": ""},
    )  # fmt: skip
    with pytest.raises(ApplicationError) as refused:
        decide(cast, meeting, "plan", "approved", plan=draft)
    assert refused.value.rule == "BS-12"
    assert not CommitteeDecision.objects.exists()  # refused as a whole
    services.plan_update(actor=cast.biosafety, plan=draft, parts=PARTS)
    decision = decide(cast, meeting, "plan", "approved", plan=draft)
    draft.refresh_from_db()
    assert draft.status == "approved" and draft.approved_on == HELD
    assert draft.committee_reference == decision.reference
    assert Obligation.objects.filter(subject_type="biosafety.drills", state="open").exists()


def test_bs06_dissolving_the_committee_is_reported_within_a_month(cast, committee):
    services.committee_report(
        actor=cast.biosafety, committee=committee, reported_on=date(2026, 2, 1), reference="R1"
    )
    services.committee_dissolve(
        actor=cast.biosafety, committee=committee, dissolved_on=date(2026, 2, 27), reason="改組"
    )
    assert Obligation.objects.filter(
        subject_id=str(committee.pk), rule_id="BS-06", state="open"
    ).exists()
    with pytest.raises(ApplicationError):
        services.committee_dissolve(
            actor=cast.biosafety, committee=committee, dissolved_on=date(2026, 2, 28), reason="x"
        )


def test_bs06_the_committee_page_records_meetings_minutes_and_decisions(
    cast, committee, client, bsl2
):
    stock = register(cast, bsl2, "SA-1", "s-aureus")
    approval = services.approval_request(
        actor=cast.biosafety, material=stock, kind="use", purpose="藥敏試驗"
    )
    client.force_login(cast.biosafety)
    detail = reverse("biosafety:committee-detail", kwargs={"public_id": committee.public_id})
    action = "biosafety:committee-action"
    members = [str(m.pk) for m in committee.members.all()]
    response = client.post(
        reverse(action, kwargs={"public_id": committee.public_id, "action": "meeting"}),
        {
            "meeting-held_on": "2026-02-10",
            "meeting-attendees": members,
            "meeting-agenda": "核准使用申請",
            "meeting-minutes": "同意",
            "meeting-document": SimpleUploadedFile("minutes.pdf", PDF, "application/pdf"),
        },
    )
    assert response.status_code == 302
    meeting = Meeting.objects.get()
    assert meeting.attendees.count() == 3 and meeting.minutes_document
    client.post(
        reverse(action, kwargs={"public_id": committee.public_id, "action": "decision"}),
        {
            "decision-meeting": meeting.pk,
            "decision-decides": "approval",
            "decision-outcome": "approved",
            "decision-approval": approval.pk,
        },
    )
    approval.refresh_from_db()
    assert approval.status == "approved"
    page = client.get(detail).content.decode()
    assert "核准使用申請" in page and approval.committee_reference in page
    document = client.get(
        reverse("biosafety:meeting-document", kwargs={"public_id": meeting.public_id})
    )
    assert b"".join(document.streaming_content) == PDF
    assert AuditEvent.objects.filter(object_type="biosafety.meeting", action="view").exists()
    refused = client.post(
        reverse(action, kwargs={"public_id": committee.public_id, "action": "minutes"}),
        {
            "minutes-meeting": meeting.pk,
            "minutes-document": SimpleUploadedFile("minutes.pdf", b"not a pdf"),
        },
        follow=True,
    )
    assert any("PDF" in str(m) for m in refused.context["messages"])
    client.force_login(cast.auditor)  # sees the meetings, records none
    page = client.get(detail).content.decode()
    assert "核准使用申請" in page and "meeting-agenda" not in page


def test_bs06_api_records_a_meeting_and_decisions_and_destroys_by_decision(
    cast, committee, client, tb_stock
):
    client.force_login(cast.biosafety)
    committee_out = client.get(f"/api/v1/biosafety/committees/{committee.public_id}").json()
    ids = [m["id"] for m in committee_out["members"]]
    made = client.post(
        f"/api/v1/biosafety/committees/{committee.public_id}/meetings",
        data=json.dumps({"held_on": "2026-02-10", "agenda": "銷毀確認", "attendees": ids}),
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    meeting_id = made.json()["id"]
    decision = client.post(
        f"/api/v1/biosafety/meetings/{meeting_id}/decisions",
        data=json.dumps({"decides": "destruction", "outcome": "confirmed", "material": "MTB-001"}),
        content_type="application/json",
    )
    assert decision.status_code == 201, decision.content
    assert decision.json()["material"] == "MTB-001"
    destroyed = client.post(
        f"/api/v1/biosafety/materials/{tb_stock.public_id}/destruction",
        data=json.dumps(
            {
                "method": "autoclave",
                "destroyed_on": "2026-02-11",
                "reason": "過期",
                "decision": decision.json()["id"],
            }
        ),
        content_type="application/json",
    )
    assert destroyed.status_code == 201, destroyed.content
    assert destroyed.json()["committee_reference"] == decision.json()["reference"]
    minutes = client.post(
        f"/api/v1/biosafety/meetings/{meeting_id}/minutes",
        data=json.dumps({"minutes": "同意銷毀"}),
        content_type="application/json",
    )
    assert minutes.json()["minutes"] == "同意銷毀"
    listed = client.get(f"/api/v1/biosafety/committees/{committee.public_id}/meetings").json()
    assert listed[0]["decisions"][0]["outcome"] == "confirmed"
    assert len(client.get("/api/v1/biosafety/decisions").json()) == 1
    client.force_login(cast.outsider)
    assert client.get("/api/v1/biosafety/decisions").json() == []
    assert client.get(f"/api/v1/biosafety/meetings/{meeting_id}").status_code == 404


def test_bs06_the_committee_export_carries_meetings_and_decisions(cast, meeting, client):
    decide(cast, meeting, "other", "approved", subject="年度內部稽核計畫")
    client.force_login(cast.auditor)
    response = client.get(reverse("biosafety:export-committee-xlsx"))
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    texts = [" ".join(str(c) for c in row if c is not None) for row in rows]
    assert any("一、核准使用申請" in t and "林院長" in t for t in texts)
    assert any("年度內部稽核計畫" in t and f"生物安全會 {HELD} #1" in t for t in texts)


def test_bs06_a_meeting_is_kept_3_years_then_purged_with_its_decisions(
    cast, meeting, django_capture_on_commit_callbacks
):
    services.meeting_minutes_record(
        actor=cast.biosafety, meeting=meeting, document=ContentFile(PDF, name="minutes.pdf")
    )
    decide(cast, meeting, "other", "noted", subject="報告事項")
    meeting.refresh_from_db()
    assert services.retention_of(meeting) == (date(2029, 2, 10), "HP-04")
    with pytest.raises(ApplicationError) as refused:
        services.record_purge(actor=cast.biosafety, record=meeting, reason="期滿")
    assert refused.value.rule == "HP-04"
    stored = meeting.minutes_document.path
    with (
        time_machine.travel(date(2029, 2, 11), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert meeting in [r for r, _until, _rule in services.purgeable(organization=cast.demo)]
        services.record_purge(actor=cast.biosafety, record=meeting, reason="期滿")
    assert not Meeting.objects.exists() and not CommitteeDecision.objects.exists()
    assert AuditEvent.objects.filter(
        object_type="biosafety.committeedecision", action="retire"
    ).exists()
    assert not os.path.exists(stored)


def test_meeting_and_decision_lists_do_not_grow_queries_with_meetings(
    cast, committee, meeting, client, bsl2
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    stock = register(cast, bsl2, "SA-1", "s-aureus")
    decide(cast, meeting, "destruction", "confirmed", material=stock)
    client.force_login(cast.biosafety)
    urls = [
        f"/api/v1/biosafety/committees/{committee.public_id}/meetings",
        "/api/v1/biosafety/decisions",
        reverse("biosafety:committee-detail", kwargs={"public_id": committee.public_id}),
    ]

    def counts() -> list[int]:
        found = []
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            found.append(len(queries))
        return found

    before = counts()
    for day in (date(2026, 2, 20), date(2026, 2, 25)):
        more = services.meeting_record(
            actor=cast.biosafety,
            committee=committee,
            held_on=day,
            agenda="例行會議",
            attendees=committee.members.all(),
        )
        approval = services.approval_request(
            actor=cast.biosafety, material=stock, kind="use", purpose=str(day)
        )
        decide(cast, more, "approval", approval=approval)
        decide(cast, more, "other", "noted", subject="報告")
    assert counts() == before
