"""Storage pages and API: browse like folders, the box grid, placing by scan, scans, exports."""

from __future__ import annotations

from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from biobank.storage import services
from biobank.storage.models import Placement
from tests.storage.conftest import seeds


def test_storage_is_browsed_like_folders_with_occupancy(cast, freezer, client):
    (seed,) = seeds(cast, 1)
    services.specimen_place(actor=cast.technician, specimen=seed, unit=freezer.box1, position="A1")
    client.force_login(cast.technician)
    roots = client.get("/storage/").content.decode()
    assert "ROOM-1" in roots and "F-80-01" in roots and "1 / 162" in roots
    rack = client.get(f"/storage/{freezer.rack.public_id}/").content.decode()
    assert "BOX-1" in rack and "BOX-2" in rack


def test_box_page_shows_the_grid_and_places_a_scanned_barcode(cast, freezer, client):
    (seed,) = seeds(cast, 1)
    client.force_login(cast.technician)
    response = client.post(
        f"/storage/{freezer.box1.public_id}/place/", {"position": "C5", "barcode": seed.barcode}
    )
    assert response.status_code == 302
    page = client.get(f"/storage/{freezer.box1.public_id}/").content.decode()
    assert page.count('class="empty"') == 80
    assert seed.barcode[-5:] in page
    assert Placement.objects.get(specimen=seed).row == 3


def test_placing_on_a_taken_position_says_so(cast, freezer, client):
    a, b = seeds(cast, 2)
    services.specimen_place(actor=cast.technician, specimen=a, unit=freezer.box1, position="A1")
    client.force_login(cast.technician)
    response = client.post(
        f"/storage/{freezer.box1.public_id}/place/",
        {"position": "A1", "barcode": b.barcode},
        follow=True,
    )
    assert "BB-02" in response.content.decode()
    assert not Placement.objects.filter(specimen=b).exists()


def test_rack_scan_upload_previews_then_applies(cast, freezer, client):
    a, b = seeds(cast, 2)
    client.force_login(cast.technician)
    scan = SimpleUploadedFile(
        "scan.csv", f"Position,Barcode\nA1,{a.barcode}\nA2,{b.barcode}\nA3,\n".encode()
    )
    preview = client.post(f"/storage/{freezer.box1.public_id}/scan/", {"scan": scan})
    assert preview.status_code == 200
    assert a.barcode in preview.content.decode()
    assert not Placement.objects.exists()  # nothing until applied
    client.post(f"/storage/{freezer.box1.public_id}/scan-apply/")
    assert Placement.objects.count() == 2


def test_bs07_inventory_list_exports_with_totals(cast, freezer, client):
    for n, seed in enumerate(seeds(cast, 3)):
        services.specimen_place(
            actor=cast.technician, specimen=seed, unit=freezer.box1, position=(1, n + 1)
        )
    client.force_login(cast.auditor)
    response = client.get(f"/storage/{freezer.room.public_id}/inventory.xlsx")
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("unit", "position", "barcode")
    assert [r[1] for r in rows[1:4]] == ["A1", "A2", "A3"]
    assert rows[-1][3:5] == ("Seed", 3) or rows[-1][4] == 3  # the total per material type


def test_bs07_auditor_reads_the_access_records(cast, freezer, client):
    (seed,) = seeds(cast, 1)
    services.specimen_place(actor=cast.technician, specimen=seed, unit=freezer.box1, position="A1")
    client.force_login(cast.auditor)
    page = client.get(f"/storage/{freezer.freezer.public_id}/access/").content.decode()
    assert seed.barcode in page


def test_check_out_and_in_from_the_specimen_page(cast, freezer, client):
    (seed,) = seeds(cast, 1)
    services.specimen_place(actor=cast.technician, specimen=seed, unit=freezer.box1, position="A1")
    client.force_login(cast.technician)
    page = client.get(f"/specimens/{seed.barcode}/").content.decode()
    assert "BOX-1" in page and "A1" in page
    client.post(f"/storage/specimen/{seed.barcode}/out/", {"reason": "aliquot"})
    client.post(f"/storage/specimen/{seed.barcode}/in/")
    seed.refresh_from_db()
    assert seed.freeze_thaw_count == 1


def test_api_box_contents_and_monitor_readings(cast, freezer, client):
    (seed,) = seeds(cast, 1)
    client.force_login(cast.technician)
    placed = client.post(
        f"/api/v1/storage/units/{freezer.box1.public_id}/placements",
        {"barcode": seed.barcode, "position": "A1"},
        content_type="application/json",
    )
    assert placed.status_code == 201 and placed.json()["position"] == "A1"
    cells = client.get(f"/api/v1/storage/units/{freezer.box1.public_id}/contents").json()
    assert len(cells) == 81 and cells[0]["barcode"] == seed.barcode
    client.force_login(cast.manager)
    reading = client.post(
        f"/api/v1/storage/units/{freezer.freezer.public_id}/readings",
        {"value_c": "-40"},
        content_type="application/json",
    )
    assert reading.json()["excursion_opened_now"] is True


