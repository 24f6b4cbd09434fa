"""An IRB for ``biobank demo``: its roster (the composition check passes) and a self-assessment
of this year's MOHW audit in progress."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from biobank.core.demo import DemoContext
from biobank.ethics import rules, services
from biobank.ethics.models import IRB

ROSTER = [
    ("陳文雄", "M", False, "chair", True, False),
    ("林秀蘭", "F", False, "vice_chair", True, False),
    ("黃志明", "M", True, "member", True, False),
    ("張淑惠", "F", True, "member", False, True),  # external lawyer: legal expert, non-scientist
    ("王大同", "M", False, "member", True, False),
    ("李美玲", "F", True, "member", False, False),  # external community member
    ("吳建宏", "M", False, "member", True, False),
    ("趙怡君", "F", False, "staff", True, False),
]


def load(context: DemoContext) -> None:
    demo = context.organizations["DEMO"]
    if IRB.objects.filter(organization=demo).exists():
        return
    lee = context.users["lee"]
    irb = services.irb_create(
        actor=lee,
        organization=demo,
        code="DEMO-IRB",
        name="臺灣示範醫院人體試驗委員會",
        kind="institution",
        previously_passed=True,
    )
    for name, gender, external, role, scientist, legal in ROSTER:
        services.irb_member_add(
            actor=lee,
            irb=irb,
            name=name,
            gender=gender,
            external=external,
            role=role,
            scientist=scientist,
            legal_expert=legal,
            term_start=date(2025, 1, 1),
        )
    year = timezone.localdate().year
    for criterion in rules.load_criteria()[:40]:
        rating = "compliant"
        if criterion.number == "1.4":
            rating = "compliant" if services.composition(irb) else "non_compliant"
        elif criterion.kind == rules.OPTIONAL and criterion.number in {"2.10", "6.5"}:
            rating = "na"
        elif criterion.number in {"2.6", "3.2"}:
            rating = "non_compliant"
        elif criterion.number.startswith("1."):
            rating = "excellent"
        services.self_assessment_rate(
            actor=lee, irb=irb, year=year, number=criterion.number, rating=rating
        )
