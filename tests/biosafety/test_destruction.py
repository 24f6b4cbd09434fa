"""Destruction of infectious material (BS-15): confirmed by the committee, recorded, and the
material leaves the inventory; a controlled agent's record is kept 10 years (HP-04)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from biobank.biosafety import services
from biobank.biosafety.models import Destruction, InfectiousMaterial
from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import AuditEvent

pytestmark = pytest.mark.django_db


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


def destroy(cast, material, **extra) -> Destruction:
    arguments = {
        "method": "autoclave",
        "destroyed_on": date(2026, 3, 2),
        "reason": "研究結束",
        "confirmed_on": date(2026, 2, 26),
        "committee_reference": "BSC-2026-07",
        **extra,
    }
    return services.destruction_record(actor=cast.biosafety, material=material, **arguments)


def test_bs15_destruction_needs_the_committees_confirmation(cast, tb_stock):
    with pytest.raises(ApplicationError) as refused:
        destroy(cast, tb_stock)
    assert refused.value.rule == "BS-15"


def test_bs15_destruction_without_a_reference_is_refused(cast, committee, tb_stock):
    with pytest.raises(ApplicationError) as refused:
        destroy(cast, tb_stock, committee_reference=" ")
    assert refused.value.rule == "BS-15"
    with pytest.raises(ApplicationError) as refused:
        destroy(cast, tb_stock, confirmed_on=date(2026, 3, 3))
    assert refused.value.rule == "BS-15"


def test_bs15_destroyed_material_leaves_the_inventory(cast, committee, tb_stock):
    destroy(cast, tb_stock, quantity=Decimal(2))
    tb_stock.refresh_from_db()
    assert (tb_stock.quantity, tb_stock.status) == (Decimal(3), "held")
    record = destroy(cast, tb_stock)
    tb_stock.refresh_from_db()
    assert (tb_stock.quantity, tb_stock.status) == (Decimal(0), "destroyed")
    assert record.quantity == Decimal(3)
    assert AuditEvent.objects.filter(object_type="biosafety.destruction").count() == 2
    inventory = services.inventory_start(actor=cast.biosafety, site=cast.demo_site, regime="human")
    assert not inventory.lines.exists()
    assert not services.work_allowed(tb_stock, cast.demo_site).allowed
    with pytest.raises(ApplicationError) as refused:
        destroy(cast, tb_stock)
    assert refused.value.rule == "BS-15"
    with pytest.raises(ApplicationError):
        services.approval_request(actor=cast.biosafety, material=tb_stock, kind="use", purpose="x")


def test_bs15_more_than_held_is_refused_and_only_managers_destroy(cast, committee, tb_stock):
    with pytest.raises(ApplicationError):
        destroy(cast, tb_stock, quantity=Decimal(6))
    with pytest.raises(PermissionDenied):
        services.destruction_record(
            actor=cast.technician, material=tb_stock, method="autoclave",
            destroyed_on=date(2026, 3, 2), reason="x", confirmed_on=date(2026, 3, 1),
            committee_reference="x",
        )  # fmt: skip


def test_bs15_page_and_api(cast, committee, tb_stock, client):
    client.force_login(cast.biosafety)
    response = client.post(
        reverse("biosafety:destruction-list"),
        {
            "material": tb_stock.pk,
            "quantity": "1",
            "method": "incineration",
            "destroyed_on": "2026-03-02",
            "reason": "過期",
            "confirmed_on": "2026-03-01",
            "committee_reference": "BSC-8",
        },
    )
    assert response.status_code == 302
    assert "BSC-8" in client.get(reverse("biosafety:destruction-list")).content.decode()
    made = client.post(
        f"/api/v1/biosafety/materials/{tb_stock.public_id}/destruction",
        {
            "method": "autoclave",
            "destroyed_on": "2026-03-02",
            "reason": "結束",
            "confirmed_on": "2026-03-01",
            "committee_reference": "BSC-9",
        },
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["material_status"] == InfectiousMaterial.Status.DESTROYED
    assert len(client.get("/api/v1/biosafety/destructions").json()) == 2
