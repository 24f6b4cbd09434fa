"""The committee (BS-06, HP-01) and approvals (BS-04, BS-10): forming, members, the one-month
report, and approvals that wait for the central authority at risk group 3-4."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from biobank.biosafety import services
from biobank.biosafety.models import Approval
from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import Obligation
from tests.biosafety.conftest import register

pytestmark = pytest.mark.django_db

REVIEW = {
    "project": "TB drug resistance",
    "responsible_person": "張家豪",
    "personnel": "張家豪, 陳志豪",
    "containment": "BSL3 negative pressure",
    "handling": "class II BSC",
    "storage": "-80 °C freezer, locked",
    "emergency_plan": "EP-2026",
}


def committee(cast, regime: str = "human", kind: str = "committee"):
    return services.committee_form(
        actor=cast.biosafety,
        organization=cast.demo,
        kind=kind,
        regime=regime,
        name="生物安全會",
        formed_on=date(2026, 1, 15),
    )


def test_forming_a_committee_opens_the_one_month_report_bs06(cast):
    made = committee(cast)
    obligation = Obligation.objects.get(subject_id=str(made.pk), rule_id="BS-06")
    # 2026-02-15 is a Sunday and the Lunar New Year days off follow: the next working day
    assert timezone.localtime(obligation.due_at).date() == date(2026, 2, 23)  # TD-01
    services.committee_report(
        actor=cast.biosafety, committee=made, reported_on=date(2026, 2, 2), reference="MOA-1"
    )
    obligation.refresh_from_db()
    assert obligation.state == "done" and "MOA-1" in obligation.evidence


def test_a_member_change_after_formation_is_reported_too(cast):
    made = committee(cast)
    services.committee_report(
        actor=cast.biosafety, committee=made, reported_on=date(2026, 2, 2), reference="R1"
    )
    member = services.committee_member_add(
        actor=cast.biosafety,
        committee=made,
        name="林美華",
        role="head",
        joined_on=date(2026, 3, 1),
    )
    assert Obligation.objects.filter(subject_id=str(made.pk), state="open").count() == 1
    services.committee_member_remove(actor=cast.biosafety, member=member, left_on=date(2026, 3, 2))
    assert Obligation.objects.filter(subject_id=str(made.pk), state="open").count() == 1
    with pytest.raises(ApplicationError):
        services.committee_member_remove(
            actor=cast.biosafety, member=member, left_on=date(2026, 3, 3)
        )


def test_a_responsible_person_needs_3_years_and_16_hours_bs06(cast):
    cast.demo.staff_count = 3
    cast.demo.save()
    person = committee(cast, regime="animal", kind="responsible_person")
    with pytest.raises(ApplicationError) as refused:
        services.committee_member_add(
            actor=cast.biosafety,
            committee=person,
            name="新人",
            role="responsible_person",
            joined_on=date(2026, 1, 15),
            years_lab_experience=Decimal(2),
            training_hours=Decimal(16),
        )
    assert refused.value.rule == "BS-06"
    services.committee_member_add(
        actor=cast.biosafety,
        committee=person,
        name="資深",
        role="responsible_person",
        joined_on=date(2026, 1, 15),
        years_lab_experience=Decimal(3),
        training_hours=Decimal(16),
    )


def test_with_5_or_more_staff_a_committee_is_required_bs06(cast):
    cast.demo.staff_count = 5
    cast.demo.save()
    with pytest.raises(ApplicationError) as refused:
        committee(cast, regime="animal", kind="responsible_person")
    assert refused.value.rule == "BS-06"


def test_human_regime_risk_group_3_needs_a_committee_whatever_the_staff_hp01(cast, tb_stock):
    with pytest.raises(ApplicationError) as refused:
        committee(cast, regime="human", kind="biosafety_officer")
    assert refused.value.rule == "HP-01"


def test_one_committee_per_regime(cast):
    committee(cast)
    with pytest.raises(ApplicationError):
        committee(cast)


def test_risk_group_3_approval_waits_for_the_central_authority_bs10(cast, tb_stock):
    committee(cast)
    approval = services.approval_request(
        actor=cast.biosafety,
        material=tb_stock,
        kind="possession",
        purpose="drug susceptibility",
        review_form=REVIEW,
    )
    assert approval.central_required and approval.required_level == "BSL3"
    assert not services.work_allowed(tb_stock, cast.demo_site, "possession")
    services.approval_committee_decide(
        actor=cast.biosafety,
        approval=approval,
        approved=True,
        decided_on=date(2026, 2, 1),
        reference="BSC-2026-01",
    )
    approval.refresh_from_db()
    assert approval.status == Approval.Status.PENDING_CENTRAL
    assert not services.work_allowed(tb_stock, cast.demo_site, "possession")
    services.approval_central_decide(
        actor=cast.biosafety,
        approval=approval,
        approved=True,
        decided_on=date(2026, 2, 20),
        reference="CDC-2026-77",
    )
    approval.refresh_from_db()
    assert approval.status == "approved"
    assert services.work_allowed(tb_stock, cast.demo_site, "possession")
    with pytest.raises(ApplicationError):  # decided already
        services.approval_central_decide(
            actor=cast.biosafety,
            approval=approval,
            approved=True,
            decided_on=date(2026, 2, 20),
            reference="again",
        )


def test_risk_group_3_without_the_review_form_is_refused_bs10(cast, tb_stock):
    committee(cast)
    with pytest.raises(ApplicationError) as refused:
        services.approval_request(
            actor=cast.biosafety, material=tb_stock, kind="use", purpose="x", review_form={}
        )
    assert refused.value.rule == "HP-01"  # the human regime's route
    with pytest.raises(ApplicationError):
        services.approval_request(
            actor=cast.biosafety,
            material=tb_stock,
            kind="use",
            purpose="x",
            review_form={"colour": "red"},
        )


def test_risk_group_3_in_the_human_regime_needs_a_committee_hp01(cast, tb_stock):
    with pytest.raises(ApplicationError) as refused:
        services.approval_request(
            actor=cast.biosafety, material=tb_stock, kind="use", purpose="x", review_form=REVIEW
        )
    assert refused.value.rule == "HP-01"


def test_risk_group_2_needs_only_the_committee(cast):
    committee(cast)
    hbv = register(cast, cast.demo_site, "HBV-1", "hbv", material_class=3)
    approval = services.approval_request(
        actor=cast.biosafety, material=hbv, kind="use", purpose="assay"
    )
    assert not approval.central_required
    services.approval_committee_decide(
        actor=cast.biosafety,
        approval=approval,
        approved=True,
        decided_on=date(2026, 2, 1),
        reference="BSC-2",
    )
    approval.refresh_from_db()
    assert approval.status == "approved"


def test_the_committee_decides_only_once_it_exists_bs06(cast):
    hbv = register(cast, cast.demo_site, "HBV-1", "hbv", material_class=3)
    approval = services.approval_request(
        actor=cast.biosafety, material=hbv, kind="use", purpose="assay"
    )
    with pytest.raises(ApplicationError) as refused:
        services.approval_committee_decide(
            actor=cast.biosafety,
            approval=approval,
            approved=True,
            decided_on=date(2026, 2, 1),
            reference="x",
        )
    assert refused.value.rule == "BS-06"


def test_work_at_a_site_below_the_level_is_refused_bs04(cast, bsl2, tb_stock):
    committee(cast)
    with pytest.raises(ApplicationError) as refused:
        services.approval_request(
            actor=cast.biosafety,
            material=tb_stock,
            kind="use",
            purpose="culture",
            site=bsl2,
            review_form=REVIEW,
        )
    assert refused.value.rule == "BS-04"
    # risk group 3 work that does not propagate the pathogen may be done at BSL2 (BS-04(2))
    approval = services.approval_request(
        actor=cast.biosafety,
        material=tb_stock,
        kind="use",
        purpose="PCR",
        site=bsl2,
        propagating=False,
        review_form=REVIEW,
    )
    assert approval.required_level == "BSL2" and not approval.lower_level_exception
    with pytest.raises(ApplicationError):
        services.approval_request(
            actor=cast.biosafety,
            material=tb_stock,
            kind="use",
            purpose="x",
            propagating=False,
            large_scale=True,
            review_form=REVIEW,
        )


def test_validly_inactivated_material_goes_lower_by_committee_exception_bs04(cast, bsl2):
    committee(cast)
    killed = register(
        cast,
        cast.demo_site,
        "MTB-HK",
        "m-tuberculosis",
        material_class=2,
        inactivation="heat",
        inactivation_validated=True,
    )
    approval = services.approval_request(
        actor=cast.biosafety,
        material=killed,
        kind="use",
        purpose="antigen",
        site=bsl2,
        review_form=REVIEW,
    )
    assert approval.lower_level_exception
    for decide, ref in (
        (services.approval_committee_decide, "C1"),
        (services.approval_central_decide, "A1"),
    ):
        decide(
            actor=cast.biosafety,
            approval=approval,
            approved=True,
            decided_on=date(2026, 3, 1),
            reference=ref,
        )
    assert services.work_allowed(killed, bsl2)


def test_a_rejection_ends_the_approval(cast):
    committee(cast)
    hbv = register(cast, cast.demo_site, "HBV-1", "hbv", material_class=3)
    approval = services.approval_request(
        actor=cast.biosafety, material=hbv, kind="use", purpose="assay"
    )
    services.approval_committee_decide(
        actor=cast.biosafety,
        approval=approval,
        approved=False,
        decided_on=date(2026, 2, 1),
        reference="BSC-3",
    )
    approval.refresh_from_db()
    assert approval.status == "rejected"


def test_only_biosafety_managers_form_committees_or_approve(cast, tb_stock):
    with pytest.raises(PermissionDenied):
        services.committee_form(
            actor=cast.technician,
            organization=cast.demo,
            kind="committee",
            regime="human",
            name="x",
            formed_on=date(2026, 1, 1),
        )


def test_committee_pages_form_add_members_and_report(cast, client):
    client.force_login(cast.biosafety)
    response = client.post(
        reverse("biosafety:committee-list"),
        {"kind": "committee", "regime": "human", "name": "生安會", "formed_on": "2026-01-15"},
    )
    assert response.status_code == 302
    made = services.active_committee(cast.demo, "human")
    assert made is not None
    url = reverse("biosafety:committee-action", args=[made.public_id, "member"])
    client.post(
        url,
        {
            "member-name": "林美華",
            "member-role": "head",
            "member-joined_on": "2026-01-15",
            "member-years_lab_experience": "10",
            "member-training_hours": "20",
        },
    )
    client.post(
        reverse("biosafety:committee-action", args=[made.public_id, "report"]),
        {"report-reported_on": "2026-02-01", "report-reference": "MOA-9"},
    )
    page = client.get(reverse("biosafety:committee-detail", args=[made.public_id])).content
    assert "林美華".encode() in page and b"MOA-9" in page
    assert client.get(reverse("biosafety:committee-list")).status_code == 200


def test_approval_is_requested_and_decided_through_the_pages(cast, client):
    committee(cast)
    hbv = register(cast, cast.demo_site, "HBV-1", "hbv", material_class=3)
    client.force_login(cast.biosafety)
    client.post(
        reverse("biosafety:material-action", args=[hbv.public_id, "approval"]),
        {"kind": "use", "site": cast.demo_site.pk, "purpose": "assay", "propagating": "on"},
    )
    approval = Approval.objects.get(material=hbv)
    client.post(
        reverse("biosafety:approval-action", args=[approval.public_id, "committee"]),
        {
            "committee-approved": "1",
            "committee-decided_on": "2026-02-01",
            "committee-reference": "R",
        },
    )
    approval.refresh_from_db()
    assert approval.status == "approved"
    page = client.get(reverse("biosafety:material-detail", args=[hbv.public_id]))
    assert "R" in page.content.decode()


def test_api_forms_a_committee_and_walks_an_approval(cast, client, tb_stock):
    client.force_login(cast.biosafety)
    made = client.post(
        "/api/v1/biosafety/committees",
        {
            "organization": "DEMO",
            "kind": "committee",
            "regime": "human",
            "name": "生安會",
            "formed_on": "2026-01-15",
        },
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    cid = made.json()["id"]
    assert (
        client.post(
            f"/api/v1/biosafety/committees/{cid}/members",
            {"name": "林", "role": "head", "joined_on": "2026-01-15"},
            content_type="application/json",
        ).status_code
        == 201
    )
    reported = client.post(
        f"/api/v1/biosafety/committees/{cid}/report",
        {"reported_on": "2026-02-01", "reference": "MOA"},
        content_type="application/json",
    )
    assert reported.json()["report_reference"] == "MOA"
    asked = client.post(
        f"/api/v1/biosafety/materials/{tb_stock.public_id}/approvals",
        {"kind": "possession", "purpose": "x", "review_form": REVIEW},
        content_type="application/json",
    )
    assert asked.status_code == 201, asked.content
    aid = asked.json()["id"]
    for step in ("committee", "central"):
        decided = client.post(
            f"/api/v1/biosafety/approvals/{aid}/decision",
            {"step": step, "approved": True, "decided_on": "2026-02-02", "reference": step},
            content_type="application/json",
        )
        assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "approved"
    bad = client.post(
        f"/api/v1/biosafety/approvals/{aid}/decision",
        {"step": "mayor", "approved": True, "decided_on": "2026-02-02", "reference": "x"},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert len(client.get("/api/v1/biosafety/approvals").json()) == 1
    assert len(client.get("/api/v1/biosafety/committees").json()) == 1
    assert client.get(f"/api/v1/biosafety/committees/{cid}").status_code == 200
