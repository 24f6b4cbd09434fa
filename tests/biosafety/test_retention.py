"""Retention (BS-05, BS-06, BS-07, BS-09, BS-12, BS-15, HP-04): every biosafety record is kept
at least its regime's period; purging earlier is refused with the rule ID; ``biobank
retention`` lists what may be purged."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from biobank.biosafety import services
from biobank.biosafety.models import Agent, Destruction, Incident, TrainingRecord
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent
from tests.biosafety.conftest import register

pytestmark = pytest.mark.django_db
THEN = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


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


def incident(cast, materials=()) -> Incident:
    return services.incident_report(
        actor=cast.biosafety,
        organization=cast.demo,
        title="溢出",
        description="溢出",
        occurred_at=THEN,
        noticed_at=THEN,
        level=1,
        risk_assessment="低",
        regime="human",
        materials=materials,
    )


def test_bs09_a_training_record_is_kept_3_years(cast):
    worker = services.worker_register(
        actor=cast.biosafety,
        organization=cast.demo,
        user=cast.technician,
        started_on=date(2026, 1, 5),
    )
    record = services.training_record_add(
        actor=cast.biosafety, worker=worker, kind="course", title="x", on=date(2026, 1, 2), hours=8
    )
    assert services.retention_of(record) == (date(2029, 1, 2), "BS-09")


def test_hp04_a_controlled_agents_incident_and_destruction_are_kept_10_years(cast, committee):
    controlled = Agent.objects.filter(organization__isnull=True, controlled=True).first()
    if controlled is None:
        controlled = services.agent_create(
            actor=cast.biosafety, organization=cast.demo, code="ctrl", name="管制性病原",
            kind="bacterium", risk_group=3, source="CDC", controlled=True,
        )  # fmt: skip
    material = services.material_register(
        actor=cast.biosafety, organization=cast.demo, code="CTRL-1", agent=controlled,
        material_class=1, regime="human", form="stock", quantity=Decimal(1), unit="vial",
        site=cast.demo_site,
    )  # fmt: skip
    found = incident(cast, [material])
    assert found.controlled
    assert services.retention_of(found) == (date(2036, 3, 2), "HP-04")
    destruction = services.destruction_record(
        actor=cast.biosafety, material=material, method="autoclave", destroyed_on=date(2026, 3, 2),
        reason="x", confirmed_on=date(2026, 3, 1), committee_reference="x",
    )  # fmt: skip
    assert services.retention_of(destruction) == (date(2036, 3, 2), "HP-04")


def test_bs15_hp04_purging_before_the_end_is_refused_with_the_rule(cast, committee, tb_stock):
    destruction = services.destruction_record(
        actor=cast.biosafety, material=tb_stock, method="autoclave", destroyed_on=date(2026, 3, 2),
        reason="x", confirmed_on=date(2026, 3, 1), committee_reference="x",
    )  # fmt: skip
    with (
        time_machine.travel(date(2029, 3, 2), tick=False),
        pytest.raises(ApplicationError) as refused,
    ):
        services.record_purge(actor=cast.biosafety, record=destruction, reason="期滿")
    assert refused.value.rule == "HP-04"  # a human-regime material: §41's 3 years
    with time_machine.travel(date(2029, 3, 3), tick=False):
        services.record_purge(actor=cast.biosafety, record=destruction, reason="期滿")
    assert not Destruction.objects.exists()
    assert AuditEvent.objects.filter(object_type="biosafety.destruction", action="retire").exists()


def test_bs06_an_incident_is_purged_with_its_steps_after_3_years(cast):
    found = incident(cast)
    services.incident_step_add(actor=cast.biosafety, incident=found, description="消毒", at=THEN)
    with pytest.raises(ApplicationError) as refused:
        services.record_purge(actor=cast.biosafety, record=found, reason="期滿")
    assert refused.value.rule == "HP-04"
    with time_machine.travel(date(2030, 1, 1), tick=False):
        services.record_purge(actor=cast.biosafety, record=found, reason="期滿")
    assert not Incident.objects.exists()


def test_bs12_bs09_the_retention_command_lists_what_may_be_purged(cast, committee, tb_stock):
    incident(cast)
    worker = services.worker_register(
        actor=cast.biosafety,
        organization=cast.demo,
        user=cast.technician,
        started_on=date(2020, 1, 5),
    )
    services.training_record_add(
        actor=cast.biosafety, worker=worker, kind="course", title="舊訓練", on=date(2020, 1, 2),
        hours=8,
    )  # fmt: skip
    services.training_record_add(
        actor=cast.biosafety, worker=worker, kind="course", title="新訓練", on=date(2025, 1, 2),
        hours=8,
    )  # fmt: skip
    out = StringIO()
    call_command("retention", "--as-of", "2026-03-02", stdout=out)
    text = out.getvalue()
    assert "舊訓練" in text and "新訓練" not in text and "BS-09" in text
    assert "1 record(s) may be purged" in text
    out = StringIO()
    call_command("retention", "--as-of", "2030-01-01", "--organization", "DEMO", stdout=out)
    assert "biosafety.incident" in out.getvalue()
    assert TrainingRecord.objects.count() == 2


def test_anomalies_and_inventories_are_kept_too(cast, tb_stock):
    inventory = services.inventory_start(
        actor=cast.biosafety, site=cast.demo_site, regime="human", started_on=date(2026, 1, 5)
    )
    assert services.retention_of(inventory) == (date(2029, 1, 5), "HP-04")
    animal = register(cast, cast.demo_site, "ASF-9", "asfv", regime="animal")
    anomaly = services.anomaly_open(
        actor=cast.biosafety, material=animal, kind="other", description="x", noticed_at=THEN
    )
    assert services.retention_of(anomaly) == (date(2029, 3, 2), "BS-06")
