"""Training records and operating tests per person (BS-09, HP-05), and assignments to work at a
site: refused at BSL2 and above while training is incomplete, with the reason and rule ID."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from biobank.biosafety import services
from biobank.biosafety.models import LabWorker
from biobank.core import services as core_services
from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import Obligation
from tests.biosafety.conftest import register

pytestmark = pytest.mark.django_db
STARTED = date(2026, 1, 5)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(date(2026, 1, 20), tick=False):
        yield


@pytest.fixture
def worker(cast) -> LabWorker:
    return services.worker_register(
        actor=cast.biosafety, organization=cast.demo, user=cast.technician, started_on=STARTED
    )


def course(cast, worker, on: date, hours: str, *, recognised: bool = True) -> None:
    services.training_record_add(
        actor=cast.biosafety,
        worker=worker,
        kind="course",
        title="實驗室生物安全訓練",
        on=on,
        hours=Decimal(hours),
        recognised=recognised,
    )


def operating_test(cast, worker, on: date, **tester) -> None:
    services.training_record_add(
        actor=cast.biosafety,
        worker=worker,
        kind="operating_test",
        title="生物安全櫃操作測試",
        on=on,
        tester_name="張家豪",
        **tester,
    )


def test_bs09_an_untrained_person_cannot_be_assigned_to_a_bsl2_site(cast, worker, bsl2):
    with pytest.raises(ApplicationError) as refused:
        services.assignment_create(actor=cast.biosafety, worker=worker, site=bsl2)
    assert refused.value.rule == "HP-05"  # a human-regime lab: the human regime's training rule
    assert "8 hours" in refused.value.message
    assert not worker.assignments.exists()


def test_bs09_an_animal_room_needs_the_operating_test_too(cast, worker, absl2):
    course(cast, worker, date(2026, 1, 2), "8")
    with pytest.raises(ApplicationError) as refused:
        services.assignment_create(actor=cast.biosafety, worker=worker, site=absl2)
    assert refused.value.rule == "BS-09"
    assert "operating test" in refused.value.message
    operating_test(cast, worker, date(2026, 1, 6), tester_is_supervisor=True)
    assignment = services.assignment_create(actor=cast.biosafety, worker=worker, site=absl2)
    assert assignment.training_reason == "training complete"


def test_bs09_the_operating_tester_needs_2_years_or_to_be_the_supervisor(cast, worker):
    with pytest.raises(ApplicationError) as refused:
        operating_test(cast, worker, date(2026, 1, 6), tester_years=Decimal("1.5"))
    assert refused.value.rule == "BS-09"
    operating_test(cast, worker, date(2026, 1, 6), tester_years=Decimal(2))
    assert worker.records.count() == 1


def test_bs09_a_bsl3_lab_needs_a_centrally_recognised_course(cast, worker):
    course(cast, worker, date(2026, 1, 2), "8", recognised=False)
    with pytest.raises(ApplicationError) as refused:
        services.assignment_create(actor=cast.biosafety, worker=worker, site=cast.demo_site)
    assert "recognised" in refused.value.message
    course(cast, worker, date(2026, 1, 3), "8")
    services.assignment_create(actor=cast.biosafety, worker=worker, site=cast.demo_site)


def test_bs09_below_level_2_no_training_is_checked(cast, worker):
    room = core_services.site_create(
        actor=None, organization=cast.demo, code="BSL1", name="一般", kind="lab", containment="BSL1"
    )
    assert services.assignment_create(actor=cast.biosafety, worker=worker, site=room)


def test_bs09_hp05_a_year_in_post_without_4_hours_makes_a_person_non_compliant(cast, worker, bsl2):
    course(cast, worker, date(2026, 1, 2), "8")
    assert services.assignment_check(worker, bsl2).allowed
    obligation = Obligation.objects.get(rule_id="BS-09", state="open")
    assert obligation.due_at.date() == date(2027, 1, 5)
    with time_machine.travel(date(2027, 2, 1), tick=False):
        decision = services.worker_compliance(worker)
        assert not decision.allowed
        assert "4 hours in the year to 2027-01-05" in decision.reason
        course(cast, worker, date(2026, 12, 1), "4")
        assert services.worker_compliance(worker).allowed
    obligation.refresh_from_db()
    assert obligation.state == "done"
    assert Obligation.objects.get(rule_id="BS-09", state="open").due_at.date() == date(2028, 1, 5)


def test_bs09_material_held_at_a_site_brings_its_regime(cast, worker, bsl2):
    register(cast, bsl2, "PRRS-9", "prrsv", regime="animal")
    assert services.site_regimes(bsl2) == ["animal", "human"]
    course(cast, worker, date(2026, 1, 2), "8")
    decision = services.assignment_check(worker, bsl2)
    assert (decision.allowed, decision.rule) == (False, "BS-09")


def test_only_managers_record_training(cast, worker):
    with pytest.raises(PermissionDenied):
        services.training_record_add(
            actor=cast.technician, worker=worker, kind="course", title="x", on=STARTED, hours=1
        )
    with pytest.raises(ApplicationError):
        services.worker_register(
            actor=cast.biosafety, organization=cast.demo, user=cast.outsider, started_on=STARTED
        )


def test_bs09_the_pages_show_the_refusal_with_its_rule(cast, worker, bsl2, client):
    client.force_login(cast.biosafety)
    page = client.get(reverse("biosafety:training-list")).content.decode()
    assert "not compliant" in page or "✘" in page
    detail = client.get(reverse("biosafety:worker-detail", args=[worker.public_id]))
    assert "HP-05" in detail.content.decode()
    response = client.post(
        reverse("biosafety:worker-action", args=[worker.public_id, "assign"]),
        {"site": bsl2.pk, "assigned_on": "2026-01-20"},
        follow=True,
    )
    assert "HP-05" in response.content.decode()
    assert not worker.assignments.exists()
    client.post(
        reverse("biosafety:worker-action", args=[worker.public_id, "record"]),
        {"kind": "course", "title": "新進訓練", "on": "2026-01-02", "hours": "8",
         "recognised": "on", "passed": "on", "tester_years": "0"},
    )  # fmt: skip
    assert worker.records.count() == 1


def test_bs09_api_lists_compliance_and_refuses_assignment(cast, worker, bsl2, client):
    client.force_login(cast.biosafety)
    [row] = client.get("/api/v1/biosafety/workers").json()
    assert (row["compliant"], row["rule"]) == (False, "HP-05")
    refused = client.post(
        f"/api/v1/biosafety/workers/{worker.public_id}/assignments",
        {"site": "LAB-BSL2"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    made = client.post(
        f"/api/v1/biosafety/workers/{worker.public_id}/records",
        {"kind": "course", "title": "新進訓練", "on": "2026-01-02", "hours": "8"},
        content_type="application/json",
    )
    assert made.status_code == 201
    ok = client.post(
        f"/api/v1/biosafety/workers/{worker.public_id}/assignments",
        {"site": "LAB-BSL2"},
        content_type="application/json",
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["sites"] == ["LAB-BSL2"]


def test_bs09_bs12_the_dashboard_shows_training_compliance_and_drills_due(cast, worker, client):
    client.force_login(cast.auditor)
    page = client.get(reverse("biosafety:home")).content.decode()
    assert "✘" in page and "HP-05" in page  # not compliant, with the rule (any language)
    assert "BS-08" in page
