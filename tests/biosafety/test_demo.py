"""The demo's biosafety story: labs at three levels, a committee, materials across risk
groups with their approvals, and an inventory with one anomaly whose clocks run (scenario 5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from biobank.biosafety import demo, services
from biobank.biosafety.models import (
    Anomaly,
    Committee,
    EmergencyPlan,
    Incident,
    InfectiousMaterial,
    LabWorker,
)
from biobank.core import demo as core_demo
from biobank.core.models import Obligation, Site


@pytest.mark.django_db
def test_demo_has_levels_a_committee_materials_and_an_anomaly_with_clocks():
    context = core_demo.DemoContext()
    core_demo.load(context)
    demo.load(context)
    codes = set(
        Site.objects.filter(organization__code="DEMO").values_list("containment", flat=True)
    )
    assert {"BSL2", "BSL3", "ABSL2"} <= codes
    assert Committee.objects.filter(organization__code="DEMO").count() == 2
    risk_groups = {m.agent.risk_group for m in InfectiousMaterial.objects.select_related("agent")}
    assert risk_groups == {1, 2, 3}
    assert all(
        m.approvals.filter(status="approved").exists() for m in InfectiousMaterial.objects.all()
    )
    anomaly = Anomaly.objects.get()
    assert anomaly.material.code == "MTB-001"
    assert Obligation.objects.filter(subject_type="biosafety.anomaly", state="open").count() == 3
    assert Obligation.objects.filter(organization__code="DEMO", rule_id="BS-12").exists()
    demo.load(context)  # idempotent
    assert Anomaly.objects.count() == 1


@pytest.mark.django_db
def test_demo_has_training_with_one_non_compliant_person_a_drill_due_and_a_closed_incident():
    """BS-09, BS-12, BS-13: the workflows' demo data."""
    context = core_demo.DemoContext()
    core_demo.load(context)
    demo.load(context)
    compliance = {
        w.user.username: services.worker_compliance(w).allowed for w in LabWorker.objects.all()
    }
    assert compliance == {"chang": True, "chen": True, "lin": False}
    yearly = Obligation.objects.get(subject_id="human:yearly", state="open")
    assert yearly.due_at - timezone.now() < timedelta(days=20)
    assert EmergencyPlan.objects.get().status == "approved"
    incident = Incident.objects.get()
    assert incident.status == "closed" and incident.resumed_on is not None
    assert InfectiousMaterial.objects.get(code="SA-01").status == "held"
    assert not Obligation.objects.filter(subject_type="biosafety.incident", state="open").exists()
    demo.load(context)
    assert Incident.objects.count() == 1
