"""The IRB's own records: SOP register (EC-11), declarations, training, complaints, and the
evidence they give the self-assessment (criteria 1.1, 1.4, 1.5, 1.10 … 1.12, 2.17, 4.9)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings

from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent
from biobank.ethics import rules, services
from biobank.ethics.models import Complaint
from tests.conftest import shared_path
from tests.ethics.conftest import member


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to("2026-06-30 10:00+08:00", tick=False)


def test_ec11_the_26_sop_topics_match_annex_2_item_10():
    seed = shared_path("seeds", "002_2b4eda7f474fe62f.txt").read_text(encoding="utf-8")
    item10 = seed.split("十、申請查核審查會得參考下列作業程序：")[1].split("附件三")[0]
    listed = re.findall(r"^ (\d+)\. (.+)$", item10, flags=re.MULTILINE)
    assert len(listed) == rules.SOP_TOPIC_COUNT == 26
    topics = rules.sop_topics()
    assert [(str(t.topic), t.title_zh) for t in topics] == [(n, t.strip()) for n, t in listed]
    assert all(t.title_en for t in topics)


def test_ec11_stale_sops_are_flagged_after_the_review_interval():
    today = date(2026, 6, 30)
    assert not rules.sop_stale(date(2024, 6, 30), None, today=today)
    assert rules.sop_stale(date(2024, 6, 29), None, today=today)
    assert not rules.sop_stale(date(2020, 1, 1), date(2025, 1, 1), today=today)
    assert rules.sop_stale(date(2025, 1, 1), None, today=today, review_months=12)
    coverage = rules.sop_coverage(
        [(1, date(2025, 1, 1), None), (2, date(2020, 1, 1), None)], today=today
    )
    assert coverage.present == 2 and coverage.stale == (2,) and len(coverage.missing) == 24
    assert not coverage.complete


def test_ec11_sop_register_records_versions_and_flags(cast, committee):
    services.sop_record(
        actor=cast.irb_admin,
        irb=committee,
        topic=1,
        document="IRB-SOP-01",
        version="3.0",
        approved_on=date(2023, 1, 5),
    )
    register = services.sop_register(committee)
    assert len(register) == 26
    assert register[0].document.version == "3.0" and register[0].stale
    services.sop_record(
        actor=cast.irb_admin,
        irb=committee,
        topic=1,
        document="IRB-SOP-01",
        version="3.1",
        approved_on=date(2023, 1, 5),
        reviewed_on=date(2026, 1, 10),
    )
    register = services.sop_register(committee)
    assert register[0].document.version == "3.1" and not register[0].stale
    assert AuditEvent.objects.filter(object_type="ethics.sopdocument", action="update").exists()
    with pytest.raises(ApplicationError) as refused:
        services.sop_record(
            actor=cast.irb_admin,
            irb=committee,
            topic=27,
            document="x",
            version="1",
            approved_on=date(2026, 1, 1),
        )
    assert refused.value.rule == "EC-11"


def test_conflict_of_interest_keeps_a_member_off_the_review(cast, committee):
    protocol = services.protocol_create(
        actor=cast.irb_admin,
        irb=committee,
        code="P-COI",
        title="x",
        principal_investigator="黃",
        risk="minimal",
        received_on=date(2026, 6, 1),
    )
    wang = member(committee, "王委員")
    services.declaration_record(
        actor=cast.irb_admin,
        member=wang,
        kind="conflict",
        signed_on=date(2026, 6, 2),
        protocol=protocol,
        conflicted=True,
        details="計畫共同主持人",
    )
    submission = protocol.submissions.get()
    services.submission_triage(
        actor=cast.irb_admin,
        submission=submission,
        review_type="expedited",
        reasons=["minimal_risk"],
    )
    with pytest.raises(ApplicationError, match="conflict"):
        services.reviewer_assign(actor=cast.irb_admin, submission=submission, member=wang)
    with pytest.raises(ApplicationError):
        services.declaration_record(
            actor=cast.irb_admin,
            member=wang,
            kind="confidentiality",
            signed_on=date(2026, 6, 2),
            protocol=protocol,
        )


def test_training_needs_induction_for_new_members_and_hours_for_everyone(cast, committee):
    newcomer = services.irb_member_add(
        actor=cast.irb_admin,
        irb=committee,
        name="新委員",
        gender="F",
        external=True,
        term_start=date(2026, 3, 1),
    )
    services.training_record(
        actor=cast.irb_admin,
        member=member(committee, "陳主委"),
        course="研究倫理繼續教育",
        taken_on=date(2026, 2, 1),
        hours=Decimal("3"),
    )
    services.training_record(
        actor=cast.irb_admin,
        member=newcomer,
        course="研究倫理",
        taken_on=date(2026, 3, 2),
        hours=Decimal("2"),
    )
    status = {t.name: t for t in services.training_overview(committee)}
    assert status["陳主委"].trained and status["陳主委"].hours == Decimal("3")
    assert status["新委員"].needs_induction and not status["新委員"].trained
    assert not status["趙秘書"].trained
    with pytest.raises(ApplicationError):
        services.training_record(
            actor=cast.irb_admin,
            member=newcomer,
            course="x",
            taken_on=date(2026, 3, 2),
            hours=Decimal("0"),
        )


def test_complaint_from_receipt_through_investigation_to_outcome(cast, committee):
    complaint = services.complaint_receive(
        actor=cast.irb_admin,
        irb=committee,
        received_on=date(2026, 6, 1),
        complainant="受試者 P-0042",
        summary="未收到交通補助",
    )
    with pytest.raises(ApplicationError):
        services.complaint_close(
            actor=cast.irb_admin, complaint=complaint, outcome="x", closed_on=date(2026, 6, 2)
        )
    services.complaint_investigate(
        actor=cast.irb_admin, complaint=complaint, investigation="訪談研究護理師"
    )
    services.complaint_close(
        actor=cast.irb_admin, complaint=complaint, outcome="補發補助", closed_on=date(2026, 6, 10)
    )
    complaint.refresh_from_db()
    assert complaint.state == Complaint.State.CLOSED
    assert (
        "4.9" in services.evidence(committee) and "1 closed" in services.evidence(committee)["4.9"]
    )


def test_ec09_self_assessment_evidence_for_2_17_is_computed(cast, committee):
    for code, decided, notified in [
        ("P-1", date(2026, 3, 2), date(2026, 3, 3)),
        ("P-2", date(2026, 3, 2), date(2026, 6, 1)),
    ]:
        protocol = services.protocol_create(
            actor=cast.irb_admin,
            irb=committee,
            code=code,
            title="x",
            principal_investigator="黃",
            risk="minimal",
            received_on=date(2026, 3, 1),
        )
        submission = protocol.submissions.get()
        services.submission_triage(
            actor=cast.irb_admin,
            submission=submission,
            review_type="expedited",
            reasons=["minimal_risk"],
        )
        decision = services.decision_record(
            actor=cast.irb_admin, submission=submission, outcome="approve", decided_on=decided
        )
        services.decision_notify(actor=cast.irb_admin, decision=decision, notified_on=notified)
    shown = services.evidence(committee)
    assert "1 of 2 (50%)" in shown["2.17"]
    assert "HR-02" in shown["1.4"]
    assert "0 of 26" in shown["1.1"]


def test_records_page_records_and_self_assessment_shows_evidence(cast, committee, client):
    client.force_login(cast.irb_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # messages matched in English
    url = f"/ethics/{committee.public_id}/records/"
    chen = member(committee, "陳主委")
    client.post(
        url,
        {
            "action": "sop",
            "topic": "2",
            "document": "SOP-02",
            "version": "1",
            "approved_on": "2026-01-02",
        },
    )
    client.post(
        url,
        {
            "action": "declaration",
            "member": chen.pk,
            "kind": "confidentiality",
            "signed_on": "2026-01-02",
        },
    )
    client.post(
        url,
        {
            "action": "training",
            "member": chen.pk,
            "course": "GCP",
            "taken_on": "2026-01-02",
            "hours": "2.5",
        },
    )
    client.post(
        url,
        {"action": "complaint", "received_on": "2026-06-01", "complainant": "P-1", "summary": "s"},
    )
    client.post(
        url,
        {"action": "training", "member": chen.pk, "course": "GCP", "taken_on": "bad", "hours": "x"},
    )
    page = client.get(url).content.decode()
    assert "SOP-02" in page and "2.5" in page
    complaint = Complaint.objects.get(irb=committee)
    detail = f"/ethics/complaints/{complaint.public_id}/"
    client.post(detail, {"action": "investigate", "investigation": "查證"})
    client.post(detail, {"action": "close", "outcome": "已處理", "closed_on": "2026-06-20"})
    complaint.refresh_from_db()
    assert complaint.state == "closed"
    assessment = client.get(f"/ethics/{committee.public_id}/self-assessment/2026/").content.decode()
    assert "1 of 7 members and staff signed" in assessment
    assert "EC-09" in assessment
