"""Distribution pages and API: request form, detail with eligibility by reason, review, pick
list (screen and PDF), shipment, manifest (PDF, CSV), receipt, data release; tenancy."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from biobank.distribution import services
from biobank.distribution.models import DistributionRequest, Shipment
from biobank.participants import rules as consent_rules
from biobank.specimens.models import MaterialType
from tests.distribution.conftest import approve, new_request


@pytest.fixture(autouse=True)
def english(client):
    """Pages in English (the language switch's cookie), so messages can be matched."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def _detail(request: DistributionRequest) -> str:
    return reverse("distribution:request-detail", kwargs={"public_id": request.public_id})


def _action(request: DistributionRequest, action: str) -> str:
    return reverse(
        "distribution:request-action", kwargs={"public_id": request.public_id, "action": action}
    )


def test_researcher_files_a_request_on_the_form(cast, client, stock):
    client.force_login(cast.researcher)
    response = client.post(
        reverse("distribution:request-create"),
        {
            "title": "DM biomarkers",
            "requester_institution": "示範大學",
            "purpose": "biomarkers",
            "purposes": [consent_rules.HMB],
            "irb_reference": "U-1",
            "irb_committee": "U IRB",
            "irb_valid_from": "2025-01-01",
            "irb_valid_until": "2030-01-01",
            "material_types": [
                str(pk)
                for pk in MaterialType.objects.filter(
                    code="WHOLE_BLOOD", organization=None
                ).values_list("pk", flat=True)
            ],
            "quantity_per_specimen": "2",
            "unit": "mL",
            "destination_institution": "示範大學",
            "destination_country": "TW",
            "data_fields": "hba1c",
        },
    )
    made = DistributionRequest.objects.get()
    assert response.status_code == 302
    assert made.data_fields == ["hba1c"]
    client.post(_action(made, "submit"))
    made.refresh_from_db()
    assert made.status == "submitted"


def test_detail_shows_how_many_match_and_why_others_are_excluded(cast, client, stock):
    request = new_request(cast, commercial=True)
    client.force_login(cast.manager)
    body = client.get(_detail(request)).content.decode()
    assert "0 specimens match, 4 excluded." in body
    assert "consent does not permit this use" in body
    assert "HB-04" in body


def test_review_reserve_ship_and_receive_on_the_pages(cast, client, stock, mail_in_english):
    request = new_request(cast)
    services.request_submit(actor=cast.researcher, request=request)
    client.force_login(cast.manager)
    client.post(
        _action(request, "approval"),
        {
            "approval-body": "ethics_committee",
            "approval-decision": "approved",
            "approval-decided_on": "2026-01-05",
            "approval-reference": "EC-1",
        },
    )
    client.post(
        _action(request, "agreement"),
        {"mta-terms": "terms", "mta-signed_on": "2026-01-06", "mta-recipient_signatory": "黃"},
    )
    client.post(_action(request, "approve"))
    request.refresh_from_db()
    assert request.status == "approved"
    client.force_login(cast.technician)
    client.post(_action(request, "reserve"), {"reserve-barcodes": "WB-1, WB-2"})
    body = client.get(_detail(request)).content.decode()
    assert "Pick list" in body and "BOX-A" in body
    pdf = client.get(reverse("distribution:pick-list-pdf", kwargs={"public_id": request.public_id}))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    client.post(
        _action(request, "ship"),
        {
            "ship-containers": "1",
            "ship-temperature": "dry_ice",
            "ship-dry_ice_kg": "5",
            "ship-courier": "黑貓",
            "ship-tracking_number": "T-1",
            "ship-affects_humans": "on",
        },
    )
    shipment = Shipment.objects.get(request=request)
    manifest = client.get(
        reverse("distribution:manifest", kwargs={"public_id": shipment.public_id, "fmt": "pdf"})
    )
    assert manifest.content.startswith(b"%PDF")
    csv = client.get(
        reverse("distribution:manifest", kwargs={"public_id": shipment.public_id, "fmt": "csv"})
    )
    text = b"".join(csv.streaming_content).decode("utf-8-sig")
    assert "exempt" in text and text.count("\n") == 3
    client.force_login(cast.researcher)
    client.post(
        _action(request, "receive"),
        {"shipment": str(shipment.public_id), "receipt-condition": "complete"},
    )
    request.refresh_from_db()
    assert request.status == "received"
    assert any("Receipt confirmed" in m.subject for m in mail.outbox)


def test_data_release_downloads_coded_csv(cast, client, stock):
    request = new_request(cast, data_fields=["hba1c"])
    approve(cast, request, bodies=("ethics_committee", "central_authority"))
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-1"])
    client.force_login(cast.technician)
    response = client.post(_action(request, "release"), {"format": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.startswith("code,material_type,hba1c")
    assert "DM0001" not in text


def test_refusal_is_shown_with_its_rule(cast, client, stock):
    request = new_request(cast)
    approve(cast, request)
    client.force_login(cast.technician)
    response = client.post(_action(request, "reserve"), {"reserve-barcodes": "NOPE"}, follow=True)
    assert "Not candidates for this request" in response.content.decode()


def test_another_organizations_request_answers_404(cast, client, stock):
    request = new_request(cast)
    client.force_login(cast.outsider)
    assert client.get(_detail(request)).status_code == 404
    assert client.post(_action(request, "submit")).status_code == 404
    api = client.get(f"/api/v1/distribution/requests/{request.public_id}")
    assert api.status_code == 404
    assert client.get(reverse("distribution:request-list")).content.decode().count("DR-") == 0


def test_list_page_runs_a_fixed_number_of_queries(
    cast, client, stock, django_assert_max_num_queries
):
    for _n in range(3):
        new_request(cast)
    client.force_login(cast.manager)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("distribution:request-list"))
    assert response.content.decode().count("DR-") >= 3


def test_api_request_to_shipment(cast, client, stock):
    client.force_login(cast.researcher)
    created = client.post(
        "/api/v1/distribution/requests",
        data=json.dumps(
            {
                "organization": "DEMO",
                "title": "API request",
                "purpose": "DNA study",
                "purposes": [consent_rules.HMB],
                "requester_institution": "Kyoto U",
                "irb_reference": "K-1",
                "irb_committee": "Kyoto IRB",
                "irb_valid_from": "2025-01-01",
                "irb_valid_until": "2030-01-01",
                "destination_institution": "Kyoto U",
                "destination_country": "JP",
                "material_types": ["WHOLE_BLOOD"],
            }
        ),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    request_id = created.json()["id"]
    eligibility = client.get(f"/api/v1/distribution/requests/{request_id}/eligibility").json()
    assert eligibility["eligible"] == 0
    assert eligibility["by_reason"][0]["rule"] == "HB-05"
    client.post(f"/api/v1/distribution/requests/{request_id}/submit")
    client.force_login(cast.manager)
    refused = client.post(
        f"/api/v1/distribution/requests/{request_id}/approve", content_type="application/json"
    )
    assert refused.status_code == 400 and refused.json()["rule"] in {"HB-04", "HB-05"}
    recorded = client.post(
        f"/api/v1/distribution/requests/{request_id}/approvals",
        data=json.dumps(
            {
                "body": "ethics_committee",
                "decision": "approved",
                "decided_on": str(date(2026, 1, 5)),
                "reference": "EC-9",
            }
        ),
        content_type="application/json",
    )
    assert recorded.status_code == 201
    assert client.get("/api/v1/distribution/requests").json()[0]["status"] == "under_review"


def test_partial_receipt_lists_its_items_on_the_page_and_in_the_api(cast, client, stock):
    # Given two whole tubes shipped
    request = new_request(cast, quantity_per_specimen=None, unit="")
    approve(cast, request)
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-1", "WB-2"])
    shipment = services.shipment_create(
        actor=cast.technician, request=request, temperature="ambient", courier="c",
        tracking_number="t",
    )  # fmt: skip
    client.force_login(cast.researcher)
    form = client.get(_detail(request)).content.decode()
    assert 'name="receipt-item_0"' in form and 'name="receipt-item_1"' in form
    # When the researcher marks WB-2 missing on the page
    client.post(
        _action(request, "receive"),
        {
            "shipment": str(shipment.public_id),
            "receipt-condition": "partial",
            "receipt-item_0": "received",
            "receipt-item_1": "missing",
            "receipt-note": "WB-2 not in the box",
        },
    )
    # Then the page and the API list each item's outcome
    body = client.get(_detail(request)).content.decode()
    assert "receipt-lines" in body and "missing" in body and "WB-2" in body
    answer = client.get(f"/api/v1/distribution/shipments/{shipment.public_id}").json()
    assert answer["barcodes"] == ["WB-1", "WB-2"]
    assert answer["receipt"]["condition"] == "partial"
    assert answer["receipt"]["lines"] == [
        {"barcode": "WB-1", "outcome": "received"},
        {"barcode": "WB-2", "outcome": "missing"},
    ]


def test_api_receipt_names_damaged_items(cast, client, stock):
    request = new_request(cast, quantity_per_specimen=None, unit="")
    approve(cast, request)
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-3"])
    shipment = services.shipment_create(
        actor=cast.technician, request=request, temperature="ambient", courier="c",
        tracking_number="t",
    )  # fmt: skip
    client.force_login(cast.researcher)
    answer = client.post(
        f"/api/v1/distribution/shipments/{shipment.public_id}/receipt",
        data=json.dumps({"condition": "damaged", "damaged": ["WB-3"], "note": "cracked"}),
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["lines"] == [{"barcode": "WB-3", "outcome": "damaged"}]


def test_detail_lists_candidates_a_page_at_a_time(cast, client, stock):
    request = new_request(cast, material_types=[], quantity_per_specimen=None)
    client.force_login(cast.manager)
    body = client.get(_detail(request)).content.decode()
    assert 'class="candidates"' in body and "DNA-1" in body
    assert "1–8 of 8" in body


def test_api_lists_candidates_a_page_at_a_time(cast, client, stock):
    request = new_request(cast, material_types=[], quantity_per_specimen=None)
    client.force_login(cast.manager)
    answer = client.get(
        f"/api/v1/distribution/requests/{request.public_id}/candidates?page=2&size=3"
    ).json()
    assert (answer["count"], answer["page"], answer["pages"]) == (8, 2, 3)
    assert [row["barcode"] for row in answer["results"]] == ["DNA-4", "WB-1", "WB-2"]
    assert answer["results"][0]["eligible"] is True
    client.force_login(cast.researcher)
    assert (
        client.get(f"/api/v1/distribution/requests/{request.public_id}/candidates").status_code
        == 404
    )


def test_shipment_form_shows_where_the_risk_group_comes_from(cast, client, stock):
    from tests.distribution.test_services import _register_infectious

    _register_infectious(cast, "WB-1", "m-tuberculosis")
    request = new_request(cast)
    approve(cast, request)
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-1"])
    client.force_login(cast.technician)
    body = client.get(_detail(request)).content.decode()
    assert "risk group 3 from the biosafety register" in body
    client.post(
        _action(request, "ship"),
        {"ship-containers": "1", "ship-temperature": "ambient", "ship-courier": "c",
         "ship-tracking_number": "t", "ship-affects_humans": "on"},
    )  # fmt: skip
    body = client.get(_detail(request)).content.decode()
    assert "risk group 3 (biosafety register)" in body
    shipment = Shipment.objects.get(request=request)
    answer = client.get(f"/api/v1/distribution/shipments/{shipment.public_id}").json()
    assert (answer["risk_group"], answer["risk_group_source"]) == (3, "register")


def test_export_abroad_is_shown_with_the_list_and_the_approval(cast, client, stock):
    request = new_request(
        cast, destination_country="JP", destination_institution="Kyoto U",
        material_types=["DNA"], quantity_per_specimen=None, unit="",
    )  # fmt: skip
    client.force_login(cast.manager)
    body = client.get(_detail(request)).content.decode()
    assert "Export abroad" in body and "HB-05" in body
    assert "only derivatives on the export list" in body
    assert "No export approval recorded yet" in body
    approve(cast, request, bodies=("ethics_committee", "export"))
    body = client.get(_detail(request)).content.decode()
    assert "export-2026-01" in body and "the MTA states the export approval" in body
    blood = new_request(cast, destination_country="US", destination_institution="NIH")
    body = client.get(_detail(blood)).content.decode()
    assert "WHOLE_BLOOD not on the export list" in body
