"""Monday in the browser: Chen registers a visit following the planned tree, prepares the
planned plasma and sees its lineage and timeline (BB-02, BB-04)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from biobank.specimens.models import Specimen
from biobank.specimens.services import collections as collection_services
from tests.participants.conftest import general_form  # noqa: F401 (fixture)
from tests.specimens.conftest import consenting  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_visit_following_the_planned_tree_then_preparation(
    page: Page,
    ui,
    cast,
    consenting,  # noqa: F811
):
    cohort = collection_services.collection_create(
        actor=cast.manager,
        organization=cast.demo,
        code="TWDM",
        name="糖尿病世代",
        principal_investigator="陳建志",
    )
    whole = collection_services.collection_plan_add(
        actor=cast.manager,
        collection=cohort,
        label="EDTA 10 mL",
        kind="primary",
        material_type="WHOLE_BLOOD",
        quantity=Decimal("10"),
        unit="mL",
    )
    collection_services.collection_plan_add(
        actor=cast.manager,
        collection=cohort,
        label="plasma 0.5 mL",
        kind="derivative",
        parent=whole,
        material_type="PLASMA",
        count=2,
        quantity=Decimal("0.5"),
        unit="mL",
        quantity_taken=Decimal("2.5"),
    )
    ui.sign_in(cast.technician)
    ui.switch_language("en")

    # when Chen registers DM0001's visit on the collection's page
    page.goto(f"/specimens/collections/{cohort.public_id}/")
    page.locator("#id_visit-participant_code").fill(consenting.code)
    page.get_by_role("button", name="Register the planned specimens").click()

    # then one tube is collected, two plasma tubes are expected, and labels are one click away
    expect(page.get_by_role("status")).to_contain_text("1 collected, 2 expected")
    expect(page.get_by_role("link", name="PDF")).to_be_visible()
    plasma = Specimen.objects.filter(material_type__code="PLASMA").order_by("barcode").first()
    assert plasma is not None and plasma.status == "expected"

    # when she prepares the first plasma tube as planned
    page.goto(f"/specimens/{plasma.barcode}/")
    page.get_by_role("button", name="Prepare", exact=True).click()

    # then it is available, made from the whole blood, with the preparation on its timeline
    expect(page.locator("main h1")).to_contain_text("available")
    expect(page.locator("main")).to_contain_text("Made from")
    expect(page.locator("table.timeline")).to_contain_text("preparation")
    tube = Specimen.objects.get(material_type__code="WHOLE_BLOOD")
    assert tube.remaining == Decimal("7.5")
    page.get_by_role("link", name=re.compile(tube.barcode)).first.click()
    expect(page.locator("main")).to_contain_text("7.5 / 10 mL")
