"""E-mail at each step of a request (issue 7): who is told, in which language, from the
plain-text templates under templates/distribution/email/. BB-02 (the request's lifecycle),
HB-03 (withdrawal), HB-04 (approvals), BS-14 (spill)."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail
from django.utils import timezone

from biobank.distribution import services
from biobank.distribution.models import DistributionRequest, Shipment
from biobank.participants import services as participant_services
from tests.distribution.conftest import approve, new_request

pytestmark = pytest.mark.usefixtures("mail_in_english")

REVIEWERS = {"lin@example.org", "lee@example.org"}  # distribution.review
FULFILMENT = {"lin@example.org", "chen@example.org"}  # distribution.fulfil
REQUESTER = {"huang@example.org"}


def _sent() -> list[tuple[str, set[str], str]]:
    """What went out since the outbox was last cleared: (subject, recipients, body)."""
    return [(m.subject, set(m.to), m.body) for m in mail.outbox]


def _only(subject_part: str) -> tuple[str, set[str], str]:
    found = [sent for sent in _sent() if subject_part in sent[0]]
    assert len(found) == 1, _sent()
    return found[0]


def _shipped(cast, barcodes=("WB-1",)) -> tuple[DistributionRequest, Shipment]:
    request = new_request(cast, quantity_per_specimen=None, unit="", data_fields=["hba1c"])
    approve(cast, request, bodies=("ethics_committee", "central_authority"))
    services.request_reserve(actor=cast.technician, request=request, barcodes=list(barcodes))
    shipment = services.shipment_create(
        actor=cast.technician, request=request, temperature="ambient", courier="黑貓",
        tracking_number="TW-1",
    )  # fmt: skip
    request.refresh_from_db()
    return request, shipment


def test_bb02_submitted_request_goes_to_the_reviewers(cast, stock):
    request = new_request(cast)
    mail.outbox.clear()
    services.request_submit(actor=cast.researcher, request=request)
    subject, to, body = _only("New request to review")
    assert subject.startswith(f"[{request.code}]")
    assert to == REVIEWERS
    assert "Type 2 diabetes biomarkers" in body and f"/distribution/{request.public_id}/" in body


def test_hb04_review_decisions_and_the_mta_go_to_the_requester(cast, stock):
    request = new_request(cast)
    services.request_submit(actor=cast.researcher, request=request)
    mail.outbox.clear()
    services.request_review_start(actor=cast.manager, request=request)
    assert _only("Your request is under review")[1] == REQUESTER
    services.approval_record(
        actor=cast.manager, request=request, body="ethics_committee", decision="approved",
        decided_on=date(2026, 1, 5), reference="EC-7", conditions="no resale",
    )  # fmt: skip
    _subject, to, body = _only("Decision recorded")
    assert to == REQUESTER and "EC-7" in body and "no resale" in body
    services.agreement_record(
        actor=cast.manager, request=request, terms="study only", signed_on=date(2026, 1, 6),
        recipient_signatory="黃建國",
    )  # fmt: skip
    assert _only("Material transfer agreement recorded")[1] == REQUESTER


def test_hb04_approval_tells_the_requester_and_the_fulfilment_staff(cast, stock):
    request = new_request(cast)
    mail.outbox.clear()
    approve(cast, request)
    assert _only("Your request is approved")[1] == REQUESTER
    assert _only("Request approved: prepare the material")[1] == FULFILMENT


def test_hb04_rejection_tells_the_requester_why(cast, stock):
    request = new_request(cast)
    services.request_submit(actor=cast.researcher, request=request)
    services.request_review_start(actor=cast.manager, request=request)
    mail.outbox.clear()
    services.request_reject(actor=cast.manager, request=request, reason="scope too wide")
    _subject, to, body = _only("Your request was rejected")
    assert to == REQUESTER and "scope too wide" in body


def test_hb04_a_committee_rejection_tells_the_requester(cast, stock):
    request = new_request(cast)
    services.request_submit(actor=cast.researcher, request=request)
    mail.outbox.clear()
    services.approval_record(
        actor=cast.manager, request=request, body="ethics_committee", decision="rejected",
        decided_on=date(2026, 1, 5), reference="EC-8", conditions="consent does not cover it",
    )  # fmt: skip
    _subject, to, body = _only("Your request was rejected")
    assert to == REQUESTER and "EC-8" in body and "consent does not cover it" in body


def test_bb02_reservation_sends_the_pick_list_and_tells_the_requester(cast, stock):
    request = new_request(cast)
    approve(cast, request)
    mail.outbox.clear()
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-1", "WB-2"])
    subject, to, body = _only("specimens reserved: the pick list is ready")
    assert "2 specimens reserved" in subject
    assert to == FULFILMENT and "WB-1" in body and "WB-2" in body
    subject, to, body = _only("Your material is being prepared")
    assert to == REQUESTER and "2 specimens are reserved" in body
    assert "WB-1" not in body  # the requester is not sent the biobank's barcodes to pick


def test_bb02_shipping_tells_the_requester_the_courier_and_the_items(cast, stock):
    request = new_request(cast, quantity_per_specimen=None, unit="")
    approve(cast, request)
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-1"])
    mail.outbox.clear()
    services.shipment_create(
        actor=cast.technician, request=request, temperature="ambient", courier="黑貓",
        tracking_number="TW-1",
    )  # fmt: skip
    _subject, to, body = _only("Your material is on its way")
    assert to == REQUESTER
    assert "黑貓 TW-1" in body and "WB-1" in body and "exempt" in body


def test_bb02_receipt_tells_the_fulfilment_staff_item_by_item(cast, stock):
    _request, shipment = _shipped(cast, barcodes=("WB-1", "WB-2"))
    mail.outbox.clear()
    services.shipment_receive(
        actor=cast.researcher, shipment=shipment, condition="partial", missing=["WB-2"],
        note="one tube short",
    )  # fmt: skip
    subject, to, body = _only("Receipt confirmed")
    assert "partly received" in subject
    assert to == FULFILMENT
    assert "WB-2: missing" in body and "one tube short" in body and "WB-1" not in body


def test_bs14_a_spill_goes_to_the_fulfilment_staff_and_the_biosafety_officers(cast, stock):
    _request, shipment = _shipped(cast)
    mail.outbox.clear()
    services.spill_report(
        actor=cast.researcher, shipment=shipment, notified_at=timezone.now(),
        reported_by="courier", description="box wet",
    )  # fmt: skip
    _subject, to, body = _only("Spill reported in transport (BS-14)")
    assert to == FULFILMENT | {"chang@example.org"}  # specimen.destroy: the biosafety officer
    assert "box wet" in body


def test_hb01_data_release_tells_the_requester(cast, stock):
    request, _shipment = _shipped(cast)
    mail.outbox.clear()
    services.data_release(actor=cast.technician, request=request)
    _subject, to, body = _only("Data released")
    assert to == REQUESTER and "hba1c" in body and "coded records" in body


def test_bb02_a_return_tells_the_requester(cast, stock):
    _request, shipment = _shipped(cast)
    item = shipment.items.get()
    mail.outbox.clear()
    services.item_return(actor=cast.technician, item=item, condition="intact")
    subject, to, body = _only("Return recorded")
    assert to == REQUESTER and "WB-1" in subject and "intact" in body


def test_hb03_recipient_destruction_tells_the_reviewers_and_the_fulfilment_staff(cast, stock):
    _request, shipment = _shipped(cast)
    item = shipment.items.get()
    mail.outbox.clear()
    services.recipient_destruction_record(
        actor=cast.researcher, item=item, destroyed_on=timezone.localdate(), method="autoclave"
    )
    _subject, to, body = _only("Destruction by the recipient recorded")
    assert to == REVIEWERS | FULFILMENT and "autoclave" in body and "HB-03" in body


def test_bb02_cancellation_tells_the_staff_and_a_requester_who_did_not_cancel(cast, stock):
    request = new_request(cast)
    approve(cast, request)
    mail.outbox.clear()
    services.request_cancel(actor=cast.manager, request=request, reason="funding ended")
    found = [sent for sent in _sent() if "Request cancelled" in sent[0]]
    recipients = set().union(*(to for _s, to, _b in found))
    assert recipients == REVIEWERS | FULFILMENT | REQUESTER
    assert all("funding ended" in body for _s, _to, body in found)


def test_hb03_withdrawal_tells_the_fulfilment_staff_what_left_the_pick_list(cast, stock):
    request = new_request(cast)
    approve(cast, request)
    services.request_reserve(actor=cast.technician, request=request, barcodes=["WB-1", "WB-2"])
    mail.outbox.clear()
    participant_services.consent_withdraw(
        actor=cast.manager, participant=stock.participants[0], on=timezone.localdate()
    )
    subject, to, body = _only("a participant withdrew consent (HB-03)")
    assert to == FULFILMENT
    assert "Taken off the pick list: WB-1" in body and "WB-2" not in body
    assert "DM0001" not in subject + body  # the participant code stays inside the biobank


def test_mail_is_written_in_the_site_language_when_the_user_has_none(cast, stock, settings):
    # the user model records no language: the site's default, Traditional Chinese
    settings.LANGUAGE_CODE = "zh-hant"
    request = new_request(cast)
    mail.outbox.clear()
    approve(cast, request)
    subjects = [m.subject for m in mail.outbox if m.to == ["huang@example.org"]]
    assert f"[{request.code}] 您的申請已核准" in subjects


def test_people_without_an_address_or_no_longer_active_get_nothing(cast, stock):
    cast.technician.email = ""
    cast.technician.save(update_fields=["email"])
    request = new_request(cast)
    mail.outbox.clear()
    approve(cast, request)
    assert _only("Request approved: prepare the material")[1] == {"lin@example.org"}
