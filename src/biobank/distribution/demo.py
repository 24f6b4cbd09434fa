"""Distribution for ``biobank demo``: Huang's fulfilled plasma request (scenario 4), a request
blocked by consent (commercial use the cohort did not consent to), and DNA exported to Japan
with the central authority's export approval (HB-05)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from biobank.core.demo import DemoContext
from biobank.distribution import services
from biobank.distribution.models import DistributionRequest
from biobank.participants import rules as consent_rules
from biobank.specimens.models import Collection

IRB_FROM, IRB_UNTIL = date(2025, 7, 1), date(2027, 6, 30)


def _approve(context: DemoContext, request: DistributionRequest, bodies: list[str]) -> None:
    lin = context.users["lin"]
    services.request_submit(actor=context.users["huang"], request=request)
    for n, body in enumerate(bodies):
        services.approval_record(
            actor=lin,
            request=request,
            body=body,
            decision="approved",
            decided_on=date(2026, 1, 12) + timedelta(days=n),
            reference={
                "ethics_committee": "DEMO-BEC-2026-004",
                "central_authority": "MOHW-BB-2026-0012",
                "export": "MOHW-EXP-2026-0003",
            }[body],
        )
    services.agreement_record(
        actor=lin,
        request=request,
        terms=(
            "僅供核准之研究計畫使用；不得轉讓第三方；研究結束後銷毀剩餘檢體並提供銷毀證明。"
            + (
                " 出口經中央主管機關核准 MOHW-EXP-2026-0003 (export approval)。"
                if request.abroad
                else ""
            )
        ),
        signed_on=date(2026, 1, 20),
        recipient_signatory="黃建國",
        study_ends_on=IRB_UNTIL,
    )
    services.request_approve(actor=lin, request=request)


def load(context: DemoContext) -> None:
    demo = context.organizations["DEMO"]
    if DistributionRequest.objects.filter(organization=demo).exists():
        return
    twdm = Collection.objects.filter(organization=demo, code="TWDM").first()
    if twdm is None:
        return
    huang, chen = context.users["huang"], context.users["chen"]
    common: dict[str, Any] = {
        "actor": huang,
        "organization": demo,
        "requester_institution": "示範大學醫學院",
        "irb_committee": "示範大學醫學院人體研究倫理審查委員會",
        "irb_valid_from": IRB_FROM,
        "irb_valid_until": IRB_UNTIL,
        "collection": twdm,
        "planned_on": timezone.localdate(),
    }

    # 1. Scenario 4: plasma of the diabetes cohort, fulfilled and received.
    plasma = services.request_create(
        **common,
        title="第二型糖尿病血漿生物標記研究",
        purpose="以血漿檢測第二型糖尿病之發炎與代謝生物標記。",
        purposes=[consent_rules.HMB],
        irb_reference="UNIV-IRB-2025-188",
        material_types=["PLASMA"],
        quantity_per_specimen=Decimal("0.5"),
        unit="mL",
        participants_wanted=20,
        destination_institution="示範大學醫學院 代謝研究室",
        data_fields=["hba1c", "fasting"],
    )
    _approve(context, plasma, ["ethics_committee", "central_authority"])
    services.request_reserve(actor=chen, request=plasma)
    shipment = services.shipment_create(
        actor=chen,
        request=plasma,
        temperature="dry_ice",
        dry_ice_kg=Decimal("5"),
        courier="台灣宅配通 低溫",
        tracking_number="TW20260202001",
        containers=1,
    )
    services.shipment_receive(actor=huang, shipment=shipment, condition="complete")
    services.data_release(actor=chen, request=plasma)

    # 2. Blocked by consent: a commercial partner; the cohort consented to non-commercial use.
    commercial = services.request_create(
        **common,
        title="藥廠合作之血漿蛋白體分析",
        purpose="與藥廠合作開發糖尿病診斷套組（商業用途）。",
        purposes=[consent_rules.HMB],
        commercial=True,
        irb_reference="UNIV-IRB-2025-240",
        material_types=["PLASMA"],
        quantity_per_specimen=Decimal("0.5"),
        unit="mL",
        participants_wanted=50,
        destination_institution="示範大學醫學院 產學合作中心",
    )
    services.request_submit(actor=huang, request=commercial)

    # 3. DNA to Japan with the central authority's export approval (HB-05).
    dna = services.request_create(
        **common,
        title="台日第二型糖尿病全基因體關聯研究",
        purpose="與京都大學合作之全基因體關聯分析，DNA 出口至日本。",
        purposes=[consent_rules.HMB],
        genetic_study=True,
        irb_reference="UNIV-IRB-2025-301",
        material_types=["DNA"],
        quantity_per_specimen=Decimal("5"),
        unit="µg",
        participants_wanted=10,
        destination_institution="Kyoto University Center for Genomic Medicine",
        destination_country="JP",
    )
    _approve(context, dna, ["ethics_committee", "export"])
    services.request_reserve(actor=chen, request=dna)
