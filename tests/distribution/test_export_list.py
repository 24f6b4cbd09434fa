"""The export list a biobank edits (HB-05): the standard derivatives loaded by the data
migration, a biobank's additions and strikings, enforced at approval and eligibility, audited,
and the page for distribution.review holders."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import AuditEvent
from biobank.distribution import services
from biobank.distribution.models import ExportListEntry
from tests.distribution.conftest import approve, new_request

STANDARD = {"DNA", "RNA", "MICRO_RNA", "CDNA", "PROTEIN"}


def _dna_abroad(cast):
    return new_request(
        cast, destination_country="JP", destination_institution="Kyoto U",
        material_types=["DNA"], quantity_per_specimen=None, unit="",
    )  # fmt: skip


def test_hb05_the_standard_list_is_loaded_from_the_data_file(cast):
    assert services.export_list_codes(cast.demo) == STANDARD
    assert services.export_list_codes(cast.other) == STANDARD
    assert not ExportListEntry.objects.filter(organization__isnull=True, listed=False).exists()


def test_hb05_a_biobank_adds_a_derivative_for_itself_only(cast):
    entry = services.export_entry_add(
        actor=cast.manager, organization=cast.demo, material_type="EXOSOMES", note="MOHW letter"
    )
    assert entry is not None and entry.organization == cast.demo
    assert services.export_list_codes(cast.demo) == STANDARD | {"EXOSOMES"}
    assert services.export_list_codes(cast.other) == STANDARD  # another biobank's list stays
    event = AuditEvent.objects.get(object_type="distribution.exportlistentry")
    assert (event.actor, event.action, event.reason) == (cast.manager, "create", "MOHW letter")
    with pytest.raises(ApplicationError):
        services.export_entry_add(actor=cast.manager, organization=cast.demo, material_type="DNA")


@pytest.mark.parametrize("code", ["WHOLE_BLOOD", "TISSUE_FROZEN", "URINE", "ANIMAL_SERUM"])
def test_hb05_a_specimen_as_collected_never_goes_on_the_list(cast, code):
    with pytest.raises(ApplicationError) as refused:
        services.export_entry_add(actor=cast.manager, organization=cast.demo, material_type=code)
    assert refused.value.rule == "HB-05"
    assert services.export_list_codes(cast.demo) == STANDARD


def test_hb05_striking_dna_off_stops_dna_going_abroad_until_it_is_put_back(cast, stock):
    # Given a request for DNA to Kyoto with the export approval
    request = _dna_abroad(cast)
    assert services.eligibility_summary(request).eligible == 0  # no export approval yet
    # When the biobank strikes DNA off its export list
    services.export_entry_remove(
        actor=cast.manager, organization=cast.demo, material_type="DNA", reason="policy"
    )
    assert "DNA" not in services.export_list_codes(cast.demo)
    # Then the request is not approved, and no DNA is eligible (HB-05)
    with pytest.raises(ApplicationError) as refused:
        approve(cast, request, bodies=("ethics_committee", "export"))
    assert refused.value.rule == "HB-05" and "DNA" in refused.value.message
    summary = services.eligibility_summary(request)
    assert summary.eligible == 0 and summary.by_reason[0][:2] == ("destination", "HB-05")
    # When it puts DNA back, the same request is approved and its DNA is eligible
    assert (
        services.export_entry_add(actor=cast.manager, organization=cast.demo, material_type="DNA")
        is None
    )
    services.request_approve(actor=cast.manager, request=request)
    assert services.eligibility_summary(request).eligible == 4
    struck = ExportListEntry.objects.get(organization=cast.demo)
    assert struck.retired_at is not None and struck.retired_by == cast.manager
    actions = list(
        AuditEvent.objects.filter(object_type="distribution.exportlistentry")
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "retire"]


def test_hb05_an_added_type_is_retired_when_removed(cast):
    services.export_entry_add(actor=cast.manager, organization=cast.demo, material_type="EXOSOMES")
    services.export_entry_remove(
        actor=cast.manager, organization=cast.demo, material_type="EXOSOMES", reason="no longer"
    )
    assert services.export_list_codes(cast.demo) == STANDARD
    assert ExportListEntry.objects.filter(organization=cast.demo, retired_at__isnull=False).count()
    with pytest.raises(ApplicationError):
        services.export_entry_remove(
            actor=cast.manager, organization=cast.demo, material_type="EXOSOMES", reason="again"
        )
    with pytest.raises(ApplicationError):
        services.export_entry_remove(
            actor=cast.manager, organization=cast.demo, material_type="DNA", reason=" "
        )


def test_hb05_only_reviewers_edit_the_export_list(cast):
    for person in (cast.technician, cast.researcher, cast.outsider):
        with pytest.raises(PermissionDenied):
            services.export_entry_add(actor=person, organization=cast.demo, material_type="CDNA")
    with pytest.raises(PermissionDenied):
        services.export_entry_remove(
            actor=cast.technician, organization=cast.demo, material_type="DNA", reason="x"
        )
    assert services.export_entry_add(
        actor=cast.irb_admin, organization=cast.demo, material_type="EXOSOMES"
    )


# The page ------------------------------------------------------------------------------------


@pytest.fixture
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def test_hb05_reviewer_edits_the_export_list_on_its_page(cast, client, english):
    url = reverse("distribution:export-list")
    client.force_login(cast.manager)
    body = client.get(url).content.decode()
    assert "Export list" in body and "standard list" in body and "DNA" in body
    assert "Add to the export list" in body
    response = client.post(
        url, {"organization": "DEMO", "action": "add", "material_type": "EXOSOMES"}, follow=True
    )
    body = response.content.decode()
    assert "Export list saved." in body and "added by this biobank" in body
    response = client.post(
        url,
        {"organization": "DEMO", "action": "remove", "material_type": "PROTEIN", "reason": "x"},
        follow=True,
    )
    assert "struck off by this biobank" in response.content.decode()
    assert services.export_list_codes(cast.demo) == (STANDARD - {"PROTEIN"}) | {"EXOSOMES"}
    refused = client.post(
        url, {"organization": "DEMO", "action": "add", "material_type": "WHOLE_BLOOD"}, follow=True
    )
    assert "specimens may not leave Taiwan" in refused.content.decode()
    assert "(HB-05)" in refused.content.decode()


def test_hb05_viewers_read_the_list_without_editing_it(cast, client, english):
    url = reverse("distribution:export-list")
    client.force_login(cast.technician)
    body = client.get(url).content.decode()
    assert "DNA" in body and "Add to the export list" not in body
    response = client.post(
        url, {"organization": "DEMO", "action": "add", "material_type": "EXOSOMES"}, follow=True
    )
    assert "distribution.review" in response.content.decode()
    assert services.export_list_codes(cast.demo) == STANDARD


def test_another_organizations_export_list_answers_404(cast, client):
    services.export_entry_add(
        actor=cast.outsider, organization=cast.other, material_type="EXOSOMES"
    )
    client.force_login(cast.manager)
    url = reverse("distribution:export-list")
    assert client.get(url, {"organization": "OTHER"}).status_code == 404
    posted = client.post(
        url, {"organization": "OTHER", "action": "remove", "material_type": "DNA", "reason": "x"}
    )
    assert posted.status_code == 404
    assert services.export_list_codes(cast.other) == STANDARD | {"EXOSOMES"}
    client.force_login(cast.researcher)  # no distribution.view anywhere
    assert client.get(url).status_code == 404


def test_request_page_lists_the_biobanks_own_export_list(cast, client, stock, english):
    services.export_entry_remove(
        actor=cast.manager, organization=cast.demo, material_type="PROTEIN", reason="x"
    )
    request = _dna_abroad(cast)
    client.force_login(cast.manager)
    body = client.get(
        reverse("distribution:request-detail", kwargs={"public_id": request.public_id})
    ).content.decode()
    export = body[body.index("Export abroad") :]
    assert 'title="DNA"' in export and 'title="PROTEIN"' not in export
    assert "Edit the export list" in export
