"""Incidents (BS-13) and spills in transport (BS-14): level and risk assessment, handling
steps, the clocks as obligations, material sealed, suspended or destroyed, and resumption only
after the committee's confirmation and the authorities' consent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from biobank.biosafety import rules, services
from biobank.biosafety.models import Incident, IncidentStep, InfectiousMaterial
from biobank.core.audit import audit_verify
from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import AuditEvent, Obligation

pytestmark = pytest.mark.django_db
NOTICED = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Taipei


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


def report(cast, *, level: int = 2, materials=(), **extra) -> Incident:
    return services.incident_report(
        actor=cast.technician,
        organization=cast.demo,
        title="離心管破裂",
        description="離心機內結核菌培養液離心管破裂",
        occurred_at=NOTICED - timedelta(minutes=10),
        noticed_at=NOTICED,
        level=level,
        risk_assessment="氣溶膠可能外洩至離心機外",
        regime="human",
        site=cast.demo_site,
        materials=materials,
        people_exposed=1,
        **extra,
    )


def _clocks(incident: Incident) -> dict[str, Obligation]:
    return {key: Obligation.objects.get(pk=pk) for key, pk in incident.clocks.items()}


def test_bs13_a_major_incident_opens_24_hour_notice_and_7_day_investigation(cast, tb_stock):
    incident = report(cast, materials=[tb_stock])
    clocks = _clocks(incident)
    assert set(clocks) == {"committee_investigation", "authority_notice", "authority_report"}
    assert clocks["authority_notice"].due_at == NOTICED + timedelta(hours=24)
    assert clocks["authority_notice"].rule_id == "BS-11"
    assert clocks["committee_investigation"].due_at.astimezone(rules.TAIPEI).date() == date(
        2026, 3, 9
    )
    assert incident.materials.get() == tb_stock
    assert AuditEvent.objects.filter(object_type="biosafety.incident").exists()


def test_bs13_a_level_1_incident_needs_only_the_committee_investigation(cast):
    incident = report(cast, level=1)
    assert set(incident.clocks) == {"committee_investigation"}


def test_bs13_level_and_risk_assessment_are_required(cast):
    with pytest.raises(ApplicationError) as refused:
        report(cast, level=5)
    assert refused.value.rule == "BS-13"
    with pytest.raises(ApplicationError) as refused:
        services.incident_report(
            actor=cast.technician,
            organization=cast.demo,
            title="x",
            description="x",
            occurred_at=NOTICED,
            level=1,
            risk_assessment=" ",
            regime="human",
        )
    assert refused.value.rule == "BS-13"
    with pytest.raises(ValueError):
        rules.incident_deadlines(NOTICED, level=0)


def test_bs13_reassessing_to_a_major_level_opens_the_authorities_clocks(cast):
    incident = report(cast, level=1)
    incident = services.incident_assess(
        actor=cast.biosafety,
        incident=incident,
        level=3,
        risk_assessment="一名同仁暴露",
        reason="暴露確認",
    )
    assert {"authority_notice", "authority_report"} <= set(incident.clocks)


def test_only_lab_staff_report_and_only_managers_handle(cast):
    with pytest.raises(PermissionDenied):
        report_by = services.incident_report
        report_by(
            actor=cast.researcher,
            organization=cast.demo,
            title="x",
            description="x",
            occurred_at=NOTICED,
            level=1,
            risk_assessment="x",
            regime="human",
        )
    incident = report(cast, level=1)
    with pytest.raises(PermissionDenied):
        services.incident_committee_confirm(
            actor=cast.technician, incident=incident, confirmed_on=date(2026, 3, 5), reference="x"
        )


def test_bs13_resumption_is_refused_without_committee_and_authority(cast, committee, tb_stock):
    incident = report(cast, materials=[tb_stock])
    services.incident_material_measure(
        actor=cast.biosafety, incident=incident, material=tb_stock, measure="suspend", note="停用"
    )
    tb_stock.refresh_from_db()
    assert tb_stock.status == InfectiousMaterial.Status.SUSPENDED
    assert not services.work_allowed(tb_stock, cast.demo_site).allowed
    assert services.work_allowed(tb_stock, cast.demo_site).rule == "BS-13"
    with pytest.raises(ApplicationError) as refused:
        services.incident_resume(actor=cast.biosafety, incident=incident, resumed_on=date.today())
    assert refused.value.rule == "BS-13"
    assert "committee confirmation" in refused.value.message
    services.incident_committee_confirm(
        actor=cast.biosafety, incident=incident, confirmed_on=date(2026, 3, 10), reference="BSC-9"
    )
    with pytest.raises(ApplicationError) as refused:
        services.incident_resume(actor=cast.biosafety, incident=incident, resumed_on=date.today())
    assert refused.value.rule == "BS-13"
    assert "authority consent" in refused.value.message
    tb_stock.refresh_from_db()
    assert tb_stock.status == InfectiousMaterial.Status.SUSPENDED


def test_bs13_bs15_destroying_material_after_an_incident_is_a_confirmed_destruction(
    cast, committee, tb_stock
):
    incident = report(cast, materials=[tb_stock])
    with pytest.raises(ApplicationError) as refused:
        services.incident_material_measure(
            actor=cast.biosafety,
            incident=incident,
            material=tb_stock,
            measure="destroy",
            note="依主管機關輔導銷毀",
        )
    assert refused.value.rule == "BS-15"
    step = services.incident_material_measure(
        actor=cast.biosafety,
        incident=incident,
        material=tb_stock,
        measure="destroy",
        note="依主管機關輔導銷毀",
        committee_reference="BSC-10",
    )
    assert step.kind == IncidentStep.Kind.DESTROY
    tb_stock.refresh_from_db()
    assert tb_stock.status == InfectiousMaterial.Status.DESTROYED
    assert tb_stock.destructions.get().incident == incident


def test_bs13_an_incident_closes_only_when_every_report_was_sent(cast):
    incident = report(cast, level=1)
    with pytest.raises(ApplicationError) as refused:
        services.incident_close(actor=cast.biosafety, incident=incident, closed_on=date.today())
    assert refused.value.rule == "BS-13"
    with pytest.raises(ApplicationError):
        services.incident_notice_sent(
            actor=cast.biosafety, incident=incident, key="authority_notice", at=NOTICED,
            reference="x",
        )  # fmt: skip


def test_bs14_a_spill_in_transport_of_infectious_material_opens_the_24_hour_report(cast):
    incident = services.incident_from_transport_spill(
        actor=cast.researcher,
        organization=cast.demo,
        notified_at=NOTICED,
        reported_by="快遞",
        description="管子破裂",
        infectious=True,
        source=("distribution.transitspill", "1"),
        reference="DR-1",
    )
    assert incident is not None and incident.kind == Incident.Kind.TRANSPORT_SPILL
    clocks = _clocks(incident)
    assert clocks["authority_report"].rule_id == "BS-14"
    assert clocks["authority_report"].due_at == NOTICED + timedelta(hours=24)
    assert clocks["committee_notice"].due_at == NOTICED
    assert Obligation.objects.filter(rule_id="BS-14").count() == 2
    assert (
        services.incident_from_transport_spill(
            actor=None,
            organization=cast.demo,
            notified_at=NOTICED,
            reported_by="x",
            description="x",
            infectious=False,
            source=("x", "1"),
        )
        is None
    )


def test_bs13_bs14_narrative_an_incident_from_report_to_resumption(cast, committee, tb_stock):
    """A tube breaks in the BSL3 centrifuge; the lab handles it, tells the authorities within
    24 hours, the committee investigates, the report goes out within 3 days; the stock stays
    suspended until the committee confirms it is safe and the authorities consent; then it is
    used again and the incident closes."""
    # given a level-2 incident with the stock involved
    incident = report(cast, materials=[tb_stock])
    services.incident_step_add(
        actor=cast.technician,
        incident=incident,
        description="關閉離心機 30 分鐘，以 1% 漂白水消毒",
        at=NOTICED + timedelta(minutes=5),
    )
    services.incident_material_measure(
        actor=cast.biosafety, incident=incident, material=tb_stock, measure="suspend", note="停用"
    )
    # when the authorities are told within 24 hours
    services.incident_notice_sent(
        actor=cast.biosafety,
        incident=incident,
        key="authority_notice",
        at=NOTICED + timedelta(hours=6),
        reference="疾管通報-001",
    )
    with pytest.raises(ApplicationError) as refused:
        services.incident_notice_sent(
            actor=cast.biosafety, incident=incident, key="authority_report",
            at=NOTICED, reference="x",
        )  # fmt: skip
    assert refused.value.rule == "BS-11"
    # and the committee investigates; the report's clock is counted from the real day
    incident = services.incident_investigation_complete(
        actor=cast.biosafety, incident=incident, completed_on=date(2026, 3, 4), findings="轉子老化"
    )
    report_clock = _clocks(incident)["authority_report"]
    assert report_clock.due_at.astimezone(rules.TAIPEI).date() == date(2026, 3, 7 + 2)
    services.incident_notice_sent(
        actor=cast.biosafety,
        incident=incident,
        key="authority_report",
        at=NOTICED + timedelta(days=3),
        reference="調查報告-001",
    )
    # then resumption waits for both the committee and the authorities
    services.incident_committee_confirm(
        actor=cast.biosafety, incident=incident, confirmed_on=date(2026, 3, 10), reference="BSC-11"
    )
    services.incident_authority_consent(
        actor=cast.biosafety, incident=incident, consented_on=date(2026, 3, 12), reference="同意-7"
    )
    incident = services.incident_resume(
        actor=cast.biosafety, incident=incident, resumed_on=date(2026, 3, 13)
    )
    tb_stock.refresh_from_db()
    assert tb_stock.status == InfectiousMaterial.Status.HELD
    assert incident.steps.filter(kind="resume").count() == 1
    incident = services.incident_close(
        actor=cast.biosafety, incident=incident, closed_on=date(2026, 3, 13)
    )
    assert incident.status == Incident.Status.CLOSED
    assert not Obligation.objects.filter(subject_type="biosafety.incident", state="open").exists()
    assert audit_verify().ok


def test_incident_pages(cast, client, tb_stock):
    client.force_login(cast.technician)
    response = client.post(
        reverse("biosafety:incident-list"),
        {
            "title": "手套破損",
            "description": "操作中手套破損",
            "occurred_at": "2026-03-02 09:00",
            "level": "1",
            "risk_assessment": "無暴露",
            "regime": "human",
            "site": cast.demo_site.pk,
            "people_exposed": "0",
        },
    )
    incident = Incident.objects.get()
    assert response.status_code == 302
    page = client.get(reverse("biosafety:incident-detail", args=[incident.public_id]))
    assert "手套破損" in page.content.decode()
    assert "BS-11" in page.content.decode()
    client.force_login(cast.biosafety)
    response = client.post(
        reverse("biosafety:incident-action", args=[incident.public_id, "resume"]),
        {"on": "2026-03-05"},
        follow=True,
    )
    assert "BS-13" in response.content.decode()


def test_incident_api(cast, client):
    client.force_login(cast.technician)
    response = client.post(
        "/api/v1/biosafety/incidents",
        {
            "organization": "DEMO",
            "title": "溢出",
            "description": "生物安全櫃內溢出",
            "occurred_at": "2026-03-02T09:00:00+08:00",
            "level": 2,
            "risk_assessment": "限於櫃內",
            "regime": "human",
            "site": "LAB-BSL3",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body["deadlines"]) == {
        "committee_investigation",
        "authority_notice",
        "authority_report",
    }
    client.force_login(cast.biosafety)
    refused = client.post(
        f"/api/v1/biosafety/incidents/{body['id']}/resume",
        {"on": "2026-03-05"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert "BS-13" in refused.content.decode()
