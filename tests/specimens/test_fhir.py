"""The HL7 FHIR R4 Specimen export (GET /api/v1/specimens/{barcode}/fhir).

BB-01: a specimen is material *and* its associated data, and the two travel together: the export
carries what the material is (type, quantity, what remains, its parents) with the data recorded
about it (processing events, SPREC code, collection). The subject is the participant's code,
never a name or a national ID (HB-01).

Every resource is validated with fhir.resources' R4B model, whose Specimen is the R4 one (see
../shared/vectors/fhir/README.md); the R4 examples there are validated the same way first.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from fhir.resources.R4B.specimen import Specimen as FhirSpecimen

from biobank.core import services as core_services
from biobank.participants import rules as consent_rules
from biobank.participants import services as participant_services
from biobank.participants.models import Participant
from biobank.participants.vault import Identity
from biobank.specimens.fhir import MATERIAL_SYSTEM
from biobank.specimens.models import Specimen
from biobank.specimens.services import collections as collection_services
from biobank.specimens.services import specimens as specimen_services
from tests.conftest import shared_path
from tests.participants.conftest import general_form, national_id  # noqa: F401 (fixture)

D = Decimal
TAIPEI = timezone.get_default_timezone()
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
NAME = "林美玲"
NATIONAL_ID = national_id("B", "2", 2123456)
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def taipei(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TAIPEI)


class Fhir:
    """Fetches the FHIR export with one user's bearer token, keeping every body it saw."""

    def __init__(self, client, user) -> None:
        _, plain = core_services.token_create(user=user)
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {plain}"}
        self.texts: list[str] = []

    def response(self, barcode: str):
        return self.client.get(f"/api/v1/specimens/{barcode}/fhir", **self.headers)

    def get(self, barcode: str) -> dict:
        response = self.response(barcode)
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("application/fhir+json")
        raw = response.content.decode()
        data = json.loads(raw)
        self.texts += [raw, json.dumps(data, ensure_ascii=False)]
        FhirSpecimen.model_validate(data)  # raises when not a valid R4 Specimen
        return data


@pytest.fixture
def person(cast, general_form) -> Participant:  # noqa: F811
    participant = participant_services.participant_register(
        actor=cast.manager,
        organization=cast.demo,
        code="P-0001",
        sex="F",
        identity=Identity(name=NAME, national_id=NATIONAL_ID, birth_date="1975-03-02"),
    )
    participant_services.consent_record(
        actor=cast.manager,
        participant=participant,
        form=general_form,
        signed_on=date(2024, 5, 1),
        capacity="adult",
        signed_by="participant",
        permissions=[consent_rules.GRU],
    )
    return participant


@pytest.fixture
def collection(cast):
    return collection_services.collection_create(
        actor=cast.manager,
        organization=cast.demo,
        code="TWDM",
        name="第二型糖尿病世代研究",
        principal_investigator="陳建志 醫師",
    )


@pytest.fixture
def blood(cast, person, collection) -> Specimen:
    return specimen_services.specimen_register(
        actor=cast.manager,
        organization=cast.demo,
        material_type="WHOLE_BLOOD",
        quantity=D("10"),
        unit="mL",
        participant=person,
        collection=collection,
        collected_at=taipei(date(2025, 1, 10)),
        container_type="EDTA tube 10 mL",
    )


@pytest.fixture
def serum(cast, blood) -> Specimen:
    """Serum from the blood, centrifuged and stored at -80 °C: it has a SPREC code."""
    (made,) = specimen_services.specimen_derive(
        actor=cast.manager,
        parent=blood,
        material_type="SERUM",
        quantity_taken=D("5"),
        quantities=[D("2")],
        unit="mL",
        parameters={
            "method": "centrifugation",
            "centrifugation": {"g": 2000, "minutes": 10, "temperature_c": 4},
        },
        at=taipei(date(2025, 1, 10), 10),
    )
    specimen_services.specimen_event_record(
        actor=cast.manager,
        specimen=made,
        activity="storage",
        at=taipei(date(2025, 1, 10), 11),
        parameters={"temperature_c": -80},
    )
    return Specimen.objects.get(pk=made.pk)


@pytest.fixture
def fhir(cast, client) -> Fhir:
    return Fhir(client, cast.technician)


def codings(resource: dict, system: str) -> list[str]:
    return [c["code"] for c in resource["type"]["coding"] if c.get("system") == system]


