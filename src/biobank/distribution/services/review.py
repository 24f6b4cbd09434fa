"""Review: the ethics committee's, central review's and export decisions, the MTA, approval
and rejection (HB-04, HB-05).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.core.audit import audit_record, snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, User
from biobank.core.tenancy import require_permission
from biobank.distribution import rules
from biobank.distribution.models import (
    Approval,
    DistributionRequest,
    TransferAgreement,
)
from biobank.distribution.services.common import (
    Status,
    _approved_bodies,
    _check,
    _digest,
    _locked,
    _move,
    _tell_requester,
    _tell_staff,
)
from biobank.distribution.services.export_list import (
    ExportListLine,
    export_list,
    export_list_codes,
)


@transaction.atomic
def request_review_start(
    *, actor: User | None, request: DistributionRequest
) -> DistributionRequest:
    require_permission(actor, "distribution.review", request.organization)
    request = _locked(request)
    _move(actor, request, Status.UNDER_REVIEW)
    _tell_requester(request, "under_review")
    return request


@transaction.atomic
def approval_record(
    *,
    actor: User | None,
    request: DistributionRequest,
    body: str,
    decision: str,
    decided_on: date,
    reference: str,
    conditions: str = "",
    document: File | None = None,
) -> Approval:
    """Record a body's decision with its date and document (HB-04; export approval HB-05)."""
    require_permission(actor, "distribution.review", request.organization)
    request = _locked(request)
    if body not in Approval.Body.values or decision not in Approval.Decision.values:
        raise ApplicationError(_("Unknown body or decision."))
    if request.status not in {
        Status.SUBMITTED,
        Status.UNDER_REVIEW,
        Status.APPROVED,
        Status.FULFILLING,
    }:
        raise ApplicationError(_("Decisions are recorded on a submitted request."), rule="HB-04")
    if decided_on > timezone.localdate():
        raise ApplicationError(_("The decision date is in the future."))
    if not reference.strip():
        raise ApplicationError(_("Give the decision's reference."), rule="HB-04")
    if request.status == Status.SUBMITTED:
        _move(actor, request, Status.UNDER_REVIEW)
    approval = Approval(
        request=request,
        body=body,
        decision=decision,
        decided_on=decided_on,
        reference=reference.strip(),
        conditions=conditions.strip(),
        recorded_by=actor,
    )
    if document is not None:
        approval.document_sha256 = _digest(document)
        approval.document.save(document.name or "decision", document, save=False)
    approval.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=request.organization,
        instance=approval,
        after=snapshot(approval),
    )
    rule = "HB-05" if body == Approval.Body.EXPORT else "HB-04"
    if decision == Approval.Decision.REJECTED and request.status == Status.UNDER_REVIEW:
        _move(actor, request, Status.REJECTED, reason=f"{body} rejected ({rule})")
        _tell_requester(request, "rejected", reason=approval.conditions, approval=approval)
    else:
        _tell_requester(request, "decision", approval=approval)
    return approval


@transaction.atomic
def agreement_record(
    *,
    actor: User | None,
    request: DistributionRequest,
    terms: str,
    signed_on: date,
    recipient_signatory: str,
    study_ends_on: date | None = None,
    document: File | None = None,
) -> TransferAgreement:
    """Attach the signed material transfer agreement with its terms (HB-04, HB-05)."""
    require_permission(actor, "distribution.review", request.organization)
    request = _locked(request)
    if request.status in {Status.DRAFT, Status.REJECTED, Status.CANCELLED, Status.CLOSED}:
        raise ApplicationError(_("An MTA is attached to a request under review or approved."))
    if TransferAgreement.objects.filter(request=request).exists():
        raise ApplicationError(_("This request already has its MTA."))
    if not terms.strip() or not recipient_signatory.strip():
        raise ApplicationError(_("An MTA has its terms and the recipient's signatory."))
    if request.abroad:
        _check(rules.mta_states_export(terms))
    agreement = TransferAgreement(
        request=request,
        terms=terms.strip(),
        signed_on=signed_on,
        recipient_signatory=recipient_signatory.strip(),
        study_ends_on=study_ends_on,
        recorded_by=actor,
    )
    if document is not None:
        agreement.document_sha256 = _digest(document)
        agreement.document.save(document.name or "mta", document, save=False)
    agreement.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=request.organization,
        instance=agreement,
        after=snapshot(agreement),
    )
    _tell_requester(request, "agreement", agreement=agreement)
    return agreement


def export_types_decision(request: DistributionRequest) -> rules.Decision:
    """Whether the material types asked for may go to the destination (HB-05)."""
    return rules.export_requested_types(
        country=request.destination_country,
        material_types=[
            ((t.maps_to or t).code, (t.maps_to or t).category_id)
            for t in request.material_types.select_related("maps_to")
        ],
        export_list=export_list_codes(request.organization) if request.abroad else frozenset(),
    )


@dataclass(frozen=True)
class ExportStatus:
    """What the request page shows of an export abroad (HB-05)."""

    derivatives: list[ExportListLine]
    types: rules.Decision
    approval: Approval | None
    mta: rules.Decision | None


def export_status(request: DistributionRequest) -> ExportStatus | None:
    """For a request going abroad: the export list, whether the types asked for are on it, the
    central authority's export approval and whether the MTA states it (HB-05)."""
    if not request.abroad:
        return None
    approvals = [a for a in request.approvals.all() if a.body == Approval.Body.EXPORT]
    latest = approvals[-1] if approvals else None
    agreement = TransferAgreement.objects.filter(request=request).first()
    return ExportStatus(
        derivatives=[line for line in export_list(request.organization) if line.listed],
        types=export_types_decision(request),
        approval=latest if latest and latest.decision == Approval.Decision.APPROVED else None,
        mta=rules.mta_states_export(agreement.terms) if agreement else None,
    )


@transaction.atomic
def request_approve(*, actor: User | None, request: DistributionRequest) -> DistributionRequest:
    """Approve once the ethics committee (and, where required, the central authority) approved
    (HB-04, HB-05), and, going abroad, only for derivatives on the export list (HB-05). The MTA
    may follow; fulfilment waits for it."""
    require_permission(actor, "distribution.review", request.organization)
    request = _locked(request)
    _check(export_types_decision(request))
    decision = rules.approvals_complete(
        wants_data=bool(request.data_fields),
        abroad=request.abroad,
        approved=_approved_bodies(request),
        mta_signed=True,
    )
    _check(decision)
    _move(actor, request, Status.APPROVED)
    _tell_requester(request, "approved")
    _tell_staff(request, "distribution.fulfil", "approved_fulfil")
    return request


@transaction.atomic
def request_reject(
    *, actor: User | None, request: DistributionRequest, reason: str
) -> DistributionRequest:
    require_permission(actor, "distribution.review", request.organization)
    if not reason.strip():
        raise ApplicationError(_("Say why."))
    request = _locked(request)
    _move(actor, request, Status.REJECTED, reason=reason)
    _tell_requester(request, "rejected", reason=reason)
    return request
