"""Specimens for ``biobank demo``: collections with planned trees, a cohort of participants
whose visits follow the plan (whole blood → plasma × 2 + buffy coat → DNA), tumour tissue,
and non-human material (mouse, rice seed, fungal and bacterial cultures)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from biobank.core.demo import DemoContext
from biobank.core.models import Site
from biobank.participants import rules as consent_rules
from biobank.participants import services as participant_services
from biobank.participants.models import ConsentForm
from biobank.specimens.models import Collection, Specimen
from biobank.specimens.services import collections as collection_services
from biobank.specimens.services import specimens as specimen_services

COHORT_SIZE = 240
D = Decimal


def _taipei(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(
        day.year, day.month, day.day, hour, minute, tzinfo=timezone.get_default_timezone()
    )


def _collections(context: DemoContext) -> dict[str, Collection]:
    demo, lin = context.organizations["DEMO"], context.users["lin"]
    forms = list(ConsentForm.objects.filter(organization=demo))
    made: dict[str, Collection] = {}
    specs = [
        (
            "TWDM",
            "第二型糖尿病世代研究",
            "cohort",
            "陳建志 醫師",
            "DEMO-IRB-2023-117",
            ["WHOLE_BLOOD", "PLASMA", "BUFFY_COAT", "DNA"],
        ),
        (
            "TUMOR",
            "腫瘤組織庫",
            "protocol",
            "許文華 醫師",
            "DEMO-IRB-2022-045",
            ["TISSUE_FROZEN", "TISSUE_PARAFFIN_EMBEDDED", "DNA"],
        ),
        (
            "MOUSE",
            "小鼠肝炎模式",
            "study",
            "張家豪",
            "DEMO-IACUC-2024-008",
            ["ANIMAL_TISSUE", "ANIMAL_SERUM"],
        ),
        ("RICE", "水稻種原保存", "protocol", "王淑芬", "", ["SEED", "PLANT_TISSUE"]),
        (
            "MICRO",
            "臨床分離菌株庫",
            "protocol",
            "張家豪",
            "DEMO-IBC-2024-002",
            ["BACTERIAL_ISOLATE", "FUNGAL_CULTURE"],
        ),
    ]
    for code, name, kind, pi, irb, types in specs:
        made[code] = collection_services.collection_create(
            actor=lin,
            organization=demo,
            code=code,
            name=name,
            kind=kind,
            principal_investigator=pi,
            irb_reference=irb,
            irb_valid_from=date(2023, 1, 1) if irb else None,
            irb_valid_until=date(2027, 12, 31) if irb else None,
            consent_forms=forms if code in {"TWDM", "TUMOR"} else [],
            material_types=types,
        )
    twdm = made["TWDM"]
    blood = collection_services.collection_plan_add(
        actor=lin,
        collection=twdm,
        label="10 mL EDTA 全血",
        kind="primary",
        material_type="WHOLE_BLOOD",
        quantity=D("10"),
        unit="mL",
        container_type="EDTA tube 10 mL",
    )
    collection_services.collection_plan_add(
        actor=lin,
        collection=twdm,
        label="血漿 0.5 mL",
        kind="derivative",
        parent=blood,
        material_type="PLASMA",
        count=2,
        quantity=D("0.5"),
        unit="mL",
        quantity_taken=D("2.5"),
        container_type="cryotube 2 mL",
    )
    buffy = collection_services.collection_plan_add(
        actor=lin,
        collection=twdm,
        label="白血球層",
        kind="derivative",
        parent=blood,
        material_type="BUFFY_COAT",
        quantity=D("0.5"),
        unit="mL",
        quantity_taken=D("1"),
        container_type="cryotube 2 mL",
    )
    collection_services.collection_plan_add(
        actor=lin,
        collection=twdm,
        label="DNA 20 µg",
        kind="derivative",
        parent=buffy,
        material_type="DNA",
        quantity=D("20"),
        unit="µg",
        quantity_taken=D("0.4"),
        container_type="screw-cap tube 1.5 mL",
    )
    collection_services.data_field_define(
        actor=lin,
        collection=twdm,
        key="diagnosis",
        label="診斷 (ICD-10-CM)",
        type="code",
        code_system="ICD-10-CM",
        pattern=r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$",
        applies_to="participant",
    )
    collection_services.data_field_define(
        actor=lin,
        collection=twdm,
        key="fasting",
        label="空腹採血",
        type="boolean",
    )
    collection_services.data_field_define(
        actor=lin,
        collection=twdm,
        key="hba1c",
        label="糖化血色素",
        type="decimal",
        unit="%",
    )
    return made


def _cohort(context: DemoContext, twdm: Collection, rng: random.Random) -> None:
    demo, chen = context.organizations["DEMO"], context.users["chen"]
    form = ConsentForm.objects.get(organization=demo, code="GEN", version="3")
    lab = Site.objects.filter(organization=demo, code="PROC-01").first()
    start = date(2024, 5, 6)
    for n in range(COHORT_SIZE):
        participant = participant_services.participant_register(
            actor=chen,
            organization=demo,
            code=f"DM{n + 1:04d}",
            sex=rng.choice("MF"),
            birth_year=rng.randint(1956, 1986),
        )
        visit_day = start + timedelta(days=n * 2)
        participant_services.consent_record(
            actor=chen,
            participant=participant,
            form=form,
            signed_on=visit_day,
            capacity="adult",
            signed_by="participant",
            permissions=[consent_rules.GRU],
            nhi_linkage=rng.random() < 0.8,
            after_death=rng.random() < 0.5,
        )
        collected = _taipei(visit_day, 8, rng.randint(0, 50))
        visit = specimen_services.visit_register(
            actor=chen,
            collection=twdm,
            participant=participant,
            collected_at=collected,
            collection_site=lab,
            parameters={"primary_container": "PED"},
        )
        blood = visit.primaries[0]
        delay = rng.choice([30, 45, 60, 90, 150])
        specimen_services.specimen_event_record(
            actor=chen,
            specimen=blood,
            activity="reception",
            at=collected + timedelta(minutes=20),
            site=lab,
            parameters={"condition": "acceptable", "temperature_c": 22},
        )
        spun = collected + timedelta(minutes=delay)
        for expected in visit.expected:
            if expected.material_type.code == "DNA" and rng.random() < 0.3:
                continue  # DNA extraction still to do for some
            specimen_services.specimen_prepare_planned(
                actor=chen,
                specimen=expected,
                at=spun,
                parameters={
                    "method": "centrifugation",
                    "centrifugation": {
                        "g": 2000,
                        "minutes": 10,
                        "temperature_c": 4,
                        "braking": True,
                    },
                    "postcentrifugation_minutes": 30,
                    "postcentrifugation_temperature_c": 4,
                }
                if expected.material_type.code in {"PLASMA", "BUFFY_COAT"}
                else {"method": "extraction", "kit": "QIAamp DNA Blood Mini"},
                sop="SOP-PRE-003",
                sop_version="4",
            )
            if expected.material_type.code in {"PLASMA", "BUFFY_COAT"}:
                specimen_services.specimen_event_record(
                    actor=chen,
                    specimen=expected,
                    activity="storage",
                    at=spun + timedelta(minutes=40),
                    parameters={"temperature_c": -80, "storage_kind": "polypropylene cryotube"},
                )


def _tumours(context: DemoContext, tumour: Collection, rng: random.Random) -> None:
    demo, chen = context.organizations["DEMO"], context.users["chen"]
    participants = list(
        demo.participants.filter(code__startswith="DM", status="active").order_by("code")[:60]
    )
    for n, participant in enumerate(participants):
        at = _taipei(date(2024, 9, 2) + timedelta(days=n), 14)
        fresh = specimen_services.specimen_register(
            actor=chen,
            organization=demo,
            material_type="TISSUE_FRESH",
            quantity=D("800"),
            unit="mg",
            collection=tumour,
            participant=participant,
            collected_at=at,
            container_type="specimen cup",
        )
        specimen_services.specimen_derive(
            actor=chen,
            parent=fresh,
            material_type="TISSUE_FROZEN",
            quantity_taken=D("400"),
            quantities=[D("100")] * 4,
            unit="mg",
            at=at + timedelta(minutes=25),
            container_type="cryovial 2 mL",
        )
        blocks = specimen_services.specimen_derive(
            actor=chen,
            parent=fresh,
            material_type="TISSUE_PARAFFIN_EMBEDDED",
            quantity_taken=D("400"),
            quantities=[D("1"), D("1")],
            unit="pieces",
            at=at + timedelta(hours=20),
            container_type="cassette",
        )
        if rng.random() < 0.5:
            specimen_services.specimen_derive(
                actor=chen,
                parent=blocks[0],
                material_type="DNA",
                quantity_taken=D("0.2"),
                quantities=[D("5")],
                unit="µg",
                at=at + timedelta(days=10),
            )


def _non_human(context: DemoContext, made: dict[str, Collection], rng: random.Random) -> None:
    demo = context.organizations["DEMO"]
    context_users = context.users
    chen = context_users["chen"]
    base = _taipei(date(2024, 6, 3), 10)
    for n in range(40):  # mice: liver tissue and serum, then serum aliquots
        mouse = f"M-{n + 1:03d}"
        at = base + timedelta(days=n)
        specimen_services.specimen_register(
            actor=chen,
            organization=demo,
            material_type="ANIMAL_TISSUE",
            quantity=D("150"),
            unit="mg",
            collection=made["MOUSE"],
            source_organism="Mus musculus",
            source_strain="C57BL/6J",
            source_identifier=mouse,
            collected_at=at,
        )
        serum = specimen_services.specimen_register(
            actor=chen,
            organization=demo,
            material_type="ANIMAL_SERUM",
            quantity=D("0.4"),
            unit="mL",
            collection=made["MOUSE"],
            source_organism="Mus musculus",
            source_strain="C57BL/6J",
            source_identifier=mouse,
            collected_at=at,
        )
        specimen_services.specimen_aliquot(
            actor=chen, parent=serum, count=4, quantity_each=D("0.1"), at=at + timedelta(hours=1)
        )
    for n in range(60):  # rice seed lots
        specimen_services.specimen_register(
            actor=chen,
            organization=demo,
            material_type="SEED",
            quantity=D(rng.randint(20, 200)),
            unit="g",
            collection=made["RICE"],
            source_organism="Oryza sativa",
            source_strain=rng.choice(["台農67號", "台稉9號", "台中在來1號", "高雄139號"]),
            source_identifier=f"LOT-{2024}{n + 1:03d}",
            collected_at=base + timedelta(days=n),
        )
    organisms = [
        ("BACTERIAL_ISOLATE", "Escherichia coli", "K-12 MG1655"),
        ("BACTERIAL_ISOLATE", "Staphylococcus aureus", "ATCC 25923"),
        ("BACTERIAL_ISOLATE", "Klebsiella pneumoniae", "clinical isolate"),
        ("FUNGAL_CULTURE", "Candida albicans", "SC5314"),
        ("FUNGAL_CULTURE", "Aspergillus fumigatus", "Af293"),
    ]
    for n in range(50):
        mtype, organism, strain = organisms[n % len(organisms)]
        isolate = specimen_services.specimen_register(
            actor=chen,
            organization=demo,
            material_type=mtype,
            quantity=D("1.5"),
            unit="mL",
            collection=made["MICRO"],
            source_organism=organism,
            source_strain=strain,
            source_identifier=f"ISO-{n + 1:04d}",
            collected_at=base + timedelta(days=n),
        )
        specimen_services.specimen_aliquot(
            actor=chen,
            parent=isolate,
            count=2,
            quantity_each=D("0.5"),
            at=base + timedelta(days=n, hours=3),
        )


def load(context: DemoContext) -> None:
    demo = context.organizations["DEMO"]
    if Collection.objects.filter(organization=demo).exists():
        return
    rng = random.Random(20387)  # noqa: S311 (demo data, the same every time)
    made = _collections(context)
    _cohort(context, made["TWDM"], rng)
    _tumours(context, made["TUMOR"], rng)
    _non_human(context, made, rng)
    # one specimen of the withdrawn demo participant, blocked at once (HB-03)
    assert Specimen.objects.filter(organization=demo).exists()
