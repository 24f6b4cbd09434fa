"""Biosafety for ``biobank demo``: an ABSL2 animal room beside the BSL2 and BSL3 labs, the
biosafety committee, materials across risk groups, approvals, and last month's inventory of
the BSL3 lab with one missing vial of M. tuberculosis (scenario 5) whose clocks are running.
Then the workflows: training records with one person not compliant (BS-09), the approved
emergency plan with a field drill due within weeks (BS-12, HP-05), and a closed incident whose
suspended stock was used again after the committee and the authorities agreed (BS-13)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from biobank.biosafety import services
from biobank.biosafety.models import Agent, Committee, InfectiousMaterial, LabWorker
from biobank.core import services as core_services
from biobank.core.demo import DemoContext
from biobank.core.models import Site

PLAN_PARTS = {
    "response_team": "生物安全官張家豪為指揮官；實驗室主管、技術員組成應變小組",
    "grading_and_risk_assessment": "依意外事件等級表分四級，由生物安全官評估暴露風險",
    "alert_handling_reporting": "發現者立即通知生物安全官；第二級以上 24 小時內陳報主管機關",
    "supplies_inventory": "溢出處理包每月檢查，漂白水、吸附材料、個人防護裝備",
    "medical_procedure": "暴露者沖洗後送急診感染科，依暴露後處置流程追蹤",
    "responder_protection": "N95 口罩、防護衣、雙層手套、護目鏡",
    "evacuation": "依樓層疏散路線撤離，關閉負壓區門禁",
    "cleanup_and_investigation": "消毒 30 分鐘後清除；生安會七日內完成調查報告",
}

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
    _register(context)
    _workflows(context)


def _register(context: DemoContext) -> None:
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
    # BS-06: the meeting that approved holding the human-regime material, with its minutes
    meeting = services.meeting_record(
        actor=chang,
        committee=committee,
        held_on=date(2025, 4, 10),
        agenda="一、感染性生物材料持有申請\n二、年度內部稽核計畫",
        attendees=committee.members.all(),
        minutes="出席委員三人。持有申請全數通過；第三級危險群微生物另送中央主管機關核准。",
    )
    services.decision_record(
        actor=chang,
        meeting=meeting,
        decides="other",
        outcome="approved",
        subject="115 年度內部生物安全稽核計畫",
    )
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
        if regime == committee.regime:
            services.decision_record(
                actor=chang,
                meeting=meeting,
                decides="approval",
                outcome="approved",
                approval=approval,
                reference=f"BSC-2025-004-{code}",
            )
        else:
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


def _workflows(context: DemoContext) -> None:
    demo = context.organizations["DEMO"]
    if LabWorker.objects.filter(organization=demo).exists():
        return
    chang, today = context.users["chang"], timezone.localdate()
    sites = {site.code: site for site in Site.objects.filter(organization=demo)}
    # Training (BS-09): chang and chen complete, lin missing the yearly hours and the test.
    for username, days_in_post, yearly, tested in (
        ("chang", 400, True, True),
        ("chen", 100, False, True),
        ("lin", 500, False, False),
    ):
        started = today - timedelta(days=days_in_post)
        worker = services.worker_register(
            actor=chang, organization=demo, user=context.users[username], started_on=started
        )
        services.training_record_add(
            actor=chang,
            worker=worker,
            kind="course",
            title="實驗室生物安全訓練 (疾管署認可)",
            on=started - timedelta(days=10),
            hours=Decimal(8),
            recognised=username != "lin",
            provider="衛生福利部疾病管制署",
        )
        if yearly:
            services.training_record_add(
                actor=chang,
                worker=worker,
                kind="course",
                title="年度生物安全在職訓練",
                on=started + timedelta(days=180),
                hours=Decimal(4),
                provider="本院生物安全會",
            )
        if tested:
            services.training_record_add(
                actor=chang,
                worker=worker,
                kind="operating_test",
                title="第二級生物安全櫃操作測試",
                on=started + timedelta(days=2),
                tester_name="張家豪",
                tester_is_supervisor=True,
            )
            services.assignment_create(
                actor=chang, worker=worker, site=sites["LAB-BSL3"], assigned_on=today
            )
    # The emergency plan (BS-12) and its drills: the year's field drill falls due in 2 weeks.
    plan = services.plan_create(
        actor=chang,
        organization=demo,
        regime="human",
        title="生物安全緊急應變計畫",
        version="2025",
        parts=PLAN_PARTS,
    )
    plan = services.plan_approve(
        actor=chang,
        plan=plan,
        approved_on=today - timedelta(days=720),
        committee_reference="BSC-2025-002",
    )
    for kind, days_ago, scenario in (
        ("full_scale", 700, "BSL-3 實驗室結核菌培養液大量溢出，全院通報與疏散"),
        ("yearly", 351, "生物安全櫃內檢體管破裂"),
    ):
        services.drill_record(
            actor=chang,
            plan=plan,
            kind=kind,
            held_on=today - timedelta(days=days_ago),
            scenario=scenario,
            participants="張家豪、陳志豪、林美華",
            findings="溢出處理包補充漂白水",
            site=sites["LAB-BSL3"],
        )
    # A closed incident (BS-13): a tube broke in the BSL-2 centrifuge two months ago.
    stock = InfectiousMaterial.objects.get(organization=demo, code="SA-01")
    noticed = timezone.now() - timedelta(days=60)
    incident = services.incident_report(
        actor=context.users["chen"],
        organization=demo,
        title="離心機內檢體管破裂",
        description="金黃色葡萄球菌菌液離心管於離心機內破裂",
        occurred_at=noticed - timedelta(minutes=15),
        noticed_at=noticed,
        level=2,
        risk_assessment="氣溶膠限於密封轉子內，操作人員未開蓋，暴露風險低",
        regime="human",
        site=sites["LAB-BSL2"],
        materials=[stock],
        reported_by="陳志豪",
    )
    services.incident_step_add(
        actor=chang,
        incident=incident,
        description="靜置 30 分鐘後於生物安全櫃內開啟轉子，以 10% 漂白水消毒",
        at=noticed + timedelta(minutes=40),
    )
    services.incident_material_measure(
        actor=chang,
        incident=incident,
        material=stock,
        measure="suspend",
        note="待生安會確認前停止使用",
        at=noticed + timedelta(hours=1),
    )
    services.incident_notice_sent(
        actor=chang,
        incident=incident,
        key="authority_notice",
        at=noticed + timedelta(hours=5),
        reference="疾管通報-115-0042",
    )
    day = timezone.localtime(noticed).date()
    services.incident_investigation_complete(
        actor=chang,
        incident=incident,
        completed_on=day + timedelta(days=3),
        findings="離心管超過使用次數；改用一次性密封管",
    )
    services.incident_notice_sent(
        actor=chang,
        incident=incident,
        key="authority_report",
        at=noticed + timedelta(days=4),
        reference="調查報告-115-0042",
    )
    services.incident_committee_confirm(
        actor=chang, incident=incident, confirmed_on=day + timedelta(days=6), reference="BSC-115-09"
    )
    services.incident_authority_consent(
        actor=chang,
        incident=incident,
        consented_on=day + timedelta(days=9),
        reference="同意-115-17",
    )
    services.incident_resume(actor=chang, incident=incident, resumed_on=day + timedelta(days=10))
    services.incident_close(actor=chang, incident=incident, closed_on=day + timedelta(days=10))
