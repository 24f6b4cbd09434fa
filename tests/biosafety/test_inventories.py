"""Inventories and anomalies (BS-11, HP-02, HP-03): the checklist, the count, the anomaly's
clocks as obligations, and the narrative from a missing vial to the authorities' report."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from biobank.biosafety import rules, services
from biobank.biosafety.models import Anomaly, InventoryCheck
from biobank.core.audit import audit_verify
from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import AuditEvent, Obligation
from tests.biosafety.conftest import register

pytestmark = pytest.mark.django_db
TAIPEI = rules.TAIPEI


def _open(anomaly: Anomaly) -> dict[str, Obligation]:
    return {key: Obligation.objects.get(pk=pk) for key, pk in anomaly.clocks.items()}


def test_the_checklist_lists_class_1_items_of_the_site_and_regime_with_staff(cast, bsl2):
    register(cast, cast.demo_site, "MTB-001", "m-tuberculosis")
    register(cast, cast.demo_site, "MTB-DNA", "m-tuberculosis", material_class=2)
    register(cast, bsl2, "SA-1", "s-aureus")
    register(cast, cast.demo_site, "ASF-1", "asfv", regime="animal")
    inventory = services.inventory_start(actor=cast.biosafety, site=cast.demo_site, regime="human")
    assert [line.material.code for line in inventory.lines.all()] == ["MTB-001"]
    assert {entry["username"] for entry in inventory.staff} >= {"chang", "chen", "lin"}
    assert AuditEvent.objects.filter(object_type="biosafety.inventorycheck").exists()
    with pytest.raises(ApplicationError):
        services.inventory_start(actor=cast.biosafety, site=cast.demo_site, regime="human")


def test_only_inspectors_count(cast, tb_stock):
    with pytest.raises(PermissionDenied):
        services.inventory_start(actor=cast.qa, site=cast.demo_site, regime="human")


def test_an_inventory_without_differences_opens_the_next_one_in_3_months_hp02(cast, tb_stock):
    inventory = services.inventory_start(actor=cast.technician, site=cast.demo_site, regime="human")
    line = inventory.lines.get()
    with pytest.raises(ApplicationError) as refused:
        services.inventory_complete(actor=cast.technician, inventory=inventory)
    assert refused.value.rule == "BS-11"
    services.inventory_record(actor=cast.technician, line=line, found_quantity=Decimal("5"))
    at = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)
    assert services.inventory_complete(actor=cast.technician, inventory=inventory, at=at) == []
    inventory.refresh_from_db()
    assert inventory.next_due == date(2026, 4, 15)
    nxt = Obligation.objects.get(rule_id="HP-02", state="open")
    assert timezone.localtime(nxt.due_at).date() == date(2026, 4, 15)
    with pytest.raises(ApplicationError):
        services.inventory_record(actor=cast.technician, line=line, found_quantity=Decimal(1))
    services.inventory_report(
        actor=cast.biosafety, inventory=inventory, reported_on=date(2026, 1, 20)
    )
    inventory.refresh_from_db()
    assert inventory.status == InventoryCheck.Status.REPORTED
    # the next inventory meets the open obligation
    again = services.inventory_start(actor=cast.technician, site=cast.demo_site, regime="human")
    services.inventory_record(
        actor=cast.technician, line=again.lines.get(), found_quantity=Decimal("5")
    )
    services.inventory_complete(actor=cast.technician, inventory=again, at=at + timedelta(days=90))
    nxt.refresh_from_db()
    assert nxt.state == "done"


def test_a_missing_vial_in_the_human_regime_starts_3_and_30_day_clocks_hp03(cast, tb_stock):
    inventory = services.inventory_start(actor=cast.biosafety, site=cast.demo_site, regime="human")
    services.inventory_record(
        actor=cast.biosafety, line=inventory.lines.get(), found_quantity=Decimal("4")
    )
    noticed = datetime(2026, 3, 2, 9, 0, tzinfo=TAIPEI)  # a Monday
    [anomaly] = services.inventory_complete(actor=cast.biosafety, inventory=inventory, at=noticed)
    assert anomaly.kind == "quantity"
    clocks = _open(anomaly)
    assert {o.rule_id for o in clocks.values()} == {"HP-03"}
    assert timezone.localtime(clocks["authority_notice"].due_at).date() == date(2026, 3, 5)
    assert timezone.localtime(clocks["committee_investigation"].due_at).date() == date(2026, 4, 1)


def test_risk_group_2_anomalies_in_the_animal_regime_need_only_the_investigation_bs11(cast):
    prrs = register(cast, cast.demo_site, "PRRS-1", "prrsv", regime="animal")
    anomaly = services.anomaly_open(
        actor=cast.biosafety,
        material=prrs,
        kind="quantity",
        description="1 vial short",
        noticed_at=datetime(2026, 3, 2, 9, 0, tzinfo=TAIPEI),
    )
    assert set(anomaly.clocks) == {"committee_investigation"}
    done = services.anomaly_investigation_complete(
        actor=cast.biosafety, anomaly=anomaly, completed_on=date(2026, 3, 5), findings="mislabel"
    )
    assert done.status == "closed"
    with pytest.raises(ApplicationError):
        services.anomaly_report_sent(
            actor=cast.biosafety, anomaly=done, reported_on=date(2026, 3, 6), reference="x"
        )


def test_a_major_anomaly_starts_the_24_hour_clock_whatever_the_class_bs11(cast):
    prrs = register(cast, cast.demo_site, "PRRS-2", "prrsv", regime="animal", material_class=2)
    anomaly = services.anomaly_open(
        actor=cast.biosafety,
        material=prrs,
        kind="other",
        description="freezer found open",
        noticed_at=datetime(2026, 3, 2, 9, 0, tzinfo=TAIPEI),
        major=True,
    )
    assert set(anomaly.clocks) == {
        "committee_investigation",
        "authority_notice",
        "authority_report",
    }


def test_a_human_regime_risk_group_2_anomaly_has_no_clock_and_closes(cast):
    hbv = register(cast, cast.demo_site, "HBV-9", "hbv")
    anomaly = services.anomaly_open(
        actor=cast.biosafety,
        material=hbv,
        kind="quantity",
        description="1 tube short",
        noticed_at=timezone.now(),
    )
    assert anomaly.clocks == {} and anomaly.status == "closed"
    with pytest.raises(ApplicationError):
        services.anomaly_open(
            actor=cast.biosafety,
            material=hbv,
            kind="ufo",
            description="",
            noticed_at=timezone.now(),
        )


def test_narrative_from_an_inventory_anomaly_to_the_authority_report(cast):
    """Scenario 5: Chang's semi-annual inventory of class 1 material in the BSL3 lab finds a
    vial of M. bovis (risk group 3, a designated animal disease) missing. The anomaly opens
    the 24-hour notice to the authorities and the 7-day investigation (BS-11); the report is
    due 3 days after the investigation completes, and closing it meets every clock."""
    chang = cast.biosafety
    # Given class 1 M. bovis stock held in the BSL3 lab under the animal regime
    with time_machine.travel(datetime(2026, 1, 5, 9, 0, tzinfo=TAIPEI), tick=False):
        register(cast, cast.demo_site, "MBOV-01", "m-bovis", regime="animal")
    # When Chang counts in July and finds 2 of the 5 vials
    noticed = datetime(2026, 7, 6, 10, 30, tzinfo=TAIPEI)  # a Monday
    with time_machine.travel(noticed, tick=False):
        inventory = services.inventory_start(actor=chang, site=cast.demo_site, regime="animal")
        [line] = inventory.lines.all()
        assert line.expected_quantity == 5
        services.inventory_record(actor=chang, line=line, found_quantity=Decimal("2"))
        [anomaly] = services.inventory_complete(actor=chang, inventory=inventory)
    # Then three clocks run: the notice on the clock, the investigation by TD-01
    clocks = _open(anomaly)
    assert {o.rule_id for o in clocks.values()} == {"BS-11"}
    assert clocks["authority_notice"].due_at == noticed + timedelta(hours=24)
    investigation_due = timezone.localtime(clocks["committee_investigation"].due_at).date()
    assert investigation_due == date(2026, 7, 13)
    # and the next semi-annual inventory is due in January
    inventory.refresh_from_db()
    assert inventory.next_due == date(2027, 1, 6)
    services.inventory_report(actor=chang, inventory=inventory, reported_on=date(2026, 7, 6))
    # When the authorities are told within the day
    services.anomaly_authorities_notified(
        actor=chang,
        anomaly=anomaly,
        at=noticed + timedelta(hours=3),
        reference="APHIA-2026-0706",
    )
    # and the committee completes the investigation on Thursday
    anomaly = services.anomaly_investigation_complete(
        actor=chang,
        anomaly=anomaly,
        completed_on=date(2026, 7, 9),
        findings="3 vials autoclaved without a destruction record; procedure retrained",
    )
    clocks = _open(anomaly)
    assert clocks["authority_notice"].state == "done"
    assert clocks["committee_investigation"].state == "done"
    # Then the report is due 3 days after completion (Sunday 12 July → Monday 13 July, TD-01)
    report = clocks["authority_report"]
    assert report.state == "open"
    assert timezone.localtime(report.due_at).date() == date(2026, 7, 13)
    assert (
        Obligation.objects.filter(
            subject_type="biosafety.anomaly", subject_id=str(anomaly.pk), state="waived"
        ).count()
        == 1
    )  # the provisional count from the investigation's deadline
    # When the report is sent
    anomaly = services.anomaly_report_sent(
        actor=chang, anomaly=anomaly, reported_on=date(2026, 7, 10), reference="APHIA-R-0710"
    )
    # Then the anomaly is closed, no clock is left open and the audit chain holds
    assert anomaly.status == "closed"
    assert not Obligation.objects.filter(
        subject_type="biosafety.anomaly", subject_id=str(anomaly.pk), state="open"
    ).exists()
    assert audit_verify().ok


def test_the_investigation_refuses_bad_input(cast):
    bovis = register(cast, cast.demo_site, "MBOV-02", "m-bovis", regime="animal")
    anomaly = services.anomaly_open(
        actor=cast.biosafety,
        material=bovis,
        kind="item",
        description="missing",
        noticed_at=datetime(2026, 7, 6, 10, 30, tzinfo=TAIPEI),
    )
    with pytest.raises(ApplicationError):
        services.anomaly_investigation_complete(
            actor=cast.biosafety, anomaly=anomaly, completed_on=date(2026, 7, 9), findings=" "
        )
    with pytest.raises(ApplicationError):
        services.anomaly_investigation_complete(
            actor=cast.biosafety, anomaly=anomaly, completed_on=date(2026, 7, 1), findings="x"
        )
    with pytest.raises(ApplicationError):
        services.anomaly_authorities_notified(
            actor=cast.biosafety, anomaly=anomaly, at=timezone.now(), reference=""
        )
    with pytest.raises(ApplicationError):
        services.anomaly_report_sent(
            actor=cast.biosafety, anomaly=anomaly, reported_on=date(2026, 7, 9), reference="x"
        )


@pytest.mark.parametrize(
    ("regime", "completed", "due"),
    [
        ("animal", date(2026, 7, 9), date(2026, 7, 13)),
        ("human", date(2026, 7, 9), date(2026, 7, 16)),
    ],
)
def test_investigation_report_due_counts_from_completion(regime, completed, due):
    deadline = rules.investigation_report_due(completed, regime=regime)
    assert deadline.due == due
    assert deadline.rule == ("BS-11" if regime == "animal" else "HP-03")


def test_inventory_pages_count_complete_and_follow_the_anomaly(cast, client, tb_stock):
    client.force_login(cast.biosafety)
    response = client.post(
        reverse("biosafety:inventory-list"), {"site": cast.demo_site.pk, "regime": "human"}
    )
    inventory = InventoryCheck.objects.get()
    assert response.status_code == 302
    line = inventory.lines.get()
    action = "biosafety:inventory-action"
    client.post(
        reverse(action, args=[inventory.public_id, "count"]),
        {"line": line.pk, "found_quantity": "3", "note": "2 missing"},
    )
    client.post(reverse(action, args=[inventory.public_id, "complete"]))
    anomaly = Anomaly.objects.get()
    page = client.get(reverse("biosafety:inventory-detail", args=[inventory.public_id]))
    assert "2 missing" in page.content.decode()
    pdf = client.get(reverse("biosafety:inventory-pdf", args=[inventory.public_id]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    client.post(reverse(action, args=[inventory.public_id, "report"]), {"on": "2026-07-07"})
    inventory.refresh_from_db()
    assert inventory.status == "reported"
    detail = client.get(reverse("biosafety:anomaly-detail", args=[anomaly.public_id]))
    assert "HP-03" in detail.content.decode()
    steps = "biosafety:anomaly-action"
    client.post(
        reverse(steps, args=[anomaly.public_id, "notified"]),
        {"at": "2026-07-07 10:00", "reference": "CDC-1"},
    )
    client.post(
        reverse(steps, args=[anomaly.public_id, "investigated"]),
        {"on": timezone.localdate().isoformat(), "findings": "miscount"},
    )
    client.post(
        reverse(steps, args=[anomaly.public_id, "reported"]),
        {"on": timezone.localdate().isoformat(), "reference": "CDC-2"},
    )
    anomaly.refresh_from_db()
    assert anomaly.status == "closed" and anomaly.authority_reference == "CDC-2"
    home = client.get(reverse("biosafety:home"))
    assert home.status_code == 200 and "LAB-BSL3" in home.content.decode()
    assert client.get(reverse("biosafety:inventory-list")).status_code == 200


def test_the_dashboard_shows_open_clocks_and_is_closed_to_outsiders_of_biosafety(
    cast, client, tb_stock
):
    services.anomaly_open(
        actor=cast.biosafety,
        material=tb_stock,
        kind="item",
        description="vial missing",
        noticed_at=timezone.now(),
    )
    client.force_login(cast.biosafety)
    body = client.get(reverse("biosafety:home")).content.decode()
    assert "HP-03" in body and "MTB-001" in body
    client.force_login(cast.researcher)
    assert client.get(reverse("biosafety:home")).status_code == 404


def test_api_runs_an_inventory_to_its_anomaly_report(cast, client, tb_stock):
    client.force_login(cast.biosafety)
    started = client.post(
        "/api/v1/biosafety/inventories",
        {"organization": "DEMO", "site": "LAB-BSL3", "regime": "human"},
        content_type="application/json",
    )
    assert started.status_code == 201, started.content
    body = started.json()
    counted = client.post(
        f"/api/v1/biosafety/inventories/{body['id']}/count",
        {"line": body["lines"][0]["id"], "found_quantity": "0"},
        content_type="application/json",
    )
    assert counted.json()["lines"][0]["found_quantity"] == "0.000"
    [anomaly] = client.post(f"/api/v1/biosafety/inventories/{body['id']}/complete").json()
    assert anomaly["kind"] == "item"
    assert set(anomaly["deadlines"]) == {
        "authority_notice",
        "committee_investigation",
        "authority_report",
    }
    url = f"/api/v1/biosafety/anomalies/{anomaly['id']}/step"
    today = timezone.localdate().isoformat()
    for step in (
        {"step": "notified", "at": timezone.now().isoformat(), "reference": "N"},
        {"step": "investigated", "on": today, "findings": "found"},
        {"step": "reported", "on": today, "reference": "R"},
    ):
        answer = client.post(url, step, content_type="application/json")
        assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "closed"
    assert client.post(url, {"step": "x"}, content_type="application/json").status_code == 400
    assert len(client.get("/api/v1/biosafety/anomalies").json()) == 1
    assert client.get(f"/api/v1/biosafety/anomalies/{anomaly['id']}").status_code == 200
    assert len(client.get("/api/v1/biosafety/inventories").json()) == 1
    assert client.get(f"/api/v1/biosafety/inventories/{body['id']}").status_code == 200