# The vectors: what a valid R4 Specimen looks like ---------------------------------------------


@pytest.mark.parametrize(
    "parts",
    [
        ("specimen-example.r4.json",),
        ("specimen-example-serum.r4.json",),
        ("bbmri-de-ig", "Specimen-0-specimen.json"),
    ],
)
def test_the_vectors_examples_are_valid_r4_specimens(parts):
    data = json.loads(shared_path("vectors", "fhir", *parts).read_text(encoding="utf-8"))
    resource = FhirSpecimen.model_validate(data)
    assert resource.get_resource_type() == "Specimen"


def test_the_serum_vector_codes_serum_as_ours_does():
    data = json.loads(
        shared_path("vectors", "fhir", "specimen-example-serum.r4.json").read_text(encoding="utf-8")
    )
    assert {"system": SNOMED, "code": "119364003"}.items() <= data["type"]["coding"][0].items()


def test_a_resource_with_an_unknown_element_is_refused_by_the_model():
    """The model is strict enough to catch a malformed export."""
    with pytest.raises(ValueError):
        FhirSpecimen.model_validate({"resourceType": "Specimen", "colour": "red"})
    with pytest.raises(ValueError):
        FhirSpecimen.model_validate({"resourceType": "Specimen", "note": [{}]})


# Our export ----------------------------------------------------------------------------------


def test_export_is_fhir_json_and_a_valid_r4_specimen(fhir, blood):
    data = fhir.get(blood.barcode)
    assert data["resourceType"] == "Specimen"
    assert FHIR_ID.match(data["id"])


def test_identifier_is_the_barcode(fhir, blood):
    data = fhir.get(blood.barcode)
    (identifier,) = data["identifier"]
    assert identifier["value"] == blood.barcode
    assert identifier["system"] == "urn:biobank:DEMO:specimen"


@pytest.mark.parametrize(("code", "snomed"), [("WHOLE_BLOOD", "258580003"), ("SERUM", "119364003")])
def test_type_carries_the_snomed_code(cast, fhir, person, code, snomed):
    specimen = specimen_services.specimen_register(
        actor=cast.manager,
        organization=cast.demo,
        material_type=code,
        quantity=D("1"),
        unit="mL",
        participant=person,
    )
    data = fhir.get(specimen.barcode)
    assert codings(data, SNOMED) == [snomed]
    assert codings(data, MATERIAL_SYSTEM) == [code]
    assert data["type"]["text"] == specimen.material_type.label_en


def test_type_without_a_snomed_code_has_no_snomed_coding(cast, fhir):
    specimen = specimen_services.specimen_register(
        actor=cast.manager,
        organization=cast.demo,
        material_type="ANIMAL_TISSUE",
        quantity=D("0.3"),
        unit="g",
        source_organism="Mus musculus",
    )
    data = fhir.get(specimen.barcode)
    assert codings(data, SNOMED) == []
    assert data["type"]["text"] == "Animal tissue"


def _directory_material_types() -> set[str]:
    path = shared_path("vectors", "bbmri-directory", "ontologies", "MaterialTypes.csv")
    with path.open(encoding="utf-8", newline="") as f:
        return {row["name"] for row in csv.DictReader(f)} - {"*"}  # "*" is a wildcard


@pytest.mark.parametrize(
    ("code", "unit", "source"),
    [
        ("SERUM", "mL", ""),
        ("PBMC", "cells", ""),  # a MIABIS type the Directory does not list
        ("ANIMAL_TISSUE", "g", "Mus musculus"),  # a local type
    ],
)
def test_directory_codings_use_directory_codes(cast, fhir, person, code, unit, source):
    """A coding that names the BBMRI-ERIC Directory's MaterialTypes system carries one of its
    codes; a type the Directory lacks (MIABIS-only, local) is coded some other way (BB-03)."""
    specimen = specimen_services.specimen_register(
        actor=cast.manager,
        organization=cast.demo,
        material_type=code,
        quantity=D("1"),
        unit=unit,
        participant=person if not source else None,
        source_organism=source,
    )
    data = fhir.get(specimen.barcode)
    assert set(codings(data, MATERIAL_SYSTEM)) <= _directory_material_types()


