"""Distribution API after shipment: receipt lines, returns and recipients' destruction
(BB-02, HB-03, HR-04), the reciprocity ledger (seed 003) and the export list (HB-05); another
organization's records answer 404, a missing permission 403."""

from __future__ import annotations

import json

import pytest

from biobank.distribution import services
from biobank.distribution.models import Shipment
from biobank.specimens.models import Specimen, SpecimenEvent
from tests.distribution.conftest import approve, new_request


def _post(client, url: str, body: dict) -> object:
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def shipment(cast, stock) -> Shipment:
    """WB-1 and WB-2, whole tubes, shipped to the researcher."""
    request = new_request(cast, quantity_per_specimen=None, unit="")
    approve(cast, request)
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-1", "WB-2"])
    return services.shipment_create(
        actor=cast.technician, request=request, temperature="ambient", courier="c",
        tracking_number="t",
    )  # fmt: skip


def _url(shipment: Shipment, tail: str = "") -> str:
    return f"/api/v1/distribution/shipments/{shipment.public_id}{tail}"


def test_bb02_receipt_lines_come_with_the_shipment(cast, client, shipment):
    client.force_login(cast.researcher)
    posted = _post(
        client, _url(shipment, "/receipt"),
        {"condition": "damaged", "damaged": ["WB-2"], "note": "cracked"},
    )  # fmt: skip
    assert posted.status_code == 201, posted.content
    answer = client.get(_url(shipment)).json()
    assert answer["receipt"]["lines"] == [
        {"barcode": "WB-1", "outcome": "received"},
        {"barcode": "WB-2", "outcome": "damaged"},
    ]


def test_bb02_a_return_is_recorded_through_the_api_and_stored_again(cast, client, shipment, stock):
    client.force_login(cast.technician)
    posted = _post(
        client, _url(shipment, "/returns"),
        {"barcode": "WB-1", "condition": "unopened", "unit": "BOX-A", "position": "I9"},
    )  # fmt: skip
    assert posted.status_code == 201, posted.content
    assert posted.json()["barcode"] == "WB-1"
    assert posted.json()["location"].startswith("BOX-A")
    tube = Specimen.objects.get(barcode="WB-1")
    assert tube.status == Specimen.Status.AVAILABLE
    assert tube.events.filter(activity=SpecimenEvent.Activity.RETURN).exists()
    listed = client.get(_url(shipment, "/returns")).json()
    assert [(r["barcode"], r["condition"]) for r in listed] == [("WB-1", "unopened")]
    # the same item cannot come back twice
    again = _post(client, _url(shipment, "/returns"), {"barcode": "WB-1", "condition": "x"})
    assert again.status_code == 400 and again.json()["rule"] == "BB-02"


def test_bb02_a_return_to_an_unknown_box_or_of_an_unknown_item_answers_404(cast, client, shipment):
    client.force_login(cast.technician)
    unknown_box = _post(
        client, _url(shipment, "/returns"), {"barcode": "WB-1", "condition": "ok", "unit": "NOPE"}
    )
    assert unknown_box.status_code == 404
    not_shipped = _post(client, _url(shipment, "/returns"), {"barcode": "WB-3", "condition": "ok"})
    assert not_shipped.status_code == 404


def test_hr04_recipient_records_destruction_through_the_api(cast, client, shipment):
    client.force_login(cast.researcher)
    posted = _post(
        client, _url(shipment, "/destructions"),
        {"barcode": "WB-2", "destroyed_on": "2026-01-20", "method": "autoclave",
         "certificate": "DC-1"},
    )  # fmt: skip
    assert posted.status_code == 201, posted.content
    assert posted.json() == {
        "barcode": "WB-2",
        "destroyed_on": "2026-01-20",
        "method": "autoclave",
        "certificate": "DC-1",
    }
    assert shipment.items.get(specimen__barcode="WB-2").state == "destroyed"
    listed = client.get(_url(shipment, "/destructions")).json()
    assert [d["barcode"] for d in listed] == ["WB-2"]
    refused = _post(
        client, _url(shipment, "/destructions"),
        {"barcode": "WB-1", "destroyed_on": "2999-01-01", "method": "autoclave"},
    )  # fmt: skip
    assert refused.status_code == 400


def test_returns_need_the_fulfil_permission_403(cast, client, shipment):
    # the researcher sees the shipment (as requester) but does not store material
    client.force_login(cast.researcher)
    answer = _post(client, _url(shipment, "/returns"), {"barcode": "WB-1", "condition": "ok"})
    assert answer.status_code == 403
    # the auditor reads distribution but records no destruction
    client.force_login(cast.auditor)
    assert client.get(_url(shipment, "/destructions")).status_code == 200
    answer = _post(
        client, _url(shipment, "/destructions"),
        {"barcode": "WB-1", "destroyed_on": "2026-01-20", "method": "autoclave"},
    )  # fmt: skip
    assert answer.status_code == 403
    assert shipment.items.filter(state="shipped").count() == 2


@pytest.mark.parametrize("tail", ["", "/returns", "/destructions"])
def test_another_organizations_shipment_answers_404(cast, client, shipment, tail):
    client.force_login(cast.outsider)
    assert client.get(_url(shipment, tail)).status_code == 404
    if tail:
        body = {"barcode": "WB-1", "condition": "x", "destroyed_on": "2026-01-20", "method": "x"}
        assert _post(client, _url(shipment, tail), body).status_code == 404
    assert shipment.items.filter(state="shipped").count() == 2


def test_ledger_api_lists_what_each_organization_gave_and_received(cast, client, shipment):
    client.force_login(cast.manager)
    answer = client.get("/api/v1/distribution/ledger").json()
    assert [(e["organization"], e["direction"], e["specimens"]) for e in answer["entries"]] == [
        ("DEMO", "given", 2)
    ]
    assert answer["balances"] == [
        {
            "organization": "DEMO",
            "counterpart": "示範大學醫學院",
            "given_specimens": 2,
            "given_data_records": 0,
            "received_specimens": 0,
            "received_data_records": 0,
            "requests": 1,
        }
    ]
    client.force_login(cast.outsider)
    assert client.get("/api/v1/distribution/ledger").json() == {"balances": [], "entries": []}


def test_hb05_export_list_api_gives_the_list_in_force(cast, client):
    services.export_entry_remove(
        actor=cast.manager, organization=cast.demo, material_type="PROTEIN", reason="x"
    )
    client.force_login(cast.technician)
    answer = client.get("/api/v1/distribution/export-list").json()
    assert answer["organization"] == "DEMO"
    assert answer["codes"] == ["CDNA", "DNA", "MICRO_RNA", "RNA"]
    protein = next(line for line in answer["lines"] if line["code"] == "PROTEIN")
    assert (protein["source"], protein["listed"]) == ("struck_off", False)
    assert client.get("/api/v1/distribution/export-list?organization=OTHER").status_code == 404