def test_bs07_inventory_list_prints_as_pdf_with_chinese(cast, freezer, client):
    from io import BytesIO as _BytesIO

    from pypdf import PdfReader

    (seed,) = seeds(cast, 1)
    services.specimen_place(actor=cast.technician, specimen=seed, unit=freezer.box1, position="A1")
    client.force_login(cast.auditor)
    response = client.get(f"/storage/{freezer.freezer.public_id}/inventory.pdf")
    assert response["Content-Type"] == "application/pdf"
    text = PdfReader(_BytesIO(response.content)).pages[0].extract_text()
    assert seed.barcode in text and "A1" in text


def test_api_find_places_check_out_in_and_access_records(cast, freezer, client):
    a, b = seeds(cast, 2)
    client.force_login(cast.technician)
    found = client.post(
        f"/api/v1/storage/units/{freezer.freezer.public_id}/find-places",
        {"barcodes": [a.barcode, b.barcode], "place": True},
        content_type="application/json",
    ).json()
    assert [(f["unit"], f["position"]) for f in found] == [("BOX-1", "A1"), ("BOX-1", "A2")]
    out = client.post(
        f"/api/v1/specimens/{a.barcode}/check-out",
        {"reason": "aliquot"},
        content_type="application/json",
    )
    assert out.status_code == 201
    back = client.post(f"/api/v1/specimens/{a.barcode}/check-in")
    assert back.json()["minutes_out_of_storage"] >= 0
    client.force_login(cast.auditor)
    records = client.get(f"/api/v1/storage/units/{freezer.room.public_id}/access").json()
    assert {r["purpose"] for r in records} >= {"placing", "retrieving"}


def test_box_page_of_144_positions_uses_a_fixed_number_of_queries(
    cast, freezer, client, django_assert_max_num_queries
):
    from biobank.storage.models import ContainerType

    big = services.unit_create(
        actor=cast.manager,
        organization=cast.demo,
        barcode="BOX-144",
        name="144",
        kind="box",
        parent=freezer.rack,
        container_type=ContainerType.objects.get(code="BOX-12X12"),
    )
    client.force_login(cast.technician)
    for n, seed in enumerate(seeds(cast, 30)):
        services.specimen_place(
            actor=cast.technician, specimen=seed, unit=big, position=(n // 12 + 1, n % 12 + 1)
        )
    with django_assert_max_num_queries(30) as few:
        client.get(f"/storage/{big.public_id}/")
    for n, seed in enumerate(seeds(cast, 60)):
        services.specimen_place(
            actor=cast.technician, specimen=seed, unit=big, position=(n // 12 + 4, n % 12 + 1)
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(f"/storage/{big.public_id}/").content.decode()
    assert page.count('class="empty"') == 144 - 90


def test_a_box_added_from_its_container_type_takes_the_default_geometry(cast, freezer, client):
    from biobank.storage.models import ContainerType, StorageUnit

    client.force_login(cast.manager)
    client.post(
        f"/storage/{freezer.rack.public_id}/child/",
        {
            "barcode": "PL-1",
            "name": "plate",
            "kind": "plate",
            "container_type": ContainerType.objects.get(code="PLATE-96").pk,
        },
    )
    plate = StorageUnit.objects.get(barcode="PL-1")
    assert (plate.rows, plate.columns, plate.order) == (8, 12, "column")


def test_bb02_restrictions_set_on_the_page_refuse_other_material(cast, freezer, client):
    from biobank.specimens.models import MaterialType

    plasma = MaterialType.objects.get(code="PLASMA", organization=None)
    client.force_login(cast.manager)
    client.post(
        f"/storage/{freezer.rack.public_id}/restrict/",
        {"material_types": [plasma.pk], "temperature_class": "MINUS_60_TO_85"},
    )
    freezer.rack.refresh_from_db()
    assert freezer.rack.temperature_class_id == "MINUS_60_TO_85"
    (seed,) = seeds(cast, 1)
    client.force_login(cast.technician)
    response = client.post(
        f"/storage/{freezer.box1.public_id}/place/",
        {"position": "A1", "barcode": seed.barcode},
        follow=True,
    )
    assert "RACK-A" in response.content.decode()
    assert not Placement.objects.exists()
