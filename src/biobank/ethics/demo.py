"""An IRB for ``biobank demo``: its roster (the composition check passes), SOPs, protocols in
different states and a self-assessment of this year's MOHW audit in progress; and the auditing
body's side: last year's campaign rated by two auditors and announced (two IRBs pass, one
fails and appeals), this year's campaign with three IRBs applying, one auditor's sheet in, a
follow-up draw with its recorded seed and a follow-up rated "needs improvement"."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.core import services as core_services
from biobank.core.demo import DemoContext, demo_password
from biobank.core.models import Obligation, Organization, User
from biobank.core.roles import Role
from biobank.ethics import rules, services
from biobank.ethics.models import IRB, AuditCampaign, IRBAudit, IRBMember

# The auditing body's auditors (查核委員): they rate, the platform administrator manages.
AUDITORS = [("hsu", "許文彬 Hsu Wen-Pin"), ("tsai", "蔡佩珊 Tsai Pei-Shan")]
DRAW_SEED = 20260101

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


def _auditors(context: DemoContext, body: Organization) -> list[User]:
    people = []
    for username, display_name in AUDITORS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = core_services.user_create(
                actor=None,
                organization=body,
                username=username,
                password=demo_password(username),
                role=Role.IRB_MEMBER,
                email=f"{username}@demo.biobank.tw",
                display_name=display_name,
            )
            context.credentials.append(
                (username, demo_password(username), display_name, body.code, _("auditor"))
            )
        context.users[username] = user
        people.append(user)
    return people


def _sheet(**overrides: str) -> dict[str, str]:
    ratings = {c.number: rules.COMPLIANT for c in rules.load_criteria()}
    ratings.update(overrides)
    return ratings


def _settle(campaign: AuditCampaign) -> None:
    """Last year's completion deadline was met: close its obligation (EC-08)."""
    for obligation in Obligation.objects.filter(
        rule_id="EC-08", subject_id=str(campaign.pk), state=Obligation.State.OPEN
    ):
        core_services.obligation_close(
            actor=None, obligation=obligation, evidence=_("All applications complete")
        )


def _campaign(context: DemoContext, irb: IRB) -> None:
    """The auditing body's campaigns: last year's announced, this year's with three IRBs."""
    body = context.organizations.get("TWBIONET")
    admin = context.users.get("admin")
    if body is None or admin is None:
        return
    hsu, tsai = _auditors(context, body)
    year = timezone.localdate().year
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
    audited = [irb, *others]

    last = services.campaign_create(
        actor=admin,
        organization=body,
        year=year - 1,
        window_opens=date(year - 1, 3, 2),
        window_closes=date(year - 1, 3, 31),
    )
    sheets = {
        "DEMO-IRB": (
            _sheet(**{"1.1": "excellent", "1.4": "excellent", "2.17": "excellent"}),
            _sheet(**{"1.1": "excellent", "2.6": "non_compliant"}),
        ),
        "UNIV-IRB": (
            _sheet(**{"2.3": "na", "3.3": "na", "2.6": "non_compliant", "3.2": "non_compliant"}),
            _sheet(**{"2.3": "na", "3.3": "na", "2.6": "non_compliant"}),
        ),
        "OTHER-IRB": (
            _sheet(**{"1.4": "non_compliant", "1.11": "non_compliant"}),
            _sheet(**{"1.4": "non_compliant", "4.9": "non_compliant"}),
        ),
    }
    for one in audited:
        audit = services.audit_invite(actor=admin, campaign=last, irb=one, audit_type="video")
        services.audit_apply(
            actor=admin,
            audit=audit,
            applied_on=date(year - 1, 3, 16),
            application=_application(one, last_result="passed" if one.previously_passed else "new"),
        )
        for auditor, sheet in zip((hsu, tsai), sheets[one.code], strict=True):
            services.auditor_assign(actor=admin, audit=audit, auditor=auditor)
            services.auditor_rate(actor=auditor, audit=audit, ratings=sheet)
        audit = services.audit_announce(
            actor=admin, audit=audit, announced_on=date(year - 1, 11, 30)
        )
        if not audit.passed:
            appeal = services.appeal_file(
                actor=admin,
                audit=audit,
                filed_on=date(year - 1, 12, 10),
                grounds="委員組成已於查核後補正，請求複查 1.4",
            )
            services.appeal_decide(
                actor=admin,
                appeal=appeal,
                upheld=False,
                outcome="查核當時委員組成不符人體研究法第7條，維持原查核結果",
                decided_on=date(year - 1, 12, 28),
            )
    _settle(last)

    campaign = services.campaign_create(
        actor=admin,
        organization=body,
        year=year,
        window_opens=date(year, 3, 2),
        window_closes=date(year, 3, 31),
    )
    for one in audited:
        audit = services.audit_invite(actor=admin, campaign=campaign, irb=one, audit_type="video")
        services.audit_apply(
            actor=admin,
            audit=audit,
            applied_on=date(year, 3, 16),
            application={
                "institution_name": one.organization.name_zh,
                "irb_name": one.name,
            },
        )
        if one == irb:
            for auditor in (hsu, tsai):
                services.auditor_assign(actor=admin, audit=audit, auditor=auditor)
            services.auditor_rate(
                actor=hsu, audit=audit, ratings=_sheet(**{"2.6": "non_compliant"})
            )
    draw = services.followup_draw_run(actor=admin, campaign=campaign, count=1, seed=DRAW_SEED)
    for code in draw.drawn:
        followup = IRBAudit.objects.get(
            campaign=campaign, irb__code=code, audit_type=IRBAudit.AuditType.FOLLOWUP
        )
        services.followup_improvement(
            actor=admin, audit=followup, due=timezone.localdate() + timedelta(days=90)
        )


def _application(irb: IRB, *, last_result: str) -> dict[str, str]:
    """The annex 1 fields of a demo IRB's application (EC-08)."""
    return {
        **services.application_prefill(irb),
        "last_result": last_result,
        "last_audit_year": "" if last_result == "new" else str(timezone.localdate().year - 7),
        "address": "臺北市中正區示範路 1 號",
        "phone": "02-2312-3456",
        "email": f"irb@{irb.organization.code.lower()}.demo.biobank.tw",
    }
