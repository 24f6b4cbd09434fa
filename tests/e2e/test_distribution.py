"""Distribution in the browser: a researcher files a request, the manager records the ethics
committee's approval and the MTA and approves, the technician reserves, reads the pick list,
builds and ships the shipment, and the researcher confirms receipt item by item (BB-02, HB-04,
BS-02)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from biobank.distribution.models import DistributionRequest, RequestItem
from biobank.participants import rules as consent_rules
from biobank.specimens.models import MaterialType, Specimen
from tests.distribution.conftest import stock  # noqa: F401 (fixture)
from tests.participants.conftest import general_form  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _status(page: Page, text: str) -> None:
    expect(page.get_by_role("status").last).to_contain_text(text)


def test_request_review_pick_ship_and_receive(page: Page, ui, cast, stock):  # noqa: F811
    whole_blood = MaterialType.objects.get(organization__isnull=True, code="WHOLE_BLOOD")

    # Huang, the researcher, files a request for 2 mL of whole blood from two participants
    ui.sign_in(cast.researcher)
    ui.switch_language("en")
    page.goto("/distribution/new/")
    page.locator("#id_title").fill("Type 2 diabetes biomarkers")
    page.locator("#id_requester_institution").fill("示範大學醫學院")
    page.locator("#id_purpose").fill("Plasma biomarkers of type 2 diabetes")
    page.locator("#id_purposes").select_option(consent_rules.HMB)
    page.locator("#id_irb_reference").fill("UNIV-IRB-2025-001")
    page.locator("#id_irb_committee").fill("示範大學人體研究倫理審查委員會")
    page.locator("#id_irb_valid_from").fill("2025-01-01")
    page.locator("#id_irb_valid_until").fill("2030-12-31")
    page.locator("#id_material_types").select_option(str(whole_blood.pk))
    page.locator("#id_quantity_per_specimen").fill("2")
    page.locator("#id_unit").fill("mL")
    page.locator("#id_participants_wanted").fill("2")
    page.locator("#id_destination_institution").fill("示範大學醫學院")
    page.get_by_role("button", name="Save").click()
    _status(page, "saved as a draft")
    request = DistributionRequest.objects.get()
    expect(page.locator("main h1")).to_contain_text(request.code)
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("main h1")).to_contain_text("submitted")
    ui.sign_out()

    # Lin, the manager, records the ethics committee's approval and the MTA, then approves
    ui.sign_in(cast.manager)
    page.goto(f"/distribution/{request.public_id}/")
    # the staff's page tells how many specimens match (the four tubes) and lists them
    expect(page.locator("main")).to_contain_text("4 specimens match, 0 excluded")
    expect(page.locator("table.candidates")).to_contain_text("WB-1")
    page.get_by_text("Record a decision").click()
    page.locator("#id_approval-body").select_option("ethics_committee")
    page.locator("#id_approval-decision").select_option("approved")
    page.locator("#id_approval-decided_on").fill("2026-01-05")
    page.locator("#id_approval-reference").fill("EC-2026-01")
    page.locator("#id_approval-decided_on").locator("xpath=ancestor::form").get_by_role(
        "button", name="Save"
    ).click()
    _status(page, "Done.")
    expect(page.locator("main h1")).to_contain_text("under review")
    page.get_by_text("Attach the MTA").click()
    page.locator("#id_mta-terms").fill("Use for the approved study only.")
    page.locator("#id_mta-signed_on").fill("2026-01-06")
    page.locator("#id_mta-recipient_signatory").fill("黃建國")
    page.locator("#id_mta-terms").locator("xpath=ancestor::form").get_by_role(
        "button", name="Save"
    ).click()
    expect(page.locator("main")).to_contain_text("approvals and MTA in place")
    page.get_by_role("button", name="Approve the request").click()
    expect(page.locator("main h1")).to_contain_text("approved")
    ui.sign_out()

    # Chen, the technician, reserves one tube per participant and reads the pick list
    ui.sign_in(cast.technician)
    page.goto(f"/distribution/{request.public_id}/")
    page.get_by_role("button", name="Reserve").click()
    _status(page, "2 specimens reserved.")
    expect(page.locator("main h1")).to_contain_text("fulfilling")
    pick_list = page.locator("main table").filter(has_text="Location").first
    expect(pick_list).to_contain_text("BOX-A")
    reserved = list(
        RequestItem.objects.filter(request=request).values_list("specimen__barcode", flat=True)
    )
    assert len(reserved) == 2
    for barcode in reserved:
        expect(pick_list).to_contain_text(barcode)
    expect(page.get_by_role("link", name="PDF")).to_be_visible()
    # the shipment form says the register has nothing: the risk group entered would be used
    expect(page.locator("p.risk-source")).to_contain_text("records no infectious material")

    # builds and ships the shipment on dry ice
    page.locator("#id_ship-temperature").select_option("dry_ice")
    page.locator("#id_ship-dry_ice_kg").fill("5")
    page.locator("#id_ship-courier").fill("黑貓宅急便")
    page.locator("#id_ship-tracking_number").fill("TW123456")
    page.get_by_role("button", name="Ship").click()
    _status(page, "Done.")
    expect(page.locator("main h1")).to_contain_text("shipped")
    expect(page.locator("main")).to_contain_text("TW123456")
    expect(page.get_by_role("link", name=re.compile("Manifest"))).to_be_visible()
    shipped = sorted(
        RequestItem.objects.filter(request=request).values_list("shipped__barcode", flat=True)
    )
    assert all(
        Specimen.objects.get(barcode=b).status == Specimen.Status.DISTRIBUTED for b in shipped
    )
    ui.sign_out()

    # Huang confirms receipt: one aliquot arrived, the other is missing
    ui.sign_in(cast.researcher)
    page.goto(f"/distribution/{request.public_id}/")
    page.get_by_text("Confirm receipt").click()
    page.locator("#id_receipt-condition").select_option("partial")
    page.locator("#id_receipt-item_1").select_option("missing")
    page.locator("#id_receipt-note").fill("one tube was not in the box")
    page.get_by_role("button", name="Confirm").click()
    _status(page, "Done.")
    expect(page.locator("main h1")).to_contain_text("received")
    lines = page.locator("table.receipt-lines")
    expect(lines).to_contain_text("missing")
    expect(lines).to_contain_text("received")
    states = dict(
        RequestItem.objects.filter(request=request).values_list("shipped__barcode", "state")
    )
    assert sorted(states.values()) == ["received", "shipped"]


def test_manager_edits_the_export_list(page: Page, ui, cast):
    """HB-05: the manager strikes protein off the biobank's export list and adds exosomes; whole
    blood, a specimen as collected, is refused."""
    import importlib

    from django.apps import apps

    from biobank.distribution.models import ExportListEntry

    if not ExportListEntry.objects.filter(organization__isnull=True).exists():
        # the migration's data, when an earlier transactional test emptied the tables
        importlib.import_module("biobank.distribution.migrations.0005_load_export_list").load(
            apps, None
        )
    ui.sign_in(cast.manager)
    ui.switch_language("en")
    page.goto("/distribution/")
    page.get_by_role("link", name="Export list").click()
    table = page.locator("table.export-list")
    expect(table).to_contain_text("standard list")
    protein = table.locator("tr").filter(has_text="PROTEIN")
    protein.get_by_placeholder("Reason").fill("no longer exported")
    protein.get_by_role("button", name="Take off the list").click()
    _status(page, "Export list saved.")
    expect(table.locator("tr").filter(has_text="PROTEIN")).to_contain_text(
        "struck off by this biobank"
    )
    page.locator("#id_material_type").select_option("EXOSOMES")
    page.get_by_role("button", name="Add to the export list").click()
    _status(page, "Export list saved.")
    expect(table.locator("tr").filter(has_text="EXOSOMES")).to_contain_text("added by this biobank")
    page.locator("#id_material_type").select_option("WHOLE_BLOOD")
    page.get_by_role("button", name="Add to the export list").click()
    _status(page, "HB-05")
