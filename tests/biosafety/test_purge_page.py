"""The purge page (BS-05 … BS-15, HP-04): what the user's organization may purge, a purge
button per biosafety record for those who manage biosafety, refusals shown with their rule;
and the committee's records (BS-06 §4.2: the committee, its meetings, the approvals it decided
and the plans it approved) kept 3 years from when they stop being in force."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from biobank.biosafety import rules, services
from biobank.biosafety.models import Approval, Committee, EmergencyPlan, Meeting, TrainingRecord
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent
from tests.biosafety.conftest import register

pytestmark = pytest.mark.django_db
PARTS = {key: f"第 {n} 部分" for n, key in enumerate(rules.EMERGENCY_PLAN_PARTS, start=1)}


def at(day: date) -> time_machine.travel:
    return time_machine.travel(datetime(day.year, day.month, day.day, 2, tzinfo=UTC), tick=False)


def form_committee(cast, regime: str = "human", formed_on: date = date(2020, 1, 6)) -> Committee:
    return services.committee_form(
        actor=cast.biosafety,
        organization=cast.demo,
        kind="committee",
        regime=regime,
        name="生物安全會",
        formed_on=formed_on,
    )


@pytest.fixture
def old_training(cast) -> TrainingRecord:
    with at(date(2020, 1, 6)):
        worker = services.worker_register(
            actor=cast.biosafety,
            organization=cast.demo,
            user=cast.technician,
            started_on=date(2020, 1, 5),
        )
        return services.training_record_add(
            actor=cast.biosafety, worker=worker, kind="course", title="舊訓練",
            on=date(2020, 1, 2), hours=Decimal(8),
        )  # fmt: skip


def test_bs06_a_committee_is_kept_3_years_from_its_dissolution(cast):
    with at(date(2020, 1, 6)):
        committee = form_committee(cast)
    with at(date(2026, 3, 2)):
        # serving: counted from today, so never purged
        assert services.retention_of(committee) == (date(2029, 3, 2), "HP-04")
        services.committee_dissolve(
            actor=cast.biosafety, committee=committee, dissolved_on=date(2026, 3, 1), reason="改組"
        )
        committee.refresh_from_db()
        assert services.retention_of(committee) == (date(2029, 3, 1), "HP-04")
    animal = form_committee(cast, regime="animal", formed_on=date(2026, 1, 5))
    services.committee_dissolve(
        actor=cast.biosafety, committee=animal, dissolved_on=date(2026, 1, 31), reason="改組"
    )
    animal.refresh_from_db()
    assert services.retention_of(animal) == (date(2029, 1, 31), "BS-06")


def test_bs06_bs10_an_approval_is_kept_3_years_after_its_material_is_gone(cast, bsl2):
    with at(date(2026, 1, 10)):
        form_committee(cast)
        stock = register(cast, bsl2, "SA-1", "s-aureus")
        approval = services.approval_request(
            actor=cast.biosafety, material=stock, kind="use", purpose="x"
        )
        assert services.retention_of(approval)[0] == date(2029, 1, 10)  # pending: in force
        services.approval_committee_decide(
            actor=cast.biosafety, approval=approval, approved=True,
            decided_on=date(2026, 1, 9), reference="BSC-1",
        )  # fmt: skip
        rejected = services.approval_request(
            actor=cast.biosafety, material=stock, kind="export", purpose="x"
        )
        services.approval_committee_decide(
            actor=cast.biosafety, approval=rejected, approved=False,
            decided_on=date(2026, 1, 9), reference="BSC-2",
        )  # fmt: skip
    rejected.refresh_from_db()
    assert services.retention_of(rejected) == (date(2029, 1, 9), "HP-04")
    with at(date(2026, 6, 1)):
        approval.refresh_from_db()
        assert services.retention_of(approval)[0] == date(2029, 6, 1)  # material held
        services.destruction_record(
            actor=cast.biosafety, material=stock, method="autoclave",
            destroyed_on=date(2026, 5, 30), reason="x", confirmed_on=date(2026, 5, 29),
            committee_reference="BSC-3",
        )  # fmt: skip
    approval.refresh_from_db()
    assert services.retention_of(approval) == (date(2029, 5, 30), "HP-04")
    with pytest.raises(ApplicationError) as refused:
        services.record_purge(actor=cast.biosafety, record=approval, reason="期滿")
    assert refused.value.rule == "HP-04"
    with at(date(2029, 5, 31)):
        services.record_purge(actor=cast.biosafety, record=approval, reason="期滿")
    assert not Approval.objects.filter(pk=approval.pk).exists()


def test_bs06_bs12_a_plan_is_kept_while_approved_and_purged_after_its_drills(cast):
    with at(date(2020, 1, 6)):
        form_committee(cast)
        plan = services.plan_create(
            actor=cast.biosafety, organization=cast.demo, regime="human", title="應變計畫",
            version="1", parts=PARTS,
        )  # fmt: skip
        services.plan_approve(
            actor=cast.biosafety, plan=plan, approved_on=date(2020, 1, 6), committee_reference="A"
        )
        services.drill_record(
            actor=cast.biosafety, plan=plan, kind="yearly", held_on=date(2020, 1, 6),
            scenario="溢出", participants="全員",
        )  # fmt: skip
    with at(date(2026, 3, 2)):
        plan.refresh_from_db()
        assert services.retention_of(plan)[0] == date(2029, 3, 2)  # the plan in force
        newer = services.plan_create(
            actor=cast.biosafety, organization=cast.demo, regime="human", title="應變計畫",
            version="2", parts=PARTS,
        )  # fmt: skip
        services.plan_approve(
            actor=cast.biosafety, plan=newer, approved_on=date(2026, 3, 2), committee_reference="B"
        )
    plan.refresh_from_db()
    assert plan.status == EmergencyPlan.Status.RETIRED
    assert services.retention_of(plan) == (date(2029, 3, 2), "HP-04")
    with at(date(2029, 3, 3)):
        with pytest.raises(ApplicationError, match="drills"):
            services.record_purge(actor=cast.biosafety, record=plan, reason="期滿")
        services.record_purge(actor=cast.biosafety, record=plan.drills.get(), reason="期滿")
        services.record_purge(actor=cast.biosafety, record=plan, reason="期滿")
    assert not EmergencyPlan.objects.filter(pk=plan.pk).exists()


def test_bs06_a_dissolved_committee_is_purged_after_its_meetings_with_its_members(cast):
    with at(date(2020, 1, 6)):
        committee = form_committee(cast)
        member = services.committee_member_add(
            actor=cast.biosafety, committee=committee, name="林院長", role="head",
            joined_on=date(2020, 1, 6),
        )  # fmt: skip
        services.meeting_record(
            actor=cast.biosafety, committee=committee, held_on=date(2020, 1, 6), agenda="成立",
            attendees=[member],
        )  # fmt: skip
        services.committee_dissolve(
            actor=cast.biosafety, committee=committee, dissolved_on=date(2020, 1, 31), reason="x"
        )
    committee.refresh_from_db()
    with at(date(2026, 3, 2)):
        found = [r for r, _until, _rule in services.purgeable(organization=cast.demo)]
        assert committee in found and Meeting.objects.get() in found
        with pytest.raises(ApplicationError, match="meetings"):
            services.record_purge(actor=cast.biosafety, record=committee, reason="期滿")
        services.record_purge(actor=cast.biosafety, record=Meeting.objects.get(), reason="期滿")
        services.record_purge(actor=cast.biosafety, record=committee, reason="期滿")
    assert not Committee.objects.exists()
    assert AuditEvent.objects.filter(
        object_type="biosafety.committeemember", action="retire"
    ).exists()


def test_the_purge_page_lists_what_may_be_purged_with_a_button(cast, client, old_training):
    client.force_login(cast.biosafety)
    with at(date(2026, 3, 2)):
        page = client.get(reverse("biosafety:retention")).content.decode()
    assert "舊訓練" in page and "BS-09" in page and "2023-01-02" in page
    purge = reverse(
        "biosafety:record-purge",
        kwargs={"kind": "biosafety.trainingrecord", "record_id": old_training.pk},
    )
    assert purge in page
    assert reverse("biosafety:retention") in client.get(reverse("biosafety:home")).content.decode()


def test_purging_from_the_page_is_audited_and_a_refusal_names_its_rule(cast, client, old_training):
    with at(date(2026, 3, 2)):
        fresh = services.incident_report(
            actor=cast.biosafety, organization=cast.demo, title="新事件", description="x",
            occurred_at=datetime(2026, 3, 1, tzinfo=UTC), level=1, risk_assessment="低",
            regime="human",
        )  # fmt: skip
        client.force_login(cast.biosafety)
        refused = client.post(
            reverse(
                "biosafety:record-purge",
                kwargs={"kind": "biosafety.incident", "record_id": fresh.pk},
            ),
            {"reason": "試刪"},
            follow=True,
        )
        assert any("(HP-04)" in str(m) for m in refused.context["messages"])
        purge = reverse(
            "biosafety:record-purge",
            kwargs={"kind": "biosafety.trainingrecord", "record_id": old_training.pk},
        )
        client.post(purge, {"reason": ""})
        assert TrainingRecord.objects.filter(pk=old_training.pk).exists()  # a reason is needed
        done = client.post(purge, {"reason": "保存期滿"}, follow=True)
    assert done.status_code == 200
    assert not TrainingRecord.objects.filter(pk=old_training.pk).exists()
    event = AuditEvent.objects.get(object_type="biosafety.trainingrecord", action="retire")
    assert event.reason == "保存期滿" and event.actor == cast.biosafety


def test_the_purge_page_is_for_those_who_manage_biosafety(cast, client, old_training):
    purge = reverse(
        "biosafety:record-purge",
        kwargs={"kind": "biosafety.trainingrecord", "record_id": old_training.pk},
    )
    client.force_login(cast.technician)  # views biosafety, manages nothing
    assert client.get(reverse("biosafety:retention")).status_code == 404
    assert client.post(purge, {"reason": "x"}).status_code == 404
    client.force_login(cast.outsider)  # manages another organization
    with at(date(2026, 3, 2)):
        assert "舊訓練" not in client.get(reverse("biosafety:retention")).content.decode()
        assert client.post(purge, {"reason": "x"}).status_code == 404
    client.force_login(cast.biosafety)
    for kind, record_id in (("core.site", cast.demo_site.pk), ("biosafety.agent", "1")):
        url = reverse("biosafety:record-purge", kwargs={"kind": kind, "record_id": record_id})
        assert client.post(url, {"reason": "x"}).status_code == 404
    assert TrainingRecord.objects.filter(pk=old_training.pk).exists()
