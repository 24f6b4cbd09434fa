"""The demo's distribution stories: fulfilled, blocked by consent, DNA exported with approval."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from biobank.distribution import services
from biobank.distribution.models import DistributionRequest, LedgerEntry


@pytest.mark.django_db
def test_demo_has_a_fulfilled_a_consent_blocked_and_an_export_request():
    call_command("demo")
    fulfilled, blocked, export = DistributionRequest.objects.order_by("code")
    assert fulfilled.status == "received"
    assert LedgerEntry.objects.filter(request=fulfilled, direction="given", specimens=20).exists()
    summary = services.eligibility(blocked).summary
    assert summary.eligible == 0
    assert summary.by_reason[0][:2] == ("consent", "HB-04")
    assert export.destination_country == "JP"
    assert export.approvals.filter(body="export", decision="approved").exists()
    assert export.items.count() == 10
    call_command("demo")  # idempotent
    assert DistributionRequest.objects.count() == 3
