"""Monday in the browser: the plasma goes into box 3 of rack B; Chen types the tube's barcode
into a position and the grid shows it (BB-02)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from biobank.specimens.services import specimens as specimen_services
from biobank.storage import services
from biobank.storage.models import Placement

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_tube_typed_into_a_position_appears_in_the_box_grid(page: Page, ui, cast):
    room = services.unit_create(
        actor=cast.manager, organization=cast.demo, barcode="B2-FRZ", name="冷凍庫房", kind="room"
    )
    freezer = services.unit_create(
        actor=cast.manager,
        organization=cast.demo,
        barcode="F-80-02",
        name="-80",
        kind="freezer",
        parent=room,
        set_point_c=Decimal("-80"),
    )
    rack = services.unit_create(
        actor=cast.manager,
        organization=cast.demo,
        barcode="F-80-02-RB",
        name="rack B",
        kind="rack",
        parent=freezer,
    )
    box = services.unit_create(
        actor=cast.manager,
        organization=cast.demo,
        barcode="F-80-02-B3",
        name="box 3",
        kind="box",
        parent=rack,
        rows=9,
        columns=9,
    )
    seed = specimen_services.specimen_register(
        actor=cast.technician,
        organization=cast.demo,
        material_type="SEED",
        quantity=Decimal("5"),
        unit="g",
        source_organism="Oryza sativa",
    )
    ui.sign_in(cast.technician)
    ui.switch_language("en")

    # when Chen opens box 3 and scans the tube into C5
    page.goto(f"/storage/{box.public_id}/")
    expect(page.locator("table.box-grid td.empty")).to_have_count(81)
    page.locator("#position").fill("C5")
    page.locator("#place-barcode").fill(seed.barcode)
    page.get_by_role("button", name="Place", exact=True).click()

    # then the grid shows the tube at C5 and one position fewer is empty
    expect(page.get_by_role("status")).to_contain_text("placed at C5")
    expect(page.locator("table.box-grid td.empty")).to_have_count(80)
    expect(page.locator("table.box-grid td.full")).to_have_attribute(
        "title", f"C5 {seed.barcode} Seed available"
    )
    assert Placement.objects.get(specimen=seed).unit == box
    # and the tube's page says where it is
    page.locator("table.box-grid td.full a").click()
    expect(page.locator("#storage")).to_contain_text("F-80-02-B3")
