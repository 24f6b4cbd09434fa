"""The core part of ``biobank demo``: the DEMO hospital biobank, its sites and one user per role.

Idempotent: running it again finds what is there, resets the demo passwords and adds what is
missing. Other apps add their own ``demo.py`` with a ``load(context)`` function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils import timezone

from biobank.core import services
from biobank.core.models import CalendarOverride, Membership, Obligation, Organization, Site, User
from biobank.core.roles import Role


@dataclass
class DemoContext:
    organizations: dict[str, Organization] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    credentials: list[tuple[str, str, str, str, str]] = field(default_factory=list)


ORGANIZATIONS = [
    ("DEMO", "臺灣示範醫院人體生物資料庫", "Taiwan Demo Hospital Biobank", "hospital", 120),
    ("UNIV", "示範大學醫學院", "Demo University College of Medicine", "university", 800),
    ("OTHER", "他院人體生物資料庫", "Another Hospital Biobank", "biobank", 40),
    (
        "TWBIONET",
        "國家級人體生物資料庫整合平台",
        "National Biobank Integration Platform",
        "platform",
        10,
    ),
]

# username, display name, e-mail, organization, roles
PEOPLE = [
    ("lin", "林美華 Lin Mei-Hua", "DEMO", [Role.BIOBANK_MANAGER]),
    ("chen", "陳志豪 Chen Chih-Hao", "DEMO", [Role.TECHNICIAN]),
    ("wang", "王淑芬 Wang Shu-Fen", "DEMO", [Role.QA_OFFICER]),
    ("chang", "張家豪 Chang Chia-Hao", "DEMO", [Role.BIOSAFETY_OFFICER]),
    ("lee", "李雅婷 Lee Ya-Ting", "DEMO", [Role.IRB_ADMIN]),
    ("chao", "趙怡君 Chao Yi-Chun", "DEMO", [Role.IRB_MEMBER]),
    ("huang", "黃建國 Huang Chien-Kuo", "UNIV", [Role.RESEARCHER]),
    ("wu", "吳俊傑 Wu Chun-Chieh", "DEMO", [Role.AUDITOR]),
    ("admin", "平台管理員 Platform admin", "TWBIONET", [Role.PLATFORM_ADMIN]),
    ("outsider", "外院人員 Outsider", "OTHER", [Role.BIOBANK_MANAGER]),
]


def demo_password(username: str) -> str:
    return f"{username}-Biobank-2026"


def _organizations(context: DemoContext) -> None:
    for code, name_zh, name_en, kind, staff in ORGANIZATIONS:
        organization = Organization.objects.filter(code=code).first()
        if organization is None:
            organization = services.organization_create(
                actor=None,
                code=code,
                name_zh=name_zh,
                name_en=name_en,
                kind=kind,
                staff_count=staff,
            )
        context.organizations[code] = organization


def _people(context: DemoContext) -> None:
    for username, display_name, org_code, roles in PEOPLE:
        organization = context.organizations[org_code]
        password = demo_password(username)
        user = User.objects.filter(username=username).first()
        if user is None:
            user = services.user_create(
                actor=None,
                organization=organization,
                username=username,
                password=password,
                role=roles[0],
                email=f"{username}@demo.biobank.tw",
                display_name=display_name,
            )
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        for role in roles:
            if not Membership.objects.filter(
                user=user, organization=organization, role=role, ended_at__isnull=True
            ).exists():
                services.membership_add(actor=None, organization=organization, user=user, role=role)
        context.users[username] = user
        context.credentials.append(
            (username, password, display_name, org_code, str(roles[0].label))
        )
    # The researcher also holds a researcher account at the DEMO biobank he requests from.
    huang, demo = context.users["huang"], context.organizations["DEMO"]
    if not Membership.objects.filter(
        user=huang, organization=demo, role=Role.RESEARCHER, ended_at__isnull=True
    ).exists():
        services.membership_add(actor=None, organization=demo, user=huang, role=Role.RESEARCHER)


SITES = [
    ("LAB-BSL2", "檢體處理實驗室 (BSL-2)", "lab", "BSL2", "chang", "研究大樓 3F 301"),
    ("LAB-BSL3", "結核菌實驗室 (BSL-3)", "lab", "BSL3", "chang", "研究大樓 B1 負壓區"),
    ("PROC-01", "檢體前處理室", "processing", "BSL2", "chen", "研究大樓 3F 305"),
    ("FRZ-ROOM", "超低溫冷凍庫房", "storage", "none", "chen", "研究大樓 B2 冷凍庫房"),
]


def _sites(context: DemoContext) -> None:
    demo = context.organizations["DEMO"]
    for code, name, kind, containment, person, location in SITES:
        if Site.objects.filter(organization=demo, code=code).exists():
            continue
        services.site_create(
            actor=None,
            organization=demo,
            code=code,
            name=name,
            kind=kind,
            containment=containment,
            location=location,
            person_in_charge=context.users[person],
            manager_name="林美華",
            phone="02-2312-3456 #5501",
            emergency_contact="張家豪 0912-345-678",
            emergency_measures=(
                "溢出：以 10% 漂白水覆蓋 30 分鐘後清除；人員暴露：沖洗並通報生物安全官。"
            ),
            access_controlled=code != "PROC-01",
        )
    other = context.organizations["OTHER"]
    if not Site.objects.filter(organization=other, code="OTHER-LAB").exists():
        services.site_create(
            actor=None,
            organization=other,
            code="OTHER-LAB",
            name="他院實驗室",
            kind="lab",
            containment="BSL2",
        )


def _obligations(context: DemoContext) -> None:
    demo = context.organizations["DEMO"]
    now = timezone.now()
    bsl3 = Site.objects.get(organization=demo, code="LAB-BSL3")
    wanted = [
        (
            "BS-11",
            "半年盤點：第一類感染性生物材料 (BSL-3)",
            now - timedelta(days=2),
            bsl3,
            Role.BIOSAFETY_OFFICER,
        ),
        ("BS-12", "年度緊急應變實地演練", now + timedelta(days=5), bsl3, Role.BIOSAFETY_OFFICER),
        (
            "BS-09",
            "在職人員年度生物安全教育訓練 4 小時",
            now + timedelta(days=40),
            bsl3,
            Role.BIOSAFETY_OFFICER,
        ),
        (
            "BB-06",
            "年度內部稽核與管理審查 (TAF 申請前)",
            now + timedelta(days=3),
            None,
            Role.QA_OFFICER,
        ),
    ]
    for rule_id, title, due_at, subject, role in wanted:
        if Obligation.objects.filter(organization=demo, rule_id=rule_id, title=title).exists():
            continue
        services.obligation_open(
            organization=demo,
            rule_id=rule_id,
            title=title,
            due_at=due_at,
            subject=subject,
            responsible_role=role,
        )
    other = context.organizations["OTHER"]
    if not Obligation.objects.filter(organization=other).exists():
        services.obligation_open(
            organization=other,
            rule_id="BS-12",
            title="他院年度演練",
            due_at=now + timedelta(days=2),
            responsible_role=Role.BIOBANK_MANAGER,
        )


def _calendar(context: DemoContext) -> None:
    if not CalendarOverride.objects.filter(date=date(2024, 7, 25)).exists():
        services.calendar_override_set(
            actor=None,
            organization=context.organizations["DEMO"],
            day=date(2024, 7, 25),
            is_working_day=False,
            reason="凱米颱風停止上班 (臺北市)",
        )


def load(context: DemoContext) -> None:
    _organizations(context)
    _people(context)
    _sites(context)
    _obligations(context)
    _calendar(context)
