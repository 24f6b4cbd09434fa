"""Candidate selection at scale: counts by reason from grouped queries (the same decisions as
judging each specimen), candidates a page at a time, reservation in batches."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from biobank.distribution import services
from biobank.distribution.services import fulfilment, selection
from biobank.participants import services as participant_services
from biobank.specimens.models import Specimen
from tests.distribution.conftest import approve, new_request

D = Decimal


@pytest.fixture
def mixed(cast, stock):
    """The stock with a tube on hold, a participant withdrawn, a tube reserved elsewhere."""
    Specimen.objects.filter(barcode="WB-2").update(on_hold=True)
    participant_services.consent_withdraw(
        actor=cast.manager, participant=stock.participants[2], on=timezone.localdate()
    )
    other = new_request(cast, title="Other study")
    approve(cast, other)
    services.request_reserve(actor=cast.technician, request=other, barcodes=["WB-4"])
    return stock


REQUESTS = {
    "whole blood": {},
    "not enough left": {"quantity_per_specimen": D("9.5")},
    "commercial": {"commercial": True},
    "DNA abroad": {
        "material_types": ["DNA"],
        "quantity_per_specimen": D("5"),
        "unit": "µg",
        "destination_country": "JP",
    },
    "everything, IRB expired": {
        "material_types": [],
        "quantity_per_specimen": None,
        "irb_valid_from": date(2020, 1, 1),
        "irb_valid_until": date(2021, 1, 1),
    },
    "everything abroad": {"material_types": [], "quantity_per_specimen": None, "unit": "",
                          "destination_country": "US"},
}  # fmt: skip


@pytest.mark.parametrize("name", list(REQUESTS))
def test_grouped_summary_equals_judging_each_specimen(cast, mixed, name):
    request = new_request(cast, **REQUESTS[name])
    assert services.eligibility_summary(request) == services.eligibility(request).summary


def test_grouped_summary_with_the_export_approval_counts_dna_abroad(cast, mixed):
    request = new_request(cast, **REQUESTS["everything abroad"])
    approve(cast, request, bodies=("ethics_committee", "export"))
    summary = services.eligibility_summary(request)
    assert summary == services.eligibility(request).summary
    assert summary.eligible == 3  # DNA of the three participants who did not withdraw
    assert ("destination", "HB-05") in {(key, rule) for key, rule, *_ in summary.by_reason}


def test_grouped_summary_reads_a_fixed_number_of_queries(
    cast, mixed, django_assert_max_num_queries
):
    request = new_request(cast, material_types=[], quantity_per_specimen=None)
    with django_assert_max_num_queries(10):
        services.eligibility_summary(request)


def test_candidates_come_a_page_at_a_time_with_their_decisions(cast, mixed):
    request = new_request(cast, material_types=[], quantity_per_specimen=None)
    first = services.candidate_page(request, number=1, size=3)
    assert first.page.paginator.count == 8  # WB-4, reserved elsewhere, shows with its reason
    assert [s.barcode for s, _d in first.decisions] == ["DNA-1", "DNA-2", "DNA-3"]
    third = services.candidate_page(request, number=3, size=3)
    assert [s.barcode for s, _d in third.decisions] == ["WB-3", "WB-4"]
    assert [d.rule for _s, d in third.decisions] == ["HB-03", "BB-02"]
    assert services.candidate_page(request, number="nonsense", size=3).page.number == 1
    reasons = {s.barcode: d.rule for s, d in services.candidate_page(request, size=10).decisions}
    assert reasons["DNA-3"] == "HB-03"


def test_reservation_walks_the_candidates_in_batches(cast, stock, monkeypatch):
    monkeypatch.setattr(fulfilment, "RESERVE_BATCH", 1)
    request = new_request(cast, material_types=[], quantity_per_specimen=None, unit="",
                          participants_wanted=3)  # fmt: skip
    approve(cast, request)
    items = services.request_reserve(actor=cast.technician, request=request)
    # one per participant, in barcode order: DNA-1, DNA-2, DNA-3
    assert [i.specimen.barcode for i in items] == ["DNA-1", "DNA-2", "DNA-3"]


def test_consents_are_read_in_batches(cast, mixed, monkeypatch):
    monkeypatch.setattr(selection, "CONSENT_BATCH", 1)
    request = new_request(cast)
    assert services.eligibility_summary(request) == services.eligibility(request).summary
