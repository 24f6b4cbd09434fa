"""Distribution services: from request to receipt, with the rules enforced on the way."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, Obligation
from biobank.distribution import selectors, services
from biobank.distribution.models import LedgerEntry, RequestItem
from biobank.participants import rules as consent_rules
from biobank.participants import services as participant_services
from biobank.specimens.models import Specimen, SpecimenEvent
from biobank.storage.models import Placement
from tests.distribution.conftest import approve, new_request

D = Decimal


def test_bb02_narrative_from_request_to_receipt(cast, stock, mail_in_english):
    # Given a researcher's request for 2 mL of whole blood from 3 participants
    request = new_request(cast, participants_wanted=3, data_fields=["hba1c"])
    assert request.status == "draft"
    services.request_submit(actor=cast.researcher, request=request)
    assert any("New request to review" in m.subject for m in mail.outbox)

    # the eligibility page: 4 whole-blood tubes match
    result = services.eligibility(request)
    assert (result.summary.eligible, result.summary.excluded) == (4, 0)

    # When the ethics committee and the central review approve and the MTA is signed
    approve(cast, request, bodies=("ethics_committee", "central_authority"))
    assert request.status == "approved"

    # Then the technician reserves one specimen per participant, up to 3
    items = services.request_reserve(actor=cast.technician, request=request)
    assert len(items) == 3
    assert {i.specimen.status for i in items} == {Specimen.Status.RESERVED}
    request.refresh_from_db()
    assert request.status == "fulfilling"

    # the pick list is in storage order: reversed placement → WB-4 first
    lines = selectors.pick_list(request)
    assert [line.item.specimen.barcode for line in lines] == ["WB-3", "WB-2", "WB-1"]
    assert lines[0].location.startswith("BOX-A")

    # shipping aliquots 2 mL of each tube on the way, on dry ice, exempt specimens (BS-02)
    shipment = services.shipment_create(
        actor=cast.technician,
        request=request,
        temperature="dry_ice",
        dry_ice_kg=D("5"),
        courier="黑貓宅急便",
        tracking_number="TW123456",
    )
    assert shipment.packaging_category == "exempt"
    shipped = list(RequestItem.objects.filter(request=request).select_related("shipped"))
    assert all(i.state == "shipped" for i in shipped)
    for item in shipped:
        assert item.shipped.status == Specimen.Status.DISTRIBUTED
        assert item.shipped.quantity == D("2")
        assert item.shipped.events.filter(activity=SpecimenEvent.Activity.DISTRIBUTION).exists()
        parent = Specimen.objects.get(pk=item.specimen_id)
        assert parent.status == Specimen.Status.AVAILABLE
        assert parent.remaining == D("7")  # 10 - 1 for DNA - 2 shipped
        assert Placement.objects.filter(specimen=parent).exists()  # the tube stays stored
    entry = LedgerEntry.objects.get(organization=cast.demo, direction="given")
    assert entry.specimens == 3

    # And the researcher confirms receipt
    receipt = services.shipment_receive(
        actor=cast.researcher, shipment=shipment, condition="complete"
    )
    request.refresh_from_db()
    assert (receipt.items_received, request.status) == (3, "received")
    assert RequestItem.objects.filter(request=request, state="received").count() == 3
    assert AuditEvent.objects.filter(object_type="distribution.receipt").exists()
    assert any("Receipt confirmed" in m.subject for m in mail.outbox)

    # Data released with the material are coded and limited to the approved fields (HB-01)
    release = services.data_release(actor=cast.technician, request=request)
    assert release.header == ["code", "material_type", "hba1c"]
    assert all(row["code"].startswith(request.code) for row in release.rows)
    assert "DM0001" not in str(release.rows)
    assert release.record.participants.count() == 3

    services.request_close(actor=cast.manager, request=request)
    request.refresh_from_db()
    assert request.status == "closed"


def test_bb02_shipping_a_whole_specimen_frees_its_position(cast, stock):
    request = new_request(cast, quantity_per_specimen=None, unit="")
    approve(cast, request)
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-1"])
    services.shipment_create(
        actor=cast.technician,
        request=request,
        temperature="ambient",
        courier="courier",
        tracking_number="1",
    )
    tube = Specimen.objects.get(barcode="WB-1")
    assert tube.status == Specimen.Status.DISTRIBUTED
    assert not Placement.objects.filter(specimen=tube).exists()


def test_hb03_a_withdrawn_participants_specimen_never_appears_in_a_pick_list(cast, stock):
    request = new_request(cast)
    approve(cast, request)
    services.request_reserve(actor=cast.technician, request=request)
    assert len(selectors.pick_list(request)) == 4
    # When participant DM0001 withdraws
    participant_services.consent_withdraw(
        actor=cast.manager, participant=stock.participants[0], on=timezone.localdate()
    )
    # Then their tube leaves the pick list and cannot be reserved again
    barcodes = [line.item.specimen.barcode for line in selectors.pick_list(request)]
    assert "WB-1" not in barcodes and len(barcodes) == 3
    assert RequestItem.objects.get(request=request, specimen__barcode="WB-1").state == "released"
    with pytest.raises(ApplicationError) as refused:
        services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-1"])
    assert refused.value.rule == "HB-03"


def test_hb03_withdrawal_notifies_every_recipient_listed_on_the_request(cast, stock):
    request = new_request(cast)
    approve(cast, request)
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-1"])
    services.shipment_create(
        actor=cast.technician,
        request=request,
        temperature="ambient",
        courier="c",
        tracking_number="t",
    )
    preview = participant_services.withdrawal_preview(stock.participants[0])
    assert [r.key for r in preview.notify] == [request.recipient_key]
    participant_services.consent_withdraw(
        actor=cast.manager, participant=stock.participants[0], on=timezone.localdate()
    )
    notices = list(selectors.withdrawal_notices(request))
    assert len(notices) == 1 and notices[0].rule_id == "HB-03"


def test_hb05_whole_blood_cannot_go_abroad_while_dna_with_approval_can(cast, stock):
    # Whole blood abroad: every tube is excluded, even with the export approval
    blood = new_request(cast, destination_country="JP", destination_institution="Kyoto U")
    result = services.eligibility(blood)
    assert result.summary.eligible == 0
    assert result.summary.by_reason[0][:3] == ("destination", "HB-05", 4)
    assert services.eligibility_summary(blood) == result.summary
    # and the request itself is not approved, even with the export approval
    with pytest.raises(ApplicationError) as refused:
        approve(cast, blood, bodies=("ethics_committee", "export"))
    assert refused.value.rule == "HB-05" and "WHOLE_BLOOD" in refused.value.message
    status = services.export_status(blood)
    assert not status.types and status.approval is not None and status.mta

    # DNA abroad without the export approval: not fulfilled (HB-05)
    dna = new_request(
        cast,
        destination_country="JP",
        destination_institution="Kyoto U",
        material_types=["DNA"],
        quantity_per_specimen=D("5"),
        unit="µg",
        genetic_study=True,
    )
    services.request_submit(actor=cast.researcher, request=dna)
    services.approval_record(
        actor=cast.manager,
        request=dna,
        body="ethics_committee",
        decision="approved",
        decided_on=date(2026, 1, 5),
        reference="EC-1",
    )
    with pytest.raises(ApplicationError) as missing:
        services.request_approve(actor=cast.manager, request=dna)
    assert missing.value.rule == "HB-05"
    assert services.eligibility(dna).summary.eligible == 0

    # With the central authority's export approval, DNA ships abroad
    services.approval_record(
        actor=cast.manager,
        request=dna,
        body="export",
        decision="approved",
        decided_on=date(2026, 1, 7),
        reference="MOHW-EXPORT-1",
    )
    services.agreement_record(
        actor=cast.manager,
        request=dna,
        terms="Export approved by MOHW-EXPORT-1",
        signed_on=date(2026, 1, 8),
        recipient_signatory="Dr Sato",
    )
    services.request_approve(actor=cast.manager, request=dna)
    assert services.eligibility(dna).summary.eligible == 4
    services.request_reserve(actor=cast.technician, request=dna)
    shipment = services.shipment_create(
        actor=cast.technician,
        request=dna,
        temperature="cold_chain",
        courier="DHL",
        tracking_number="JD01",
    )
    assert shipment.items.count() == 4


def test_hb04_no_fulfilment_before_approvals_and_mta(cast, stock):
    request = new_request(cast)
    services.request_submit(actor=cast.researcher, request=request)
    with pytest.raises(ApplicationError):
        services.request_reserve(actor=cast.technician, request=request)
    services.approval_record(
        actor=cast.manager,
        request=request,
        body="ethics_committee",
        decision="approved",
        decided_on=date(2026, 1, 5),
        reference="EC-1",
    )
    services.request_approve(actor=cast.manager, request=request)
    with pytest.raises(ApplicationError) as refused:
        services.request_reserve(actor=cast.technician, request=request)
    assert refused.value.rule == "HB-04"
    assert "transfer agreement" in refused.value.message


def test_hb04_consent_blocks_commercial_use_grouped_by_reason(cast, stock):
    request = new_request(cast, commercial=True)
    result = services.eligibility(request)
    assert result.summary.eligible == 0
    key, rule, count, reasons = result.summary.by_reason[0]
    assert (key, rule, count) == ("consent", "HB-04", 4)
    assert "commercial" in reasons[0]


def test_bb04_insufficient_quantity_is_a_reason(cast, stock):
    request = new_request(cast, quantity_per_specimen=D("9.5"))
    summary = services.eligibility(request).summary
    assert summary.by_reason[0][:3] == ("quantity", "BB-04", 4)


def test_hb04_expired_irb_approval_blocks_distribution(cast, stock):
    request = new_request(cast, irb_valid_from=date(2020, 1, 1), irb_valid_until=date(2021, 1, 1))
    assert services.eligibility(request).summary.by_reason[0][:2] == ("irb", "HB-04")


def test_bs02_infectious_material_is_packed_by_risk_group(cast, stock):
    Specimen.objects.filter(barcode="WB-1").update(infectious=True)
    request = new_request(cast)
    approve(cast, request)
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-1"])
    with pytest.raises(ApplicationError) as refused:
        services.shipment_create(
            actor=cast.technician,
            request=request,
            temperature="ambient",
            courier="c",
            tracking_number="t",
        )
    assert refused.value.rule == "BS-02"
    shipment = services.shipment_create(
        actor=cast.technician,
        request=request,
        temperature="ambient",
        courier="c",
        tracking_number="t",
        risk_group=2,
    )
    assert (shipment.packaging_category, shipment.packing_instruction) == ("UN3373", "P650")


def test_bs14_spill_of_infectious_material_opens_the_24_hour_report(cast, stock):
    Specimen.objects.filter(barcode="WB-1").update(infectious=True)
    request = new_request(cast)
    approve(cast, request)
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-1"])
    shipment = services.shipment_create(
        actor=cast.technician,
        request=request,
        temperature="ambient",
        courier="c",
        tracking_number="t",
        risk_group=2,
    )
    notified = timezone.now()
    services.spill_report(
        actor=cast.researcher,
        shipment=shipment,
        notified_at=notified,
        reported_by="courier",
        description="tube cracked in the box",
    )
    report = Obligation.objects.get(rule_id="BS-14", title__contains="authorit")
    assert report.due_at == notified + timedelta(hours=24)


def test_bs14_spill_of_non_infectious_material_opens_no_obligation(cast, stock):
    request = new_request(cast)
    approve(cast, request)
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-1"])
    shipment = services.shipment_create(
        actor=cast.technician, request=request, temperature="ambient", courier="c",
        tracking_number="t",
    )  # fmt: skip
    services.spill_report(
        actor=cast.researcher,
        shipment=shipment,
        notified_at=timezone.now(),
        reported_by="receiver",
        description="leak",
    )
    assert not Obligation.objects.filter(rule_id="BS-14").exists()


def test_bb02_returned_material_comes_back_into_storage(cast, stock):
    request = new_request(cast, quantity_per_specimen=None, unit="")
    approve(cast, request)
    (item,) = services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-2"])
    services.shipment_create(
        actor=cast.technician, request=request, temperature="ambient", courier="c",
        tracking_number="t",
    )  # fmt: skip
    item.refresh_from_db()
    record = services.item_return(
        actor=cast.technician, item=item, condition="intact", unit=stock.box, position="I9"
    )
    tube = Specimen.objects.get(barcode="WB-2")
    assert tube.status == Specimen.Status.AVAILABLE
    assert tube.events.filter(activity="return").exists()
    assert record.location.startswith("BOX-A")


def test_hr04_recipient_destruction_is_recorded(cast, stock):
    request = new_request(cast)
    approve(cast, request)
    (item,) = services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-3"])
    services.shipment_create(
        actor=cast.technician, request=request, temperature="ambient", courier="c",
        tracking_number="t",
    )  # fmt: skip
    item.refresh_from_db()
    services.recipient_destruction_record(
        actor=cast.researcher, item=item, destroyed_on=timezone.localdate(), method="autoclave"
    )
    item.refresh_from_db()
    assert item.state == "destroyed"


def test_receipt_partial_needs_a_note(cast, stock):
    request = new_request(cast)
    approve(cast, request)
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-1", "WB-2"])
    shipment = services.shipment_create(
        actor=cast.technician, request=request, temperature="ambient", courier="c",
        tracking_number="t",
    )  # fmt: skip
    with pytest.raises(ApplicationError):
        services.shipment_receive(
            actor=cast.researcher, shipment=shipment, condition="partial", items_received=1
        )
    receipt = services.shipment_receive(
        actor=cast.researcher,
        shipment=shipment,
        condition="partial",
        items_received=1,
        note="one tube missing",
    )
    assert receipt.items_received == 1
    assert [line.outcome for line in receipt.lines.order_by("item_id")] == ["received", "missing"]


def _shipped_three(cast) -> tuple[list[str], object]:
    request = new_request(cast)
    approve(cast, request)
    services.request_reserve(
        actor=cast.technician, request=request, barcodes=["WB-1", "WB-2", "WB-3"]
    )
    shipment = services.shipment_create(
        actor=cast.technician, request=request, temperature="ambient", courier="c",
        tracking_number="t",
    )  # fmt: skip
    barcodes = sorted(
        RequestItem.objects.filter(shipment=shipment).values_list("shipped__barcode", flat=True)
    )
    return barcodes, shipment


def test_bb02_partial_and_damaged_receipt_names_each_items_outcome(cast, stock):
    # Given three aliquots shipped
    (first, second, third), shipment = _shipped_three(cast)
    # When the recipient reports one damaged and one missing
    receipt = services.shipment_receive(
        actor=cast.researcher,
        shipment=shipment,
        condition="damaged",
        damaged=[first],
        missing=[third],
        note="one tube cracked, one not in the box",
    )
    # Then each item's outcome is kept, and only what arrived is received
    outcomes = {line.item.shipped.barcode: line.outcome for line in receipt.lines.all()}
    assert outcomes == {first: "damaged", second: "received", third: "missing"}
    assert receipt.items_received == 2
    states = dict(
        RequestItem.objects.filter(shipment=shipment).values_list("shipped__barcode", "state")
    )
    assert states == {first: "received", second: "received", third: "shipped"}
    damaged = Specimen.objects.get(barcode=first).events.get(activity="receipt")
    assert damaged.parameters["outcome"] == "damaged"
    assert not Specimen.objects.get(barcode=third).events.filter(activity="receipt").exists()
    audit = AuditEvent.objects.get(object_type="distribution.receipt")
    assert audit.after["lines"][third] == "missing"


@pytest.mark.parametrize(
    ("condition", "damaged", "missing"),
    [
        ("complete", [0], []),  # complete yet damaged
        ("complete", [], [0]),  # complete yet missing
        ("partial", [0], []),  # partial names nothing missing
        ("damaged", [], [0]),  # damaged names nothing damaged
    ],
)
def test_bb02_receipt_condition_must_agree_with_the_items(cast, stock, condition, damaged, missing):
    barcodes, shipment = _shipped_three(cast)
    with pytest.raises(ApplicationError) as refused:
        services.shipment_receive(
            actor=cast.researcher,
            shipment=shipment,
            condition=condition,
            damaged=[barcodes[n] for n in damaged],
            missing=[barcodes[n] for n in missing],
            note="see list",
        )
    assert refused.value.rule == "BB-02"


def test_receipt_refuses_barcodes_not_in_the_shipment(cast, stock):
    barcodes, shipment = _shipped_three(cast)
    with pytest.raises(ApplicationError):
        services.shipment_receive(
            actor=cast.researcher, shipment=shipment, condition="partial", missing=["DNA-4"],
            note="x",
        )  # fmt: skip
    with pytest.raises(ApplicationError):
        services.shipment_receive(
            actor=cast.researcher, shipment=shipment, condition="damaged",
            damaged=[barcodes[0]], missing=[barcodes[0]], note="x",
        )  # fmt: skip
    with pytest.raises(ApplicationError):
        services.shipment_receive(
            actor=cast.researcher, shipment=shipment, condition="partial",
            missing=[barcodes[0]], items_received=3, note="x",
        )  # fmt: skip


def test_rejection_and_cancellation_release_material(cast, stock):
    request = new_request(cast)
    approve(cast, request)
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-4"])
    services.request_cancel(actor=cast.researcher, request=request, reason="study stopped")
    assert Specimen.objects.get(barcode="WB-4").status == Specimen.Status.AVAILABLE
    other = new_request(cast)
    services.request_submit(actor=cast.researcher, request=other)
    services.approval_record(
        actor=cast.manager,
        request=other,
        body="ethics_committee",
        decision="rejected",
        decided_on=date(2026, 1, 5),
        reference="EC-NO",
    )
    other.refresh_from_db()
    assert other.status == "rejected"


def test_only_permitted_people_act(cast, stock):
    with pytest.raises(ApplicationError):
        new_request(cast, actor=cast.technician)
    request = new_request(cast)
    services.request_submit(actor=cast.researcher, request=request)
    with pytest.raises(ApplicationError):
        services.request_review_start(actor=cast.researcher, request=request)
    with pytest.raises(ApplicationError):
        services.request_submit(actor=cast.outsider, request=request)


def test_hb01_identity_fields_are_never_requested(cast, stock):
    with pytest.raises(ApplicationError) as refused:
        new_request(cast, data_fields=["national_id"])
    assert refused.value.rule == "HB-01"


def test_request_needs_duo_terms_and_an_ordered_irb_period(cast):
    with pytest.raises(ApplicationError):
        new_request(cast, purposes=[])
    with pytest.raises(ApplicationError):
        new_request(cast, irb_valid_from=date(2026, 1, 2), irb_valid_until=date(2026, 1, 1))
    with pytest.raises(ApplicationError):
        new_request(cast, destination_country="Japan")
    assert new_request(cast, purposes=[consent_rules.GRU]).code.startswith("DR-")


def test_hb03_withdrawal_audits_every_reservation_and_specimen_it_releases(
    cast, stock, mail_in_english
):
    # Given a whole-blood tube reserved and a DNA aliquot retrieved for two requests
    blood_request = new_request(cast)
    approve(cast, blood_request)
    services.request_reserve(actor=cast.technician, request=blood_request, barcodes=["WB-1"])
    dna_request = new_request(cast, material_types=["DNA"], quantity_per_specimen=D("5"), unit="µg")
    approve(cast, dna_request)
    (dna_item,) = services.request_reserve(
        actor=cast.technician, request=dna_request, barcodes=["DNA-1"]
    )
    retrieved = services.item_retrieve(actor=cast.technician, item=dna_item)
    aliquot = retrieved.shipped
    assert aliquot is not None and aliquot.status == Specimen.Status.RESERVED
    mail.outbox.clear()

    # When participant DM0001 withdraws
    participant_services.consent_withdraw(
        actor=cast.manager, participant=stock.participants[0], on=timezone.localdate()
    )

    # Then each item released and each specimen set free has its own audit event
    for specimen in (Specimen.objects.get(barcode="WB-1"), aliquot):
        specimen.refresh_from_db()
        assert specimen.status == Specimen.Status.AVAILABLE
        event = AuditEvent.objects.filter(
            object_type="specimens.specimen", object_id=str(specimen.pk)
        ).latest("sequence")
        assert (event.before["status"], event.after["status"]) == ("reserved", "available")
        assert "DM0001 withdrew consent (HB-03)" in event.reason
        assert event.actor_id == cast.manager.pk  # who recorded the withdrawal
    for item in RequestItem.objects.filter(specimen__participant=stock.participants[0]):
        assert item.state == "released"
        event = AuditEvent.objects.filter(
            object_type="distribution.requestitem", object_id=str(item.pk)
        ).latest("sequence")
        assert event.after["state"] == "released" and "HB-03" in event.reason
        assert event.actor_id == cast.manager.pk
        assert event.before["state"] in {"reserved", "retrieved"}
    # and the people fulfilling each request are told that its pick list changed
    told = [m for m in mail.outbox if "Reservation released" in m.subject]
    assert {m.subject.split("]")[0][1:] for m in told} == {blood_request.code, dna_request.code}
    assert any("WB-1" in m.body for m in told)


def _register_infectious(cast, barcode: str, agent_code: str):
    from biobank.biosafety import services as biosafety_services
    from biobank.biosafety.models import Agent

    return biosafety_services.material_register(
        actor=cast.biosafety,
        organization=cast.demo,
        code=f"IM-{barcode}",
        agent=Agent.objects.get(organization__isnull=True, code=agent_code),
        material_class=3,
        regime="human",
        form="other",
        quantity=D("1"),
        unit="tube",
        site=cast.demo_site,
        specimen=Specimen.objects.get(barcode=barcode),
    )


def _ship(cast, request, **extra):
    return services.shipment_create(
        actor=cast.technician, request=request, temperature="ambient", courier="c",
        tracking_number="t", **extra,
    )  # fmt: skip


def test_bs02_risk_group_comes_from_the_biosafety_register(cast, stock):
    # Given WB-1 recorded with HBV (RG2) and WB-2 with M. tuberculosis (RG3) in the register
    _register_infectious(cast, "WB-1", "hbv")
    _register_infectious(cast, "WB-2", "m-tuberculosis")
    request = new_request(cast)
    approve(cast, request)
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-1", "WB-2"])
    preview = services.shipment_risk_group_preview(request)
    assert (preview.risk_group, preview.source) == (3, "register")
    # When the technician ships, entering risk group 2 by hand
    shipment = _ship(cast, request, risk_group=2)
    # Then the highest risk group of the register chooses the packaging, with its source
    assert (shipment.risk_group, shipment.risk_group_source) == (3, "register")
    assert "Mycobacterium tuberculosis" in shipment.risk_group_basis
    assert "entered (2) is not used" in shipment.risk_group_basis
    assert shipment.infectious and shipment.packaging_category == "UN3373"


def test_bs02_register_marks_the_shipment_infectious_even_without_the_flag(cast, stock):
    _register_infectious(cast, "WB-3", "hbv")
    request = new_request(cast)
    approve(cast, request)
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-3"])
    shipment = _ship(cast, request)  # no risk group entered: the register's is used
    assert (shipment.risk_group, shipment.risk_group_source, shipment.infectious) == (
        2,
        "register",
        True,
    )


def test_bs02_without_register_records_the_entered_risk_group_is_used(cast, stock):
    Specimen.objects.filter(barcode="WB-1").update(infectious=True)
    request = new_request(cast)
    approve(cast, request)
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-1"])
    assert services.shipment_risk_group_preview(request).source == ""
    shipment = _ship(cast, request, risk_group=2)
    assert (shipment.risk_group, shipment.risk_group_source) == (2, "form")
    assert "as entered" in shipment.risk_group_basis
