"""Monday's story (BB-01 … BB-04): a collection's planned tree, a visit, processing,
aliquoting, and a tube used up to depletion."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from biobank.core.audit import audit_verify
from biobank.specimens.models import Specimen
from biobank.specimens.selectors import lineage_tree, root_of
from biobank.specimens.services import collections as collection_services
from biobank.specimens.services import specimens as services

D = Decimal


def test_from_collection_through_aliquoting_to_depletion(cast, consenting, general_form):
    # the manager sets up the cohort's planned tree: 10 mL EDTA whole blood → 2 × plasma
    # 0.5 mL + buffy coat → DNA
    cohort = collection_services.collection_create(
        actor=cast.manager,
        organization=cast.demo,
        code="TWDM",
        name="糖尿病世代",
        principal_investigator="陳建志",
        irb_reference="DEMO-IRB-2023-117",
        consent_forms=[general_form],
        material_types=["WHOLE_BLOOD", "PLASMA"],
    )
    whole = collection_services.collection_plan_add(
        actor=cast.manager,
        collection=cohort,
        label="EDTA 10 mL",
        kind="primary",
        material_type="WHOLE_BLOOD",
        quantity=D("10"),
        unit="mL",
    )
    collection_services.collection_plan_add(
        actor=cast.manager,
        collection=cohort,
        label="plasma",
        kind="derivative",
        parent=whole,
        material_type="PLASMA",
        count=2,
        quantity=D("0.5"),
        unit="mL",
        quantity_taken=D("2.5"),
    )
    buffy = collection_services.collection_plan_add(
        actor=cast.manager,
        collection=cohort,
        label="buffy coat",
        kind="derivative",
        parent=whole,
        material_type="BUFFY_COAT",
        quantity=D("0.5"),
        unit="mL",
        quantity_taken=D("1"),
    )
    collection_services.collection_plan_add(
        actor=cast.manager,
        collection=cohort,
        label="DNA",
        kind="derivative",
        parent=buffy,
        material_type="DNA",
        quantity=D("20"),
        unit="µg",
        quantity_taken=D("0.5"),
    )
    # Chen registers the visit: the tree is created in one step
    collected = timezone.now() - timedelta(hours=2)
    visit = services.visit_register(
        actor=cast.technician,
        collection=cohort,
        participant=consenting,
        collected_at=collected,
        parameters={"primary_container": "PED"},
    )
    assert len(visit.primaries) == 1
    assert sorted(s.material_type.code for s in visit.expected) == [
        "BUFFY_COAT",
        "DNA",
        "PLASMA",
        "PLASMA",
    ]
    assert all(s.status == "expected" for s in visit.expected)
    tube = visit.primaries[0]
    # reception, then centrifugation makes the planned plasma and buffy coat
    services.specimen_event_record(
        actor=cast.technician,
        specimen=tube,
        activity="reception",
        at=collected + timedelta(minutes=20),
        parameters={"condition": "acceptable"},
    )
    for expected in visit.expected:
        services.specimen_prepare_planned(
            actor=cast.technician,
            specimen=expected,
            at=collected + timedelta(minutes=45),
            parameters={
                "method": "centrifugation",
                "centrifugation": {"g": 2000, "minutes": 10, "temperature_c": 4},
            },
        )
    tube.refresh_from_db()
    assert tube.remaining == D("4")  # 10 − 2 × 2.5 − 1
    buffy_coat = next(s for s in visit.expected if s.material_type.code == "BUFFY_COAT")
    buffy_coat.refresh_from_db()
    assert buffy_coat.remaining == D("0")  # the DNA took it all
    assert buffy_coat.status == "depleted"
    # the lineage can be walked both ways
    plasma = next(s for s in visit.expected if s.material_type.code == "PLASMA")
    assert root_of(plasma) == tube
    tree = lineage_tree(tube)
    assert sorted(child["material_type"] for child in tree["children"]) == [
        "BUFFY_COAT",
        "PLASMA",
        "PLASMA",
    ]
    # the plasma is stored at -80 °C and aliquoted until nothing is left
    services.specimen_event_record(
        actor=cast.technician,
        specimen=plasma,
        activity="storage",
        at=collected + timedelta(minutes=90),
        parameters={"temperature_c": -80},
    )
    services.specimen_aliquot(actor=cast.technician, parent=plasma, count=5, quantity_each=D("0.1"))
    plasma.refresh_from_db()
    assert (plasma.remaining, plasma.status) == (D("0"), Specimen.Status.DEPLETED)
    # every step is on the timeline and in the audit trail (BB-01, BB-02)
    activities = list(plasma.events.values_list("activity", flat=True))
    assert activities == ["preparation", "storage"]
    assert audit_verify().ok
