"""The reciprocity ledger (seed 003): every fulfilled request adds what was given (specimens,
data records) for the biobank and what was received for a requesting organization on the
platform; a page and the API read it, per organization."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from biobank.core.models import AuditEvent
from biobank.distribution import selectors, services
from biobank.distribution.models import LedgerEntry
from tests.distribution.conftest import approve, new_request


def _fulfil(cast, request, barcodes):
    services.request_submit(actor=request.requester, request=request)
    approve(cast, request, bodies=("ethics_committee", "central_authority"))
    services.request_reserve(actor=cast.technician, request=request, barcodes=barcodes)
    shipment = services.shipment_create(
        actor=cast.technician, request=request, temperature="ambient", courier="c",
        tracking_number="t",
    )  # fmt: skip
    services.data_release(actor=cast.technician, request=request)
    return shipment


def test_seed003_a_fulfilled_request_adds_what_was_given(cast, stock):
    request = new_request(cast, quantity_per_specimen=None, unit="", data_fields=["hba1c"])
    _fulfil(cast, request, ["WB-1", "WB-2", "WB-3"])
    entries = list(LedgerEntry.objects.filter(request=request).order_by("pk"))
    assert [(e.organization, e.direction, e.specimens, e.data_records) for e in entries] == [
        (cast.demo, "given", 3, 0),
        (cast.demo, "given", 0, 3),
    ]
    assert entries[0].counterpart == "示範大學醫學院"
    assert entries[0].counterpart_organization is None  # the requester has no other biobank
    assert AuditEvent.objects.filter(object_type="distribution.ledgerentry").count() == 2


def test_seed003_a_requester_of_another_organization_receives(cast, stock):
    # Given a request filed by DEMO's manager for the outsider, a member of OTHER
    request = new_request(
        cast, actor=cast.manager, requester=cast.outsider, quantity_per_specimen=None, unit="",
        data_fields=["hba1c"], destination_institution="他院研究所",
    )  # fmt: skip
    _fulfil(cast, request, ["WB-1", "WB-2"])
    # Then DEMO gave and OTHER received, specimens and data records alike
    given = LedgerEntry.objects.filter(organization=cast.demo, direction="given")
    received = LedgerEntry.objects.filter(organization=cast.other, direction="received")
    assert sorted((e.specimens, e.data_records) for e in given) == [(0, 2), (2, 0)]
    assert sorted((e.specimens, e.data_records) for e in received) == [(0, 2), (2, 0)]
    assert {e.counterpart_organization for e in given} == {cast.other}
    assert {(e.counterpart, e.counterpart_organization) for e in received} == {("DEMO", cast.demo)}
    # and each organization reads its own side only
    demo_side = selectors.ledger_balances_for_user(cast.manager)
    assert [(b.organization, b.given_specimens, b.given_data_records) for b in demo_side] == [
        ("DEMO", 2, 2)
    ]
    (other_side,) = selectors.ledger_balances_for_user(cast.outsider)
    assert (other_side.organization, other_side.counterpart) == ("OTHER", "DEMO")
    assert (other_side.received_specimens, other_side.received_data_records) == (2, 2)
    assert other_side.given_specimens == 0 and other_side.requests == 1


def test_seed003_nothing_is_added_before_anything_leaves(cast, stock):
    request = new_request(cast)
    approve(cast, request)
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-1"])
    services.request_cancel(actor=cast.manager, request=request, reason="withdrawn")
    assert not LedgerEntry.objects.exists()


@pytest.fixture
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def test_seed003_ledger_page_shows_balances_and_entries(cast, client, stock, english):
    request = new_request(
        cast, actor=cast.manager, requester=cast.outsider, quantity_per_specimen=None, unit="",
        data_fields=["hba1c"], destination_institution="他院研究所",
    )  # fmt: skip
    _fulfil(cast, request, ["WB-1"])
    client.force_login(cast.manager)
    body = client.get(reverse("distribution:ledger")).content.decode()
    assert "Balance by counterpart" in body and 'class="ledger-balances"' in body
    assert request.code in body and "他院研究所" in body
    client.force_login(cast.outsider)
    body = client.get(reverse("distribution:ledger")).content.decode()
    assert "OTHER" in body and "received" in body and "DEMO" in body


def test_ledger_page_runs_a_fixed_number_of_queries(
    cast, client, stock, django_assert_max_num_queries
):
    for barcodes in (["WB-1"], ["WB-2"], ["WB-3"]):
        request = new_request(cast, quantity_per_specimen=None, unit="", data_fields=["hba1c"])
        _fulfil(cast, request, barcodes)
    client.force_login(cast.manager)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("distribution:ledger"))
    assert response.content.decode().count("DR-") == 6
