"""The emergency plan with its eight parts (BS-12) and the drills held under it, each next
drill an obligation (BS-12: every year; HP-05: every year and full-scale every 3 years)."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from biobank.biosafety import rules, services
from biobank.biosafety.models import EmergencyPlan
from biobank.core.errors import ApplicationError
from biobank.core.models import Obligation

pytestmark = pytest.mark.django_db
PARTS = {key: f"第 {n} 部分" for n, key in enumerate(rules.EMERGENCY_PLAN_PARTS, start=1)}


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(date(2026, 3, 2), tick=False):
        yield


@pytest.fixture
def committee(cast):
    return services.committee_form(
        actor=cast.biosafety,
        organization=cast.demo,
        kind="committee",
        regime="human",
        name="生安會",
        formed_on=date(2025, 1, 6),
    )


def draft(cast, parts=None, regime="human") -> EmergencyPlan:
    return services.plan_create(
        actor=cast.biosafety,
        organization=cast.demo,
        regime=regime,
        title="緊急應變計畫",
        version="2026",
        parts=PARTS if parts is None else parts,
    )


def _due(key: str) -> Obligation:
    return Obligation.objects.get(subject_type="biosafety.drills", subject_id=key, state="open")


def test_bs12_the_plan_is_complete_only_with_its_eight_parts():
    assert len(rules.EMERGENCY_PLAN_PARTS) == 8
    assert rules.emergency_plan_complete(PARTS).allowed
    partial = {**PARTS, "evacuation": " "}
    decision = rules.emergency_plan_complete(partial)
    assert (decision.allowed, decision.rule, decision.missing) == (False, "BS-12", ("evacuation",))


def test_bs12_an_incomplete_plan_is_not_approved(cast, committee):
    plan = draft(cast, {"response_team": "小組"})
    with pytest.raises(ApplicationError) as refused:
        services.plan_approve(
            actor=cast.biosafety, plan=plan, approved_on=date(2026, 3, 1), committee_reference="x"
        )
    assert refused.value.rule == "BS-12"
    assert "medical_procedure" in refused.value.message
    plan = services.plan_update(actor=cast.biosafety, plan=plan, parts=PARTS)
    services.plan_approve(
        actor=cast.biosafety, plan=plan, approved_on=date(2026, 3, 1), committee_reference="BSC-1"
    )
    with pytest.raises(ApplicationError):
        services.plan_update(actor=cast.biosafety, plan=plan, parts=PARTS)


def test_bs06_the_plan_needs_a_committee_to_approve_it(cast):
    plan = draft(cast)
    with pytest.raises(ApplicationError) as refused:
        services.plan_approve(
            actor=cast.biosafety, plan=plan, approved_on=date(2026, 3, 1), committee_reference="x"
        )
    assert refused.value.rule == "BS-06"


def test_hp05_approving_a_human_regime_plan_makes_both_drills_due_now(cast, committee):
    plan = draft(cast)
    services.plan_approve(
        actor=cast.biosafety, plan=plan, approved_on=date(2026, 3, 1), committee_reference="BSC-1"
    )
    assert _due("human:yearly").rule_id == "HP-05"
    assert _due("human:full_scale").due_at.date() == date(2026, 3, 2)


def test_hp05_a_full_scale_drill_counts_as_the_years_drill_and_the_next_ones_open(cast, committee):
    plan = draft(cast)
    services.plan_approve(
        actor=cast.biosafety, plan=plan, approved_on=date(2026, 3, 1), committee_reference="BSC-1"
    )
    yearly = _due("human:yearly")
    services.drill_record(
        actor=cast.biosafety,
        plan=plan,
        kind="full_scale",
        held_on=date(2026, 3, 2),
        scenario="BSL3 溢出",
        participants="全體",
        site=cast.demo_site,
    )
    yearly.refresh_from_db()
    assert yearly.state == "done"
    assert _due("human:yearly").due_at.astimezone(rules.TAIPEI).date() == date(2027, 3, 2)
    assert _due("human:full_scale").due_at.astimezone(rules.TAIPEI).date() == date(2029, 3, 2)


def test_bs12_the_animal_regime_needs_a_field_drill_every_year(cast):
    services.committee_form(
        actor=cast.biosafety,
        organization=cast.demo,
        kind="committee",
        regime="animal",
        name="動物生安會",
        formed_on=date(2025, 1, 6),
    )
    plan = draft(cast, regime="animal")
    with pytest.raises(ApplicationError) as refused:
        services.drill_record(
            actor=cast.biosafety, plan=plan, kind="yearly", held_on=date(2026, 3, 1),
            scenario="x", participants="x",
        )  # fmt: skip
    assert refused.value.rule == "BS-12"
    services.plan_approve(
        actor=cast.biosafety, plan=plan, approved_on=date(2026, 3, 1), committee_reference="BSC-2"
    )
    assert _due("animal:yearly").rule_id == "BS-12"
    assert not Obligation.objects.filter(subject_id="animal:full_scale").exists()
    services.drill_record(
        actor=cast.biosafety, plan=plan, kind="yearly", held_on=date(2026, 3, 2),
        scenario="動物逃脫", participants="動物房人員",
    )  # fmt: skip
    assert _due("animal:yearly").due_at.astimezone(rules.TAIPEI).date() == date(2027, 3, 2)
    with pytest.raises(ApplicationError) as refused:
        services.drill_record(
            actor=cast.biosafety, plan=plan, kind="yearly", held_on=date(2026, 3, 2),
            scenario=" ", participants="x",
        )  # fmt: skip
    assert refused.value.rule == "BS-12"


def test_bs12_plan_pages_and_api(cast, committee, client):
    client.force_login(cast.biosafety)
    response = client.post(
        reverse("biosafety:plan-list"),
        {"regime": "human", "title": "應變計畫", "version": "1", "response_team": "小組"},
    )
    assert response.status_code == 302
    plan = EmergencyPlan.objects.get()
    page = client.get(reverse("biosafety:plan-detail", args=[plan.public_id])).content.decode()
    assert "BS-12" in page and "medical_procedure" in page
    refused = client.post(
        reverse("biosafety:plan-action", args=[plan.public_id, "approve"]),
        {"on": "2026-03-01", "reference": "x"},
        follow=True,
    )
    assert "BS-12" in refused.content.decode()
    body = client.get(f"/api/v1/biosafety/plans/{plan.public_id}").json()
    assert "evacuation" in body["missing"]
    step = client.post(
        f"/api/v1/biosafety/plans/{plan.public_id}/step",
        {"step": "parts", "parts": PARTS},
        content_type="application/json",
    )
    assert step.json()["missing"] == []
    approved = client.post(
        f"/api/v1/biosafety/plans/{plan.public_id}/step",
        {"step": "approve", "on": "2026-03-01", "reference": "BSC-3"},
        content_type="application/json",
    )
    assert approved.json()["status"] == "approved"
    assert "HP-05" in client.get(reverse("biosafety:plan-list")).content.decode()
