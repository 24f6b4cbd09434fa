"""Biosafety for ``biobank demo``: an ABSL2 animal room beside the BSL2 and BSL3 labs, the
biosafety committee, materials across risk groups, approvals, and last month's inventory of
the BSL3 lab with one missing vial of M. tuberculosis (scenario 5) whose clocks are running.
The yearly drill due comes from the core demo's obligations (BS-12)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from biobank.biosafety import services
from biobank.biosafety.models import Agent, Committee, InfectiousMaterial
from biobank.core import services as core_services
from biobank.core.demo import DemoContext
from biobank.core.models import Site

REVIEW = {
    "project": "結核菌抗藥性監測",
    "responsible_person": "張家豪",
    "personnel": "張家豪、陳志豪",
    "containment": "BSL-3 負壓實驗室，第二級生物安全櫃",
    "handling": "SOP-BS-003 培養與操作",
    "storage": "-80 °C 上鎖冷凍櫃 F-80-02",
    "emergency_plan": "EP-2026 緊急應變計畫",
}

# code, agent, class, regime, form, quantity, unit, site
MATERIALS = [
    ("ECK12-01", "e-coli-k12", 1, "human", "stock", "10", "vial", "LAB-BSL2"),
    ("SA-01", "s-aureus", 1, "human", "stock", "6", "vial", "LAB-BSL2"),
    ("HBV-SER-01", "hbv", 3, "human", "serum", "12", "mL", "LAB-BSL2"),
    ("MTB-001", "m-tuberculosis", 1, "human", "stock", "5", "vial", "LAB-BSL3"),
    ("MTB-DNA-01", "m-tuberculosis", 2, "human", "nucleic_acid", "20", "µg", "LAB-BSL3"),
    ("PRRS-01", "prrsv", 1, "animal", "isolate", "4", "vial", "ABSL2-ROOM"),
]


def _animal_room(context: DemoContext) -> Site:
    demo = context.organizations["DEMO"]
    room = Site.objects.filter(organization=demo, code="ABSL2-ROOM").first()
    if room is None:
        room = core_services.site_create(
            actor=None,
            organization=demo,
            code="ABSL2-ROOM",
            name="動物實驗室 (ABSL-2)",
            kind="animal_room",
            containment="ABSL2",
            location="動物中心 2F",
            person_in_charge=context.users["chang"],
            manager_name="林美華",
            phone="02-2312-3456 #5520",
            emergency_contact="張家豪 0912-345-678",
            emergency_measures="動物咬傷：沖洗傷口並通報生物安全官；逃脫：關閉門禁。",
            access_controlled=True,
        )
    return room


def load(context: DemoContext) -> None:
    demo = context.organizations["DEMO"]
    if InfectiousMaterial.objects.filter(organization=demo).exists():
        return
    chang = context.users["chang"]
    _animal_room(context)
    committee = services.committee_form(
        actor=chang,
        organization=demo,
        kind=Committee.Kind.COMMITTEE,
        regime="human",
        name="臺灣示範醫院生物安全會",
        formed_on=date(2025, 3, 3),
    )
    for name, role, years in (
        ("林美華 院長代理人", "head", "20"),
        ("張家豪", "site_supervisor", "12"),
        ("陳志豪", "technical", "6"),
    ):
        services.committee_member_add(
            actor=chang,
            committee=committee,
            name=name,
            role=role,
            joined_on=date(2025, 3, 3),
            years_lab_experience=Decimal(years),
            training_hours=Decimal(24),
        )
    services.committee_report(
        actor=chang, committee=committee, reported_on=date(2025, 3, 20), reference="疾管字-1140320"
    )
    animal = services.committee_form(
        actor=chang,
        organization=demo,
        kind=Committee.Kind.COMMITTEE,
        regime="animal",
        name="臺灣示範醫院生物安全會 (動物)",
        formed_on=date(2025, 3, 3),
    )
    services.committee_report(
        actor=chang, committee=animal, reported_on=date(2025, 3, 25), reference="防檢字-1140325"
    )
    sites = {site.code: site for site in Site.objects.filter(organization=demo)}
    for code, agent_code, klass, regime, form, quantity, unit, site_code in MATERIALS:
        material = services.material_register(
            actor=chang,
            organization=demo,
            code=code,
            agent=Agent.objects.get(organization__isnull=True, code=agent_code),
            material_class=klass,
            regime=regime,
            form=form,
            quantity=Decimal(quantity),
            unit=unit,
            site=sites[site_code],
        )
        approval = services.approval_request(
            actor=chang,
            material=material,
            kind="possession",
            purpose="研究與檢驗",
            review_form=REVIEW,
        )
        services.approval_committee_decide(
            actor=chang,
            approval=approval,
            approved=True,
            decided_on=date(2025, 4, 10),
            reference="BSC-2025-004",
        )
        if approval.central_required:
            services.approval_central_decide(
                actor=chang,
                approval=approval,
                approved=True,
                decided_on=date(2025, 5, 2),
                reference="疾管核字-1140502",
            )
    # Last week's inventory of the BSL3 lab: one vial of M. tuberculosis is missing.
    inventory = services.inventory_start(
        actor=chang, site=sites["LAB-BSL3"], regime="human", started_on=timezone.localdate()
    )
    for line in inventory.lines.select_related("material"):
        found = line.expected_quantity - (1 if line.material.code == "MTB-001" else 0)
        note = "少 1 支" if found != line.expected_quantity else ""
        services.inventory_record(actor=chang, line=line, found_quantity=found, note=note)
    services.inventory_complete(
        actor=chang, inventory=inventory, at=timezone.now() - timedelta(hours=2)
    )
