"""Specimen use cases: registration, visits, events, lineage, withdrawal, destruction."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import AuditEvent, Obligation
from biobank.participants import services as participant_services
from biobank.participants.rules import GRU, HMB, ProposedUse
from biobank.specimens.models import Lineage, Specimen, SpecimenEvent
from biobank.specimens.services import collections as collection_services
from biobank.specimens.services import specimens as services
from tests.specimens.conftest import blood

D = Decimal


def test_bb02_registration_records_the_collection_event_and_numbers_the_barcode(cast, consenting):
    specimen = blood(cast, consenting)
    assert specimen.barcode == "DEMO-00000001"
    assert specimen.acquired_type == specimen.material_type  # acquired as stored (BB-04)
    event = specimen.events.get()
    assert (event.activity, event.by) == ("collection", cast.technician)
    assert AuditEvent.objects.filter(object_type="specimens.specimen", object_id=str(specimen.pk))


def test_barcodes_are_unique_in_the_organization(cast, consenting):
    blood(cast, consenting, barcode="TUBE-1")
    with pytest.raises(ApplicationError, match="TUBE-1"):
        blood(cast, consenting, barcode="TUBE-1")


def test_the_database_holds_one_barcode_per_organization(cast, consenting):
    specimen = blood(cast, consenting, barcode="TUBE-2")
    with pytest.raises(IntegrityError), transaction.atomic():
        Specimen.objects.create(
            organization=cast.demo,
            barcode="TUBE-2",
            material_type=specimen.material_type,
            acquired_type=specimen.material_type,
            category_id="human",
            quantity=1,
            remaining=1,
            unit="mL",
        )


def test_bb04_the_database_never_holds_a_negative_remaining(cast, consenting):
    specimen = blood(cast, consenting)
    with pytest.raises(IntegrityError), transaction.atomic():
        Specimen.objects.filter(pk=specimen.pk).update(remaining=D("-1"))


def test_hb02_human_material_needs_a_consenting_participant(cast):
    participant = participant_services.participant_register(
        actor=cast.technician, organization=cast.demo
    )
    with pytest.raises(ApplicationError) as error:
        blood(cast, participant)
    assert error.value.rule == "HB-02"


def test_bb03_non_human_material_names_its_source_organism(cast):
    with pytest.raises(ApplicationError) as error:
        services.specimen_register(
            actor=cast.technician,
            organization=cast.demo,
            material_type="SEED",
            quantity=D("50"),
            unit="g",
        )
    assert error.value.rule == "BB-03"
    seed = services.specimen_register(
        actor=cast.technician,
        organization=cast.demo,
        material_type="SEED",
        quantity=D("50"),
        unit="g",
        source_organism="Oryza sativa",
        source_strain="台農67號",
    )
    assert seed.category_id == "plant"
    assert seed.events.get().activity == "acquisition"


def test_bb04_aliquots_conserve_quantity_and_deplete_the_parent(cast, consenting):
    parent = blood(cast, consenting, quantity="1")
    children = services.specimen_aliquot(
        actor=cast.technician, parent=parent, count=4, quantity_each=D("0.25")
    )
    parent.refresh_from_db()
    assert [c.quantity for c in children] == [D("0.25")] * 4
    assert (parent.remaining, parent.status) == (D("0"), "depleted")
    assert all(
        c.participant == consenting and c.material_type == parent.material_type for c in children
    )
    assert sum(e.quantity_taken for e in Lineage.objects.filter(parent=parent)) == D("1")


def test_bb04_taking_more_than_remains_is_refused_and_nothing_is_written(cast, consenting):
    parent = blood(cast, consenting, quantity="1")
    before = Specimen.objects.count()
    with pytest.raises(ApplicationError) as error:
        services.specimen_aliquot(
            actor=cast.technician, parent=parent, count=3, quantity_each=D("0.5")
        )
    assert error.value.rule == "BB-04"
    parent.refresh_from_db()
    assert (Specimen.objects.count(), parent.remaining) == (before, D("1"))


def test_bb04_derivatives_change_the_material_and_keep_the_acquired_form(cast, consenting):
    whole = blood(cast, consenting)
    plasma = services.specimen_derive(
        actor=cast.technician,
        parent=whole,
        material_type="PLASMA",
        quantity_taken=D("5"),
        quantities=[D("1"), D("1")],
        unit="mL",
        parameters={
            "method": "centrifugation",
            "centrifugation": {"g": 2000, "minutes": 10, "temperature_c": 4},
        },
    )
    assert [p.material_type.code for p in plasma] == ["PLASMA", "PLASMA"]
    assert plasma[0].acquired_type.code == "WHOLE_BLOOD"  # acquired as whole blood (BB-04)
    dna = services.specimen_derive(
        actor=cast.technician,
        parent=plasma[0],
        material_type="DNA",
        quantity_taken=D("0.5"),
        quantities=[D("10")],
        unit="µg",
    )[0]
    assert dna.acquired_type.code == "WHOLE_BLOOD"
    whole.refresh_from_db()
    assert whole.remaining == D("5")


def test_bb04_pool_joins_parents_of_one_type(cast, consenting):
    a, b = (
        services.specimen_register(
            actor=cast.technician,
            organization=cast.demo,
            material_type="SEED",
            quantity=D("10"),
            unit="g",
            source_organism="Oryza sativa",
        )
        for _ in range(2)
    )
    pooled = services.specimen_pool(
        actor=cast.technician, parents=[(a, D("4")), (b, D("6"))], quantity=D("10")
    )
    assert sorted(e.parent_id for e in pooled.parent_links.all()) == sorted([a.pk, b.pk])
    a.refresh_from_db()
    assert a.remaining == D("6")
    with pytest.raises(ApplicationError):
        services.specimen_pool(actor=cast.technician, parents=[(a, D("1"))], quantity=D("1"))


def test_events_validate_their_parameters_and_count_thaws(cast, consenting):
    specimen = blood(cast, consenting)
    now = timezone.now()
    with pytest.raises(ApplicationError) as error:
        services.specimen_event_record(
            actor=cast.technician,
            specimen=specimen,
            activity="storage",
            at=now,
            parameters={"temperature_c": "very cold"},
        )
    assert error.value.rule == "BB-02"
    services.specimen_event_record(
        actor=cast.technician, specimen=specimen, activity="thaw", at=now
    )
    specimen.refresh_from_db()
    assert specimen.freeze_thaw_count == 1
    with pytest.raises(ApplicationError):
        services.specimen_event_record(
            actor=cast.technician, specimen=specimen, activity="thaw", at=now + timedelta(days=1)
        )


def test_bb02_sprec_is_derived_from_the_recorded_events(cast, consenting):
    collected = timezone.now() - timedelta(hours=3)
    whole = blood(cast, consenting, collected_at=collected, parameters={"primary_container": "PED"})
    plasma = services.specimen_derive(
        actor=cast.technician,
        parent=whole,
        material_type="PLASMA",
        quantity_taken=D("2"),
        quantities=[D("1")],
        unit="mL",
        at=collected + timedelta(minutes=45),
        parameters={
            "method": "centrifugation",
            "centrifugation": {"g": 2000, "minutes": 10, "temperature_c": 4, "braking": True},
            "postcentrifugation_minutes": 30,
            "postcentrifugation_temperature_c": 4,
        },
    )[0]
    services.specimen_event_record(
        actor=cast.technician,
        specimen=plasma,
        activity="storage",
        at=collected + timedelta(minutes=90),
        parameters={"temperature_c": -80, "storage_kind": "polypropylene cryotube"},
    )
    plasma.refresh_from_db()
    assert plasma.sprec.startswith("PL1-PED-")
    assert plasma.sprec.endswith("-D-N-A-D")


def test_hb03_withdrawal_blocks_the_participants_specimens_and_lists_them_for_destruction(
    cast, consenting
):
    whole = blood(cast, consenting)
    aliquots = services.specimen_aliquot(
        actor=cast.technician, parent=whole, count=2, quantity_each=D("1")
    )
    kept = aliquots[0].barcode
    preview = participant_services.withdrawal_preview(consenting, [kept])
    assert sorted(i.key for i in preview.destroy) == sorted([whole.barcode, aliquots[1].barcode])
    participant_services.consent_withdraw(
        actor=cast.manager,
        participant=consenting,
        on=timezone.localdate(),
        kept_by_agreement=[kept],
    )
    aliquots[1].refresh_from_db()
    decision = services.specimen_use_check(aliquots[1])
    assert (decision.allowed, decision.rule) == (False, "HB-03")
    with pytest.raises(ApplicationError) as error:
        services.specimen_aliquot(
            actor=cast.technician, parent=aliquots[1], count=1, quantity_each=D("0.1")
        )
    assert error.value.rule == "HB-03"
    destroy = Obligation.objects.filter(rule_id="HB-03", subject_type="withdrawal.destroy")
    assert sorted(destroy.values_list("subject_id", flat=True)) == sorted(
        [whole.barcode, aliquots[1].barcode]
    )
    # each specimen's block is in the audit trail, by the person who recorded the withdrawal
    blocked = AuditEvent.objects.filter(
        object_type="specimens.specimen", reason__contains="withdrew (HB-03)"
    )
    assert sorted(blocked.values_list("object_repr", flat=True)) == sorted(
        [whole.barcode, *(a.barcode for a in aliquots)]
    )
    assert set(blocked.values_list("actor_id", flat=True)) == {cast.manager.pk}
    assert all(e.after == {"consent_withdrawn": True} for e in blocked)


def test_hb01_delinking_marks_the_material_delinked_and_hb03_keeps_it(cast, consenting):
    specimen = blood(cast, consenting)
    participant_services.participant_delink(
        actor=cast.manager, participant=consenting, reason="asked"
    )
    specimen.refresh_from_db()
    assert specimen.delinked
    effects = participant_services.withdrawal_preview(consenting)
    assert [(item.key, why) for item, why in effects.keep] == [(specimen.barcode, "delinked")]


def test_hb04_use_check_follows_the_participants_consent(cast, consenting):
    specimen = blood(cast, consenting)
    services.specimen_event_record(
        actor=cast.technician,
        specimen=specimen,
        activity="storage",
        at=timezone.now(),
        parameters={"temperature_c": -80},
    )
    specimen.refresh_from_db()
    assert specimen.status == "available"
    assert services.specimen_use_check(
        specimen, ProposedUse(purposes=frozenset({HMB}), on=date.today())
    )
    commercial = ProposedUse(purposes=frozenset({GRU}), on=date.today(), commercial=True)
    assert not services.specimen_use_check(specimen, commercial)


def test_destruction_is_an_event_and_needs_the_right(cast, consenting):
    specimen = blood(cast, consenting)
    with pytest.raises(PermissionDenied):
        services.specimen_destroy(
            actor=cast.technician, specimen=specimen, method="autoclave", reason="expired"
        )
    services.specimen_destroy(
        actor=cast.biosafety, specimen=specimen, method="autoclave", reason="consent period ended"
    )
    specimen.refresh_from_db()
    assert (specimen.status, specimen.remaining) == ("destroyed", D("0"))
    assert specimen.events.filter(activity=SpecimenEvent.Activity.DESTRUCTION).exists()


def test_a_biobank_adds_its_own_material_type_mapped_to_a_standard_one(cast):
    local = collection_services.material_type_add(
        actor=cast.manager,
        organization=cast.demo,
        code="D01-PL-EDTA",
        label_en="EDTA plasma",
        label_zh="EDTA 血漿",
        maps_to="PLASMA",
    )
    assert (local.maps_to.code, local.category_id) == ("PLASMA", "human")
    with pytest.raises(ApplicationError):
        collection_services.material_type_add(
            actor=cast.manager,
            organization=cast.demo,
            code="X",
            label_en="x",
            label_zh="x",
            maps_to="NO_SUCH_TYPE",
        )


def test_bb01_associated_data_is_validated_against_the_collections_definition(cast, consenting):
    from biobank.specimens.services import data as data_services

    cohort = collection_services.collection_create(
        actor=cast.manager, organization=cast.demo, code="C1", name="c", principal_investigator="p"
    )
    hba1c = collection_services.data_field_define(
        actor=cast.manager, collection=cohort, key="hba1c", label="HbA1c", type="decimal", unit="%"
    )
    fasting = collection_services.data_field_define(
        actor=cast.manager, collection=cohort, key="fasting", label="fasting", type="boolean"
    )
    diagnosis = collection_services.data_field_define(
        actor=cast.manager,
        collection=cohort,
        key="diagnosis",
        label="dx",
        type="code",
        pattern=r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$",
        applies_to="participant",
    )
    specimen = blood(cast, consenting, collection=cohort)
    assert (
        data_services.data_value_set(
            actor=cast.technician, field=hba1c, value=" 7.20 ", specimen=specimen
        ).value
        == "7.2"
    )
    assert (
        data_services.data_value_set(
            actor=cast.technician, field=fasting, value="是", specimen=specimen
        ).value
        == "true"
    )
    with pytest.raises(ApplicationError) as error:
        data_services.data_value_set(
            actor=cast.technician, field=hba1c, value="high", specimen=specimen
        )
    assert error.value.rule == "BB-01"
    with pytest.raises(ApplicationError):
        data_services.data_value_set(
            actor=cast.technician, field=diagnosis, value="diabetes", participant=consenting
        )
    assert (
        data_services.data_value_set(
            actor=cast.technician, field=diagnosis, value="E11.9", participant=consenting
        ).value
        == "E11.9"
    )
    with pytest.raises(ApplicationError):  # a participant field is not set on a specimen
        data_services.data_value_set(
            actor=cast.technician, field=diagnosis, value="E11", specimen=specimen
        )
    result = data_services.test_result_record(
        actor=cast.technician,
        specimen=specimen,
        analyte="glucose",
        value="126",
        unit="mg/dL",
        performed_on=date(2025, 1, 6),
        method="hexokinase",
    )
    assert result.numeric_value == D("126")


def test_bb03_own_material_types_are_added_on_the_collections_page(cast, client):
    client.force_login(cast.manager)
    response = client.post(
        "/specimens/collections/",
        {
            "type-code": "D01-SER",
            "type-label_zh": "血清（D01）",
            "type-label_en": "Serum (D01)",
            "type-maps_to": "SERUM",
        },
    )
    assert response.status_code == 302
    assert "D01-SER" in client.get("/specimens/collections/").content.decode()


def test_participant_page_lists_their_specimens(cast, consenting, client):
    specimen = blood(cast, consenting)
    client.force_login(cast.technician)
    body = client.get(f"/participants/{consenting.public_id}/").content.decode()
    assert specimen.barcode in body


def test_bb01_extracted_dna_carries_its_concentration(cast, consenting):
    whole = blood(cast, consenting)
    (dna,) = services.specimen_derive(
        actor=cast.technician,
        parent=whole,
        material_type="DNA",
        quantity_taken=D("1"),
        quantities=[D("20")],
        unit="µg",
        concentration=D("48.5"),
        concentration_unit="ng/µL",
    )
    dna.refresh_from_db()
    assert (dna.concentration, dna.concentration_unit) == (D("48.5"), "ng/µL")
    with pytest.raises(ApplicationError):
        services.specimen_derive(
            actor=cast.technician,
            parent=whole,
            material_type="DNA",
            quantity_taken=D("1"),
            quantities=[D("20")],
            unit="µg",
            concentration=D("5"),
        )