def test_subject_is_the_participant_code_and_never_identity(fhir, blood, serum, person):
    """HB-01: the export names the participant by code; neither the name nor the national ID
    appears anywhere in it."""
    for specimen in (blood, serum):
        data = fhir.get(specimen.barcode)
        subject = data["subject"]
        assert subject["identifier"]["value"] == person.code
        assert subject["identifier"]["system"] == "urn:biobank:DEMO:participant"
        assert "reference" not in subject
    assert fhir.texts
    for text in fhir.texts:
        for secret in (NAME, NATIONAL_ID, NATIONAL_ID.lower(), "1975-03-02"):
            assert secret not in text


def test_non_human_material_has_no_subject(cast, fhir):
    specimen = specimen_services.specimen_register(
        actor=cast.manager,
        organization=cast.demo,
        material_type="SEED",
        quantity=D("100"),
        unit="pieces",
        source_organism="Oryza sativa",
    )
    data = fhir.get(specimen.barcode)
    assert "subject" not in data
    assert data["collection"]["quantity"]["code"] == "{pieces}"


def test_parent_references_for_an_aliquot(cast, fhir, serum):
    tubes = specimen_services.specimen_aliquot(
        actor=cast.manager, parent=serum, count=2, quantity_each=D("0.5")
    )
    data = fhir.get(tubes[0].barcode)
    (parent,) = data["parent"]
    assert parent["identifier"] == {"system": "urn:biobank:DEMO:specimen", "value": serum.barcode}
    # the serum's own parent is the blood
    assert [p["identifier"]["value"] for p in fhir.get(serum.barcode)["parent"]] == [
        serum.parent_links.get().parent.barcode
    ]


def test_a_pool_of_two_participants_names_both_parents_and_no_subject(
    cast,
    fhir,
    general_form,  # noqa: F811
):
    donors = []
    for code in ("P-0101", "P-0102"):
        participant = participant_services.participant_register(
            actor=cast.manager, organization=cast.demo, code=code
        )
        participant_services.consent_record(
            actor=cast.manager,
            participant=participant,
            form=general_form,
            signed_on=date(2024, 5, 1),
            capacity="adult",
            signed_by="participant",
            permissions=[consent_rules.GRU],
        )
        donors.append(
            specimen_services.specimen_register(
                actor=cast.manager,
                organization=cast.demo,
                material_type="SERUM",
                quantity=D("1"),
                unit="mL",
                participant=participant,
            )
        )
    pooled = specimen_services.specimen_pool(
        actor=cast.manager, parents=[(d, D("0.5")) for d in donors], quantity=D("1")
    )
    data = fhir.get(pooled.barcode)
    assert sorted(p["identifier"]["value"] for p in data["parent"]) == sorted(
        d.barcode for d in donors
    )
    assert "subject" not in data


def test_collection_quantity_in_ucum(fhir, blood):
    data = fhir.get(blood.barcode)
    assert data["collection"]["quantity"] == {
        "value": 10.0,
        "unit": "mL",
        "system": UCUM,
        "code": "mL",
    }
    collected = datetime.fromisoformat(data["collection"]["collectedDateTime"])
    assert collected == taipei(date(2025, 1, 10))
    assert data["collection"]["collectedDateTime"].endswith("+08:00")


def test_micro_units_are_ucum_codes(cast, fhir, blood):
    (buffy,) = specimen_services.specimen_derive(
        actor=cast.manager,
        parent=blood,
        material_type="BUFFY_COAT",
        quantity_taken=D("1"),
        quantities=[D("500")],
        unit="µL",
    )
    (dna,) = specimen_services.specimen_derive(
        actor=cast.manager,
        parent=buffy,
        material_type="DNA",
        quantity_taken=D("400"),
        quantities=[D("20")],
        unit="µg",
    )
    assert fhir.get(buffy.barcode)["collection"]["quantity"]["code"] == "uL"
    quantity = fhir.get(dna.barcode)["collection"]["quantity"]
    assert (quantity["value"], quantity["unit"], quantity["code"]) == (20.0, "µg", "ug")


def test_container_quantity_is_what_remains(cast, fhir, blood):
    specimen_services.specimen_aliquot(
        actor=cast.manager, parent=blood, count=3, quantity_each=D("1.5")
    )
    data = fhir.get(blood.barcode)
    (container,) = data["container"]
    assert container["specimenQuantity"]["value"] == 5.5
    assert container["specimenQuantity"]["code"] == "mL"
    assert container["type"]["text"] == "EDTA tube 10 mL"
    assert data["collection"]["quantity"]["value"] == 10.0


