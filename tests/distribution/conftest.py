"""Shared set-up for distribution tests: consenting participants with whole blood and DNA in a
box, and a helper that walks a request through review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from biobank.distribution import services
from biobank.distribution.models import DistributionRequest
from biobank.participants import rules as consent_rules
from biobank.participants import services as participant_services
from biobank.participants.models import Participant
from biobank.specimens.models import Specimen
from biobank.specimens.services import specimens as specimen_services
from biobank.storage import services as storage_services
from biobank.storage.models import StorageUnit
from tests.participants.conftest import general_form  # noqa: F401 (fixture)

D = Decimal


@pytest.fixture(autouse=True)
def standard_export_list(request: pytest.FixtureRequest) -> None:
    """The standard export list the data migration loads (HB-05), loaded again when a
    transactional test elsewhere emptied the tables (as the root conftest does for the
    reference data it knows)."""
    names = set(request.fixturenames)
    marker = request.node.get_closest_marker("django_db")
    if {"transactional_db", "live_server"} & names or (
        marker is not None and marker.kwargs.get("transaction", False)
    ):
        request.getfixturevalue("transactional_db")
    elif "db" in names or marker is not None:
        request.getfixturevalue("db")
    else:
        return  # the rules' tests touch no database
    import importlib

    from django.apps import apps

    from biobank.distribution.models import ExportListEntry

    if not ExportListEntry.objects.filter(organization__isnull=True).exists():
        migration = importlib.import_module("biobank.distribution.migrations.0005_load_export_list")
        migration.load(apps, None)


@pytest.fixture
def mail_in_english(settings) -> None:
    """E-mail is written in the recipient's language: the site's default (zh-hant) while the
    user model records none. English here, so that subjects can be matched."""
    settings.LANGUAGE_CODE = "en"


@dataclass
class Stock:
    participants: list[Participant]
    blood: list[Specimen]
    dna: list[Specimen]
    box: StorageUnit


def _participant(cast, form, code: str, **consent) -> Participant:
    participant = participant_services.participant_register(
        actor=cast.technician, organization=cast.demo, code=code, birth_year=1970
    )
    participant_services.consent_record(
        actor=cast.technician,
        participant=participant,
        form=form,
        signed_on=date(2024, 4, 2),
        capacity="adult",
        signed_by="participant",
        permissions=consent.pop("permissions", [consent_rules.GRU]),
        **consent,
    )
    return participant


@pytest.fixture
def stock(cast, general_form) -> Stock:  # noqa: F811
    """Four consenting participants, each with 10 mL whole blood and 20 µg DNA, all in box A."""
    room = storage_services.unit_create(
        actor=cast.manager, organization=cast.demo, barcode="ROOM", name="Room", kind="room"
    )
    freezer = storage_services.unit_create(
        actor=cast.manager,
        organization=cast.demo,
        barcode="F-80",
        name="Freezer",
        kind="freezer",
        parent=room,
        set_point_c=D("-80"),
    )
    box = storage_services.unit_create(
        actor=cast.manager,
        organization=cast.demo,
        barcode="BOX-A",
        name="Box A",
        kind="box",
        parent=freezer,
        rows=9,
        columns=9,
    )
    participants, blood, dna = [], [], []
    positions = iter(f"{row}{col}" for row in "ABCDEFGHI" for col in range(1, 10))
    for n in range(4):
        participant = _participant(cast, general_form, f"DM{n + 1:04d}")
        tube = specimen_services.specimen_register(
            actor=cast.technician,
            organization=cast.demo,
            material_type="WHOLE_BLOOD",
            quantity=D("10"),
            unit="mL",
            participant=participant,
            barcode=f"WB-{n + 1}",
            status=Specimen.Status.AVAILABLE,
            collected_at=timezone.now() - timedelta(days=30),
        )
        extracted = specimen_services.specimen_derive(
            actor=cast.technician,
            parent=tube,
            material_type="DNA",
            quantity_taken=D("1"),
            quantities=[D("20")],
            unit="µg",
            barcodes=[f"DNA-{n + 1}"],
        )[0]
        # placed in reverse order so that storage order differs from barcode order
        participants.append(participant)
        blood.append(tube)
        dna.append(extracted)
    for specimen in reversed(blood + dna):
        storage_services.specimen_place(
            actor=cast.technician, specimen=specimen, unit=box, position=next(positions)
        )
    return Stock(participants, blood, dna, box)


def new_request(cast, **overrides) -> DistributionRequest:
    fields = {
        "actor": cast.researcher,
        "organization": cast.demo,
        "requester_institution": "示範大學醫學院",
        "title": "Type 2 diabetes biomarkers",
        "purpose": "Plasma biomarkers of type 2 diabetes",
        "purposes": [consent_rules.HMB],
        "irb_reference": "UNIV-IRB-2025-001",
        "irb_committee": "示範大學人體研究倫理審查委員會",
        "irb_valid_from": date(2025, 1, 1),
        "irb_valid_until": date(2030, 12, 31),
        "destination_institution": "示範大學醫學院",
        "destination_country": "TW",
        "material_types": ["WHOLE_BLOOD"],
        "quantity_per_specimen": D("2"),
        "unit": "mL",
    }
    fields.update(overrides)
    return services.request_create(**fields)


def approve(cast, request: DistributionRequest, *, bodies=("ethics_committee",)) -> None:
    """Submit, record the approvals and the MTA, and approve."""
    request.refresh_from_db()
    if request.status == "draft":
        services.request_submit(actor=cast.researcher, request=request)
    for body in bodies:
        services.approval_record(
            actor=cast.manager,
            request=request,
            body=body,
            decision="approved",
            decided_on=date(2026, 1, 5),
            reference=f"{body}-2026-01",
        )
    services.agreement_record(
        actor=cast.manager,
        request=request,
        terms="Use for the approved study only; export approval written in (HB-05).",
        signed_on=date(2026, 1, 6),
        recipient_signatory="黃建國",
    )
    services.request_approve(actor=cast.manager, request=request)
    request.refresh_from_db()
