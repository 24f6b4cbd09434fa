"""An IRB for ``biobank demo``: its roster (the composition check passes) and a self-assessment
of this year's MOHW audit in progress."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from biobank.core.demo import DemoContext
from biobank.core.models import User
from biobank.ethics import rules, services
from biobank.ethics.models import IRB, IRBMember

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

    _records(lee, irb)
    _protocols(lee, irb)
    _campaign(context, irb)


def _records(lee: User, irb: IRB) -> None:
    """SOPs for most topics (two stale), declarations and training."""
    today = timezone.localdate()
    for topic in rules.sop_topics()[:24]:
        approved = date(2021, 3, 1) if topic.topic in {5, 19} else date(2024, 3, 1)
        services.sop_record(
            actor=lee,
            irb=irb,
            topic=topic.topic,
            document=f"IRB-SOP-{topic.topic:02d}",
            version="2.0",
            approved_on=approved,
            reviewed_on=today - timedelta(days=90) if topic.topic not in {5, 19} else None,
        )
    for member in IRBMember.objects.filter(irb=irb):
        services.declaration_record(
            actor=lee,
            member=member,
            kind="confidentiality",
            signed_on=date(2025, 1, 2),
        )
        services.training_record(
            actor=lee,
            member=member,
            course="人體研究倫理與法規繼續教育",
            taken_on=today - timedelta(days=60),
            hours=Decimal("4"),
        )


def _protocols(lee: User, irb: IRB) -> None:
    """Protocols in different states: approved, under full-board review, closed."""
    actor = lee
    today = timezone.localdate()
    start = today - timedelta(days=120)
    approved = services.protocol_create(
        actor=actor,
        irb=irb,
        code="IRB-2026-001",
        title="第二型糖尿病血漿生物標記研究",
        principal_investigator="黃建國",
        risk="minimal",
        received_on=start,
    )
    submission = approved.submissions.get()
    services.submission_triage(
        actor=actor, submission=submission, review_type="expedited", reasons=["existing_records"]
    )
    decision = services.decision_record(
        actor=actor, submission=submission, outcome="approve", decided_on=start + timedelta(days=10)
    )
    services.decision_notify(actor=actor, decision=decision, notified_on=start + timedelta(days=14))
    pending = services.protocol_create(
        actor=actor,
        irb=irb,
        code="IRB-2026-002",
        title="肝癌組織基因表現研究",
        principal_investigator="林秀蘭",
        risk="more_than_minimal",
        received_on=today - timedelta(days=7),
    )
    services.submission_triage(
        actor=actor,
        submission=pending.submissions.get(),
        review_type="full",
        reasons=["more_than_minimal_risk"],
    )
    meeting = services.meeting_create(
        actor=actor, irb=irb, number="115-07", held_on=today + timedelta(days=7)
    )
    services.meeting_agenda_add(actor=actor, meeting=meeting, submission=pending.submissions.get())
    services.complaint_receive(
        actor=actor,
        irb=irb,
        received_on=today - timedelta(days=3),
        complainant="受試者 P-0042",
        summary="未收到交通補助",
        protocol=approved,
    )


def _campaign(context: DemoContext, irb: IRB) -> None:
    """The auditing body's campaign of this year with three IRBs."""
    body = context.organizations.get("TWBIONET")
    admin = context.users.get("admin")
    if body is None or admin is None:
        return
    year = timezone.localdate().year
    campaign = services.campaign_create(
        actor=admin,
        organization=body,
        year=year,
        window_opens=date(year, 3, 2),
        window_closes=date(year, 3, 31),
    )
    others = [
        services.irb_create(
            actor=None,
            organization=context.organizations[code],
            code=f"{code}-IRB",
            name=name,
            kind=kind,
        )
        for code, name, kind in [
            ("UNIV", "示範大學醫學院聯合人體研究倫理委員會", "joint"),
            ("OTHER", "他院人體試驗委員會", "institution"),
        ]
        if code in context.organizations
    ]
    for audited in [irb, *others]:
        audit = services.audit_invite(
            actor=admin, campaign=campaign, irb=audited, audit_type="video"
        )
        services.audit_apply(
            actor=admin,
            audit=audit,
            applied_on=date(year, 3, 16),
            application={
                "institution_name": audited.organization.name_zh,
                "irb_name": audited.name,
            },
        )