def test_processing_lists_preparation_events(cast, fhir, serum):
    specimen_services.specimen_event_record(
        actor=cast.manager,
        specimen=serum,
        activity="thaw",
        at=taipei(date(2025, 2, 1), 8),
    )
    data = fhir.get(serum.barcode)
    steps = [
        (p["description"], datetime.fromisoformat(p["timeDateTime"])) for p in data["processing"]
    ]
    assert steps == [
        ("preparation", taipei(date(2025, 1, 10), 10)),
        ("thaw", taipei(date(2025, 2, 1), 8)),
    ]


def test_status(cast, fhir, blood, serum):
    assert fhir.get(serum.barcode)["status"] == "available"
    specimen_services.specimen_destroy(
        actor=cast.manager, specimen=blood, method="autoclave", reason="spilled"
    )
    assert fhir.get(blood.barcode)["status"] == "unavailable"


def test_expected_specimens_of_a_visit_are_unavailable_with_their_parent(cast, fhir, person):
    plan = collection_services.collection_create(
        actor=cast.manager,
        organization=cast.demo,
        code="PLAN",
        name="planned",
        principal_investigator="X",
    )
    root = collection_services.collection_plan_add(
        actor=cast.manager,
        collection=plan,
        label="blood",
        kind="primary",
        material_type="WHOLE_BLOOD",
        quantity=D("10"),
        unit="mL",
    )
    collection_services.collection_plan_add(
        actor=cast.manager,
        collection=plan,
        label="plasma",
        kind="derivative",
        parent=root,
        material_type="PLASMA",
        quantity=D("0.5"),
        unit="mL",
        quantity_taken=D("2.5"),
    )
    visit = specimen_services.visit_register(
        actor=cast.manager,
        collection=plan,
        participant=person,
        collected_at=taipei(date(2025, 1, 10)),
    )
    (expected,) = visit.expected
    data = fhir.get(expected.barcode)
    assert data["status"] == "unavailable"
    assert data["parent"][0]["identifier"]["value"] == visit.primaries[0].barcode
    assert codings(data, SNOMED) == ["119361006"]


def test_bb01_material_and_its_data_travel_together(fhir, serum, blood):
    """BB-01: one resource carries the material (type, amounts, parent) and the data recorded
    about it (processing, SPREC code, collection)."""
    assert serum.sprec.startswith("SER-")
    data = fhir.get(serum.barcode)
    assert codings(data, SNOMED) == ["119364003"]
    assert data["collection"]["quantity"]["value"] == 2.0
    assert data["container"][0]["specimenQuantity"]["value"] == 2.0
    assert data["parent"][0]["identifier"]["value"] == blood.barcode
    assert [p["description"] for p in data["processing"]] == ["preparation"]
    notes = [n["text"] for n in data["note"]]
    assert f"SPREC {serum.sprec}" in notes
    assert "collection TWDM" in notes


def test_a_specimen_without_sprec_has_no_sprec_note(fhir, blood):
    assert blood.sprec == ""
    notes = [n["text"] for n in fhir.get(blood.barcode).get("note", [])]
    assert not any(n.startswith("SPREC") for n in notes)


def test_barcodes_outside_the_fhir_id_alphabet_still_give_a_valid_id(cast, fhir):
    specimen = specimen_services.specimen_register(
        actor=cast.manager,
        organization=cast.demo,
        material_type="BACTERIAL_ISOLATE",
        quantity=D("1"),
        unit="pieces",
        barcode="TB_ISO_0007",
        source_organism="Mycobacterium tuberculosis",
    )
    data = fhir.get(specimen.barcode)
    assert FHIR_ID.match(data["id"])
    assert data["identifier"][0]["value"] == "TB_ISO_0007"


def test_export_is_scoped(cast, client, blood):
    assert client.get(f"/api/v1/specimens/{blood.barcode}/fhir").status_code == 401
    assert Fhir(client, cast.outsider).response(blood.barcode).status_code == 404
    assert Fhir(client, cast.researcher).response(blood.barcode).status_code == 404
    assert Fhir(client, cast.auditor).response(blood.barcode).status_code == 200


def test_export_works_through_the_browser_session(cast, client, blood):
    """The specimen page links the export; the session is enough to follow the link."""
    client.force_login(cast.technician)
    response = client.get(f"/api/v1/specimens/{blood.barcode}/fhir")
    assert response.status_code == 200
    FhirSpecimen.model_validate(response.json())
