"""Distribution use cases: requests, review and approvals, MTA, reservation, retrieval,
shipment, receipt, spills, returns, recipients' destruction, data release, the ledger.

Rules: BB-02 (distribution as a lifecycle event), HB-01 (coded data), HB-03 (withdrawal reach),
HB-04 (use within consent, approvals first), HB-05 (export), HR-04 (consent period),
BS-02 (packaging), BS-14 (spill in transport). Every change writes an audit event; every step
sends an e-mail to the people who act next.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.core import services as core_services
from biobank.core.audit import audit_record, snapshot
from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import AuditEvent, Membership, Organization, User
from biobank.core.roles import PERMISSIONS, Role
from biobank.core.tenancy import has_permission, require_permission
from biobank.distribution import rules
from biobank.distribution.models import (
    Approval,
    DataRelease,
    DistributionRequest,
    ItemReturn,
    LedgerEntry,
    Receipt,
    RecipientDestruction,
    RequestItem,
    Shipment,
    TransferAgreement,
    TransitSpill,
)
from biobank.participants import services as participant_services
from biobank.participants.models import Consent, DuoTerm, Participant
from biobank.specimens import links as specimen_links
from biobank.specimens.models import DataValue, MaterialType, Specimen, SpecimenEvent
from biobank.specimens.services.specimens import AUDITED as SPECIMEN_AUDITED
from biobank.specimens.services.specimens import specimen_aliquot

Status = DistributionRequest.Status
DOCUMENT_SIGNATURES = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
REQUEST_FIELDS = [
    "code", "status", "title", "requester", "requester_institution", "commercial",
    "genetic_study", "nhi_linkage", "irb_reference", "irb_committee", "irb_valid_from",
    "irb_valid_until", "irb_letter_sha256", "collection", "diagnosis", "quantity_per_specimen",
    "unit", "participants_wanted", "destination_institution", "destination_country",
    "data_fields", "diseases", "planned_on",
]  # fmt: skip


def _state(request: DistributionRequest) -> dict[str, Any]:
    data = snapshot(request, REQUEST_FIELDS)
    if request.pk:
        data["purposes"] = sorted(t.pk for t in request.purposes.all())
        data["material_types"] = sorted(t.code for t in request.material_types.all())
    return data


def _audit(
    actor: User | None,
    request: DistributionRequest,
    action: str,
    before: dict[str, Any] | None,
    reason: str = "",
) -> None:
    audit_record(
        actor=actor,
        action=action,
        organization=request.organization,
        instance=request,
        before=before,
        after=_state(request),
        reason=reason,
    )


def _check(decision: rules.Decision) -> None:
    if not decision:
        raise ApplicationError(decision.reason, rule=decision.rule)


def _move(
    actor: User | None, request: DistributionRequest, target: str, *, reason: str = ""
) -> None:
    _check(rules.transition_allowed(request.status, target))
    before = _state(request)
    request.status = target
    now = timezone.now()
    if target == Status.SUBMITTED:
        request.submitted_at = now
    if target in {Status.APPROVED, Status.REJECTED}:
        request.decided_at = now
    if target in {Status.CLOSED, Status.CANCELLED}:
        request.closed_at = now
    request.save()
    _audit(actor, request, AuditEvent.Action.TRANSITION, before, reason=reason or target)


def _locked(request: DistributionRequest) -> DistributionRequest:
    return (
        DistributionRequest.objects.select_for_update()
        .select_related("organization", "requester", "collection")
        .get(pk=request.pk)
    )


def _is_requester(actor: User | None, request: DistributionRequest) -> bool:
    return actor is not None and actor.pk == request.requester_id


def _require_requester_or(
    actor: User | None, permission: str, request: DistributionRequest
) -> None:
    if actor is None or _is_requester(actor, request):
        return
    if not has_permission(actor, permission, request.organization):
        raise PermissionDenied(
            _("Only the requester or someone with “%(permission)s” may do this.")
            % {"permission": permission}
        )


def _digest(document: File) -> str:
    name = document.name or "document"
    if document.size is not None and document.size > DOCUMENT_MAX_BYTES:
        raise ApplicationError(_("The document is larger than 10 MB."))
    document.seek(0)
    head = document.read(8)
    document.seek(0)
    if not any(head.startswith(magic) for magic in DOCUMENT_SIGNATURES):
        raise ApplicationError(_("The file %s is not a PDF, PNG, JPEG or TIFF document.") % name)
    digest = hashlib.sha256()
    for chunk in document.chunks():
        digest.update(chunk)
    document.seek(0)
    return digest.hexdigest()


# E-mail ---------------------------------------------------------------------------------------


def _addresses(organization: Organization, permission: str) -> list[str]:
    roles = [str(role) for role in PERMISSIONS[permission]]
    return sorted(
        set(
            Membership.objects.filter(
                organization=organization,
                role__in=roles,
                ended_at__isnull=True,
                user__is_active=True,
            )
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )


def _notify(recipients: Sequence[str], subject: str, lines: Sequence[str]) -> None:
    addresses = sorted({a for a in recipients if a})
    if not addresses:
        return
    send_mail(
        subject=subject,
        message="\n".join(lines),
        from_email=None,
        recipient_list=addresses,
    )


def _tell_requester(request: DistributionRequest, subject: str, *lines: str) -> None:
    _notify([request.requester.email], f"[{request.code}] {subject}", lines)


def _tell_staff(request: DistributionRequest, permission: str, subject: str, *lines: str) -> None:
    _notify(_addresses(request.organization, permission), f"[{request.code}] {subject}", lines)


# Requests -------------------------------------------------------------------------------------


def request_next_code(organization: Organization, today: date | None = None) -> str:
    year = (today or timezone.localdate()).year
    prefix = f"DR-{year}-"
    count = DistributionRequest.objects.filter(
        organization=organization, code__startswith=prefix
    ).count()
    return f"{prefix}{count + 1:04d}"


def _validate_country(country: str) -> str:
    country = country.strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise ApplicationError(_("Give the destination country as a two-letter code (TW, JP)."))
    return country


def _clean_list(values: Sequence[str]) -> list[str]:
    return sorted({str(v).strip() for v in values if str(v).strip()})


@transaction.atomic
def request_create(
    *,
    actor: User | None,
    organization: Organization,
    requester: User | None = None,
    requester_institution: str,
    title: str,
    purpose: str,
    purposes: Sequence[str],
    irb_reference: str,
    irb_committee: str,
    irb_valid_from: date,
    irb_valid_until: date,
    destination_institution: str,
    destination_country: str = "TW",
    diseases: Sequence[str] = (),
    commercial: bool = False,
    genetic_study: bool = False,
    nhi_linkage: bool = False,
    irb_letter: File | None = None,
    material_types: Sequence[str] = (),
    collection: Any = None,
    diagnosis: str = "",
    quantity_per_specimen: Decimal | None = None,
    unit: str = "",
    participants_wanted: int = 0,
    data_fields: Sequence[str] = (),
    planned_on: date | None = None,
) -> DistributionRequest:
    """A researcher's request for material and/or data, as a draft (BB-02, HB-04)."""
    require_permission(actor, "distribution.request", organization)
    person = requester or actor
    if person is None:
        raise ApplicationError(_("A request has a requester."))
    if not purpose.strip() or not title.strip():
        raise ApplicationError(_("Say what the material is for (title and purpose)."), rule="HB-04")
    terms = list(DuoTerm.objects.filter(pk__in=list(purposes), kind=DuoTerm.Kind.PERMISSION))
    if not terms or len(terms) != len(set(purposes)):
        raise ApplicationError(_("Name the use with DUO permission terms."), rule="HB-04")
    if irb_valid_until < irb_valid_from:
        raise ApplicationError(_("The IRB approval ends before it starts."), rule="HB-04")
    if not irb_reference.strip() or not irb_committee.strip():
        raise ApplicationError(_("Give the IRB approval reference and committee."), rule="HB-04")
    if quantity_per_specimen is not None and quantity_per_specimen <= 0:
        raise ApplicationError(_("A quantity is positive."))
    if collection is not None and collection.organization_id != organization.pk:
        raise ApplicationError(_("The collection belongs to another organization."))
    types = []
    for code in material_types:
        found = MaterialType.objects.filter(
            Q(organization__isnull=True) | Q(organization=organization), code=code
        ).first()
        if found is None:
            raise ApplicationError(_("Unknown material type %s.") % code)
        types.append(found)
    fields = _clean_list(data_fields)
    identity = set(fields) & rules.IDENTITY_FIELDS
    if identity:
        raise ApplicationError(
            _("identity is never released: %s") % ", ".join(sorted(identity)), rule="HB-01"
        )
    request = DistributionRequest(
        organization=organization,
        code=request_next_code(organization),
        requester=person,
        requester_institution=requester_institution.strip(),
        title=title.strip(),
        purpose=purpose.strip(),
        diseases=_clean_list(diseases),
        commercial=commercial,
        genetic_study=genetic_study,
        nhi_linkage=nhi_linkage,
        irb_reference=irb_reference.strip(),
        irb_committee=irb_committee.strip(),
        irb_valid_from=irb_valid_from,
        irb_valid_until=irb_valid_until,
        collection=collection,
        diagnosis=diagnosis.strip(),
        quantity_per_specimen=quantity_per_specimen,
        unit=unit,
        participants_wanted=participants_wanted,
        destination_institution=destination_institution.strip(),
        destination_country=_validate_country(destination_country),
        data_fields=fields,
        planned_on=planned_on,
    )
    if irb_letter is not None:
        request.irb_letter_sha256 = _digest(irb_letter)
        request.irb_letter.save(irb_letter.name or "irb-letter", irb_letter, save=False)
    request.save()
    request.purposes.set(terms)
    request.material_types.set(types)
    _audit(actor, request, AuditEvent.Action.CREATE, None)
    return request


@transaction.atomic
def request_submit(*, actor: User | None, request: DistributionRequest) -> DistributionRequest:
    _require_requester_or(actor, "distribution.review", request)
    request = _locked(request)
    _move(actor, request, Status.SUBMITTED)
    _tell_staff(
        request,
        "distribution.review",
        _("New request to review"),
        _("%(who)s (%(institution)s) requests: %(title)s")
        % {
            "who": request.requester,
            "institution": request.requester_institution,
            "title": request.title,
        },
    )
    return request


@transaction.atomic
def request_review_start(
    *, actor: User | None, request: DistributionRequest
) -> DistributionRequest:
    require_permission(actor, "distribution.review", request.organization)
    request = _locked(request)
    _move(actor, request, Status.UNDER_REVIEW)
    _tell_requester(request, _("Your request is under review"))
    return request


def _approved_bodies(request: DistributionRequest) -> set[str]:
    """Bodies whose latest decision on the request is an approval."""
    latest: dict[str, str] = {}
    for approval in request.approvals.order_by("decided_on", "id"):
        latest[approval.body] = approval.decision
    return {body for body, decision in latest.items() if decision == Approval.Decision.APPROVED}


def approvals_decision(request: DistributionRequest) -> rules.Decision:
    return rules.approvals_complete(
        wants_data=bool(request.data_fields),
        abroad=request.abroad,
        approved=_approved_bodies(request),
        mta_signed=TransferAgreement.objects.filter(request=request).exists(),
    )


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
        _tell_requester(request, _("Your request was rejected"), approval.conditions)
    else:
        _tell_requester(
            request,
            _("Decision recorded: %(body)s %(decision)s")
            % {"body": approval.get_body_display(), "decision": approval.get_decision_display()},
            approval.conditions,
        )
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
    if request.abroad and "export" not in terms.lower() and "出口" not in terms:
        raise ApplicationError(
            _("Material or data going abroad: the MTA states the export approval."), rule="HB-05"
        )
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
    _tell_requester(request, _("Material transfer agreement recorded"))
    return agreement


@transaction.atomic
def request_approve(*, actor: User | None, request: DistributionRequest) -> DistributionRequest:
    """Approve once the ethics committee (and, where required, the central authority) approved
    (HB-04, HB-05). The MTA may follow; fulfilment waits for it."""
    require_permission(actor, "distribution.review", request.organization)
    request = _locked(request)
    decision = rules.approvals_complete(
        wants_data=bool(request.data_fields),
        abroad=request.abroad,
        approved=_approved_bodies(request),
        mta_signed=True,
    )
    _check(decision)
    _move(actor, request, Status.APPROVED)
    _tell_requester(request, _("Your request is approved"))
    _tell_staff(request, "distribution.fulfil", _("Request approved: prepare the material"))
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
    _tell_requester(request, _("Your request was rejected"), reason)
    return request


def _release_items(actor: User | None, request: DistributionRequest, reason: str) -> None:
    for item in request.items.filter(
        state__in=[RequestItem.State.RESERVED, RequestItem.State.RETRIEVED]
    ).select_related("specimen"):
        for specimen in {item.specimen, item.shipped} - {None}:
            assert specimen is not None
            if specimen.status == Specimen.Status.RESERVED:
                _specimen_status(actor, specimen, Specimen.Status.AVAILABLE, reason)
        before = snapshot(item)
        item.state = RequestItem.State.RELEASED
        item.save(update_fields=["state", "updated_at"])
        _audit_item(actor, request, item, before, reason)


@transaction.atomic
def request_cancel(
    *, actor: User | None, request: DistributionRequest, reason: str
) -> DistributionRequest:
    """Cancel a request before shipment; reserved material becomes available again."""
    _require_requester_or(actor, "distribution.review", request)
    if not reason.strip():
        raise ApplicationError(_("Say why."))
    request = _locked(request)
    _release_items(actor, request, reason)
    _move(actor, request, Status.CANCELLED, reason=reason)
    _tell_staff(request, "distribution.fulfil", _("Request cancelled"), reason)
    return request


@transaction.atomic
def request_close(*, actor: User | None, request: DistributionRequest) -> DistributionRequest:
    require_permission(actor, "distribution.review", request.organization)
    request = _locked(request)
    _move(actor, request, Status.CLOSED)
    return request


# Eligibility (HB-03, HB-04, HB-05, HR-04) ---------------------------------------------------


def request_facts(request: DistributionRequest, on: date | None = None) -> rules.RequestFacts:
    return rules.RequestFacts(
        purposes=frozenset(t.pk for t in request.purposes.all()),
        on=on or request.planned_on or timezone.localdate(),
        quantity=request.quantity_per_specimen,
        irb_valid_from=request.irb_valid_from,
        irb_valid_until=request.irb_valid_until,
        country=request.destination_country,
        diseases=frozenset(request.diseases),
        commercial=request.commercial,
        nhi_linkage=request.nhi_linkage,
        genetic_study=request.genetic_study,
        irb_approved=True,
        export_approved=Approval.Body.EXPORT in _approved_bodies(request),
    )


def specimen_facts(specimen: Specimen) -> rules.SpecimenFacts:
    participant = specimen.participant
    return rules.SpecimenFacts(
        status=specimen.status,
        remaining=specimen.remaining,
        category=specimen.category_id,
        material_type=(specimen.material_type.maps_to or specimen.material_type).code,
        consent_withdrawn=specimen.consent_withdrawn,
        on_hold=specimen.on_hold,
        delinked=specimen.delinked,
        human_participant=participant is not None,
        participant_withdrawn=participant is not None
        and participant.status == Participant.Status.WITHDRAWN,
        participant_deceased=participant is not None
        and participant.status == Participant.Status.DECEASED,
    )


def candidates(request: DistributionRequest) -> list[Specimen]:
    """Specimens of the organization that match the request's criteria (not yet judged)."""
    specimens = Specimen.objects.filter(organization=request.organization).exclude(
        status__in=[Specimen.Status.EXPECTED, Specimen.Status.DESTROYED]
    )
    types = list(request.material_types.all())
    if types:
        specimens = specimens.filter(
            Q(material_type__in=types) | Q(material_type__maps_to__in=types)
        )
    if request.collection_id:
        specimens = specimens.filter(collection_id=request.collection_id)
    if request.diagnosis:
        with_diagnosis = DataValue.objects.filter(
            field__key="diagnosis", value__istartswith=request.diagnosis
        )
        specimens = specimens.filter(
            Q(participant__in=with_diagnosis.values("participant"))
            | Q(pk__in=with_diagnosis.values("specimen"))
        )
    specimens = specimens.exclude(
        pk__in=request.items.exclude(state=RequestItem.State.RELEASED).values("specimen")
    )
    return list(
        specimens.select_related("participant", "material_type__maps_to").order_by("barcode")
    )


@dataclass
class Eligibility:
    decisions: list[tuple[Specimen, rules.Decision]]
    summary: rules.Summary

    @property
    def eligible(self) -> list[Specimen]:
        return [s for s, d in self.decisions if d]


def _consents_by_participant(
    participant_ids: set[int],
) -> dict[int, list[Any]]:
    consents = (
        Consent.objects.filter(
            participant_id__in=participant_ids,
            state__in=[Consent.State.ACTIVE, Consent.State.NARROWED],
        )
        .select_related("form")
        .prefetch_related("permissions", "modifiers")
    )
    grouped: dict[int, list[Any]] = {}
    for consent in consents:
        grouped.setdefault(consent.participant_id, []).append(
            participant_services.consent_terms(consent)
        )
    return grouped


def eligibility(
    request: DistributionRequest,
    *,
    on: date | None = None,
    specimens: Sequence[Specimen] | None = None,
) -> Eligibility:
    """Every candidate specimen with its decision, and the summary by reason (HB-04)."""
    facts = request_facts(request, on)
    pool = list(specimens) if specimens is not None else candidates(request)
    consents = _consents_by_participant({s.participant_id for s in pool if s.participant_id})
    decisions = [
        (
            specimen,
            rules.specimen_eligibility(
                specimen_facts(specimen), facts, consents.get(specimen.participant_id or 0, [])
            ),
        )
        for specimen in pool
    ]
    return Eligibility(decisions, rules.summarise(d for _s, d in decisions))


# Specimen moves (the specimens app's statuses, events and release hook) ----------------------


def _specimen_status(actor: User | None, specimen: Specimen, status: str, reason: str) -> None:
    before = snapshot(specimen, SPECIMEN_AUDITED)
    specimen.status = status
    specimen.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditEvent.Action.TRANSITION,
        organization=specimen.organization,
        instance=specimen,
        before=before,
        after=snapshot(specimen, SPECIMEN_AUDITED),
        reason=reason,
    )


def _specimen_event(
    actor: User | None, specimen: Specimen, activity: str, at: datetime, **parameters: Any
) -> None:
    SpecimenEvent.objects.create(
        specimen=specimen,
        activity=activity,
        at=at,
        by=actor,
        parameters={k: str(v) for k, v in parameters.items() if v not in (None, "")},
    )


def _audit_item(
    actor: User | None,
    request: DistributionRequest,
    item: RequestItem,
    before: dict[str, Any] | None,
    reason: str = "",
) -> None:
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE if before is None else AuditEvent.Action.TRANSITION,
        organization=request.organization,
        instance=item,
        before=before,
        after=snapshot(item),
        reason=reason,
    )


# Fulfilment -----------------------------------------------------------------------------------


@transaction.atomic
def request_reserve(
    *,
    actor: User | None,
    request: DistributionRequest,
    barcodes: Sequence[str] = (),
    limit: int | None = None,
) -> list[RequestItem]:
    """Reserve eligible specimens for the request: the given barcodes, or the eligible ones up
    to the number of participants wanted (one specimen per participant). Approvals and the MTA
    come first (HB-04, HB-05); every specimen is judged again under lock (HB-03)."""
    require_permission(actor, "distribution.fulfil", request.organization)
    request = _locked(request)
    if request.status not in {Status.APPROVED, Status.FULFILLING}:
        raise ApplicationError(_("Only an approved request is fulfilled."), rule="HB-04")
    _check(approvals_decision(request))
    pool = candidates(request)
    if barcodes:
        wanted = {b.strip() for b in barcodes if b.strip()}
        pool = [s for s in pool if s.barcode in wanted]
        missing = wanted - {s.barcode for s in pool}
        if missing:
            raise ApplicationError(
                _("Not candidates for this request: %s") % ", ".join(sorted(missing))
            )
    locked = {
        s.pk: s
        for s in Specimen.objects.select_for_update()
        .filter(pk__in=[s.pk for s in pool])
        .select_related("participant", "material_type__maps_to", "organization")
        .order_by("pk")
    }
    result = eligibility(request, specimens=[locked[s.pk] for s in pool if s.pk in locked])
    if barcodes:
        refused = [(s, d) for s, d in result.decisions if not d]
        if refused:
            specimen, decision = refused[0]
            raise ApplicationError(f"{specimen.barcode}: {decision.reason}", rule=decision.rule)
    chosen: list[Specimen] = []
    seen: set[int | None] = set(
        request.items.exclude(state=RequestItem.State.RELEASED).values_list(
            "specimen__participant_id", flat=True
        )
    )
    cap = limit or (request.participants_wanted if not barcodes else 0) or None
    for specimen in result.eligible:
        if not barcodes and specimen.participant_id is not None:
            if specimen.participant_id in seen:
                continue
            seen.add(specimen.participant_id)
        chosen.append(specimen)
        if cap is not None and len(chosen) >= cap:
            break
    if not chosen:
        raise ApplicationError(_("No eligible specimen to reserve."), rule="HB-04")
    items = []
    for specimen in chosen:
        _specimen_status(
            actor, specimen, Specimen.Status.RESERVED, reason=f"reserved for {request.code}"
        )
        item = RequestItem.objects.create(
            request=request,
            specimen=specimen,
            quantity=request.quantity_per_specimen or specimen.remaining,
            unit=request.unit or specimen.unit,
        )
        _audit_item(actor, request, item, None, reason=f"reserved for {request.code}")
        items.append(item)
    if request.status == Status.APPROVED:
        _move(actor, request, Status.FULFILLING)
    _tell_staff(
        request,
        "distribution.fulfil",
        _("%(n)d specimens reserved: the pick list is ready") % {"n": len(items)},
    )
    return items


@transaction.atomic
def item_retrieve(*, actor: User | None, item: RequestItem) -> RequestItem:
    """Take a reserved specimen out for the request; where the request asks for part of it,
    an aliquot of the requested quantity is made on the way (BB-04) and that is what ships."""
    request = item.request
    require_permission(actor, "distribution.fulfil", request.organization)
    item = RequestItem.objects.select_for_update().select_related("request").get(pk=item.pk)
    if item.state != RequestItem.State.RESERVED:
        raise ApplicationError(_("Only a reserved item is retrieved."))
    specimen = (
        Specimen.objects.select_for_update().select_related("organization").get(pk=item.specimen_id)
    )
    if specimen.consent_withdrawn:
        raise ApplicationError(_("the participant withdrew consent"), rule="HB-03")
    before = snapshot(item)
    if item.quantity < specimen.remaining:
        _specimen_status(actor, specimen, Specimen.Status.AVAILABLE, f"aliquot for {request.code}")
        child = specimen_aliquot(
            actor=actor, parent=specimen, count=1, quantity_each=item.quantity
        )[0]
        _specimen_status(actor, child, Specimen.Status.RESERVED, f"reserved for {request.code}")
        item.shipped = child
    else:
        item.shipped = specimen
    item.state = RequestItem.State.RETRIEVED
    item.save(update_fields=["shipped", "state", "updated_at"])
    _audit_item(actor, request, item, before, reason="retrieved")
    return item


@transaction.atomic
def shipment_create(
    *,
    actor: User | None,
    request: DistributionRequest,
    temperature: str,
    courier: str,
    tracking_number: str,
    containers: int = 1,
    dry_ice_kg: Decimal | None = None,
    risk_group: int | None = None,
    category_a_pathogen: bool = False,
    affects_humans: bool = True,
    shipped_at: datetime | None = None,
) -> Shipment:
    """Ship the request's material: packaging class by rule (BS-02), every item judged again on
    the shipping date (HB-03, HB-04, HB-05); the specimens become distributed, their positions
    are freed and a distribution event is recorded (BB-02); the ledger gains the entry."""
    require_permission(actor, "distribution.fulfil", request.organization)
    request = _locked(request)
    if request.status != Status.FULFILLING:
        raise ApplicationError(_("Only a request being fulfilled is shipped."), rule="BB-02")
    _check(approvals_decision(request))
    when = shipped_at or timezone.now()
    for item in request.items.filter(state=RequestItem.State.RESERVED).order_by("pk"):
        item_retrieve(actor=actor, item=item)
    items = list(
        request.items.filter(state=RequestItem.State.RETRIEVED)
        .select_related("shipped__participant", "shipped__material_type__maps_to", "specimen")
        .order_by("pk")
    )
    if not items:
        raise ApplicationError(_("Nothing is ready to ship."))
    shipped = [item.shipped for item in items if item.shipped is not None]
    facts = request_facts(request, timezone.localdate(when))
    consents = _consents_by_participant({s.participant_id for s in shipped if s.participant_id})
    for specimen in shipped:
        on_shelf = specimen_facts(specimen)
        # reserved for this very request: judge it as if available
        decision = rules.specimen_eligibility(
            rules.SpecimenFacts(**{**on_shelf.__dict__, "status": "available"}),
            rules.RequestFacts(**{**facts.__dict__, "quantity": None}),
            consents.get(specimen.participant_id or 0, []),
        )
        if not decision:
            raise ApplicationError(f"{specimen.barcode}: {decision.reason}", rule=decision.rule)
    _check(rules.temperature_valid(temperature, dry_ice_kg))
    infectious = any(s.infectious for s in shipped)
    try:
        packaging = rules.shipment_packaging(
            any_infectious=infectious,
            risk_group=risk_group,
            category_a_pathogen=category_a_pathogen,
            affects_humans=affects_humans,
        )
    except ValueError as exc:
        raise ApplicationError(str(exc), rule="BS-02") from exc
    if not courier.strip() or not tracking_number.strip():
        raise ApplicationError(_("Give the courier and the tracking number."))
    shipment = Shipment.objects.create(
        request=request,
        containers=containers,
        risk_group=risk_group,
        packaging_category=packaging.category,
        un_number=packaging.un_number or "",
        shipping_name=packaging.shipping_name,
        packing_instruction=packaging.packing_instruction or "",
        temperature=temperature,
        dry_ice_kg=dry_ice_kg,
        courier=courier.strip(),
        tracking_number=tracking_number.strip(),
        shipped_at=when,
        shipped_by=actor,
        infectious=infectious,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=request.organization,
        instance=shipment,
        after=snapshot(shipment),
        reason=packaging.reason,
    )
    for item in items:
        leaving = item.shipped
        assert leaving is not None
        specimen = leaving
        _specimen_event(
            actor,
            specimen,
            SpecimenEvent.Activity.DISTRIBUTION,
            when,
            request=request.code,
            destination=f"{request.destination_institution}, {request.destination_country}",
            courier=shipment.courier,
            tracking=shipment.tracking_number,
            packaging=packaging.category,
        )
        _specimen_status(actor, specimen, Specimen.Status.DISTRIBUTED, f"shipped {request.code}")
        specimen_links.released(specimen, actor, "distributed")
        if item.specimen_id != specimen.pk:
            parent = Specimen.objects.select_for_update().get(pk=item.specimen_id)
            if parent.status == Specimen.Status.RESERVED:
                _specimen_status(actor, parent, Specimen.Status.AVAILABLE, "aliquot shipped")
        before = snapshot(item)
        item.state = RequestItem.State.SHIPPED
        item.shipment = shipment
        item.save(update_fields=["state", "shipment", "updated_at"])
        _audit_item(actor, request, item, before, reason="shipped")
    _ledger(request, specimens=len(items), data_records=0, at=when)
    _move(actor, request, Status.SHIPPED)
    _tell_requester(
        request,
        _("Your material is on its way"),
        _("%(n)d items, %(courier)s %(tracking)s, %(packaging)s")
        % {
            "n": len(items),
            "courier": shipment.courier,
            "tracking": shipment.tracking_number,
            "packaging": packaging.category,
        },
    )
    return shipment


def _counterpart_organization(request: DistributionRequest) -> Organization | None:
    return (
        Organization.objects.filter(
            memberships__user=request.requester, memberships__ended_at__isnull=True
        )
        .exclude(pk=request.organization_id)
        .order_by("pk")
        .first()
    )


def _ledger(
    request: DistributionRequest, *, specimens: int, data_records: int, at: datetime
) -> None:
    """The reciprocity ledger (seed 003): given by the biobank, received by the counterpart
    when it is an organization on the platform."""
    counterpart = _counterpart_organization(request)
    entry = LedgerEntry.objects.create(
        organization=request.organization,
        counterpart=request.destination_institution,
        counterpart_organization=counterpart,
        direction=LedgerEntry.Direction.GIVEN,
        specimens=specimens,
        data_records=data_records,
        request=request,
        at=at,
    )
    audit_record(
        actor=None,
        action=AuditEvent.Action.CREATE,
        organization=request.organization,
        instance=entry,
        after=snapshot(entry),
    )
    if counterpart is not None:
        received = LedgerEntry.objects.create(
            organization=counterpart,
            counterpart=str(request.organization.code),
            counterpart_organization=request.organization,
            direction=LedgerEntry.Direction.RECEIVED,
            specimens=specimens,
            data_records=data_records,
            request=request,
            at=at,
        )
        audit_record(
            actor=None,
            action=AuditEvent.Action.CREATE,
            organization=counterpart,
            instance=received,
            after=snapshot(received),
        )


@transaction.atomic
def shipment_receive(
    *,
    actor: User | None,
    shipment: Shipment,
    condition: str,
    items_received: int | None = None,
    received_at: datetime | None = None,
    note: str = "",
) -> Receipt:
    """The recipient confirms receipt: all, partial, damaged or temperature breach (BB-02)."""
    request = shipment.request
    _require_requester_or(actor, "distribution.fulfil", request)
    request = _locked(request)
    if condition not in Receipt.Condition.values:
        raise ApplicationError(_("Unknown condition %s.") % condition)
    if Receipt.objects.filter(shipment=shipment).exists():
        raise ApplicationError(_("This shipment's receipt is already recorded."))
    items = list(shipment.items.select_related("shipped").order_by("pk"))
    count = len(items) if items_received is None else items_received
    if count < 0 or count > len(items):
        raise ApplicationError(_("Between 0 and %d items can be received.") % len(items))
    if condition == Receipt.Condition.COMPLETE and count != len(items):
        raise ApplicationError(_("Some items are missing: record a partial receipt."))
    if condition != Receipt.Condition.COMPLETE and not note.strip():
        raise ApplicationError(_("Describe what was wrong."))
    when = received_at or timezone.now()
    if when < shipment.shipped_at:
        raise ApplicationError(_("Received before it was shipped."))
    receipt = Receipt.objects.create(
        shipment=shipment,
        received_at=when,
        condition=condition,
        items_received=count,
        note=note.strip(),
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=request.organization,
        instance=receipt,
        after=snapshot(receipt),
    )
    for item in items[:count]:
        before = snapshot(item)
        item.state = RequestItem.State.RECEIVED
        item.save(update_fields=["state", "updated_at"])
        if item.shipped is not None:
            _specimen_event(
                actor,
                item.shipped,
                SpecimenEvent.Activity.RECEIPT,
                when,
                request=request.code,
                condition=condition,
            )
        _audit_item(actor, request, item, before, reason=f"received: {condition}")
    if request.status == Status.SHIPPED:
        _move(actor, request, Status.RECEIVED, reason=condition)
    _tell_staff(
        request,
        "distribution.fulfil",
        _("Receipt confirmed: %s") % receipt.get_condition_display(),
        note,
    )
    return receipt


@transaction.atomic
def spill_report(
    *,
    actor: User | None,
    shipment: Shipment,
    notified_at: datetime,
    reported_by: str,
    description: str,
) -> TransitSpill:
    """A spill or leak in transit (BS-14): recorded; for infectious material the committee is
    told at once and the 24-hour report to the authorities opens as an obligation."""
    request = shipment.request
    _require_requester_or(actor, "distribution.fulfil", request)
    if not description.strip() or not reported_by.strip():
        raise ApplicationError(_("Say who reported it and what happened."), rule="BS-14")
    spill = TransitSpill.objects.create(
        shipment=shipment,
        notified_at=notified_at,
        reported_by=reported_by.strip(),
        description=description.strip(),
        infectious=shipment.infectious,
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=request.organization,
        instance=spill,
        after=snapshot(spill),
    )
    titles = {
        "committee_notice": _("Tell the biosafety committee of the spill in transport (%s)"),
        "authority_report": _(
            "Report the spill in transport to the local and central authority (%s)"
        ),
    }
    for deadline in rules.spill_deadlines(infectious=shipment.infectious, notified_at=notified_at):
        due = deadline.due
        assert isinstance(due, datetime)
        core_services.obligation_open(
            organization=request.organization,
            rule_id=deadline.rule,
            title=titles.get(deadline.key, "%s") % request.code,
            due_at=due,
            subject=spill,
            responsible_role=Role.BIOSAFETY_OFFICER,
            actor=actor,
        )
    _tell_staff(
        request,
        "distribution.fulfil",
        _("Spill reported in transport"),
        description,
    )
    _notify(
        _addresses(request.organization, "specimen.destroy"),
        f"[{request.code}] " + _("Spill reported in transport (BS-14)"),
        [description],
    )
    return spill


@transaction.atomic
def item_return(
    *,
    actor: User | None,
    item: RequestItem,
    condition: str,
    returned_at: datetime | None = None,
    unit: Any = None,
    position: str = "",
) -> ItemReturn:
    """Unused material comes back: available again, with a return event, and stored (BB-02)."""
    request = item.request
    require_permission(actor, "distribution.fulfil", request.organization)
    item = RequestItem.objects.select_for_update().get(pk=item.pk)
    if item.state not in {RequestItem.State.SHIPPED, RequestItem.State.RECEIVED}:
        raise ApplicationError(_("Only shipped material is returned."), rule="BB-02")
    if not condition.strip():
        raise ApplicationError(_("Describe the condition on return."))
    specimen = (
        Specimen.objects.select_for_update()
        .select_related("organization")
        .get(pk=item.shipped_id or item.specimen_id)
    )
    when = returned_at or timezone.now()
    _specimen_event(
        actor,
        specimen,
        SpecimenEvent.Activity.RETURN,
        when,
        request=request.code,
        condition=condition,
    )
    _specimen_status(actor, specimen, Specimen.Status.AVAILABLE, f"returned from {request.code}")
    location = ""
    if unit is not None:
        from biobank.storage import services as storage_services

        placement = storage_services.specimen_place(
            actor=actor, specimen=specimen, unit=unit, position=position, at=when
        )
        location = f"{unit.barcode} {storage_services.label_of(placement)}"
    before = snapshot(item)
    item.state = RequestItem.State.RETURNED
    item.save(update_fields=["state", "updated_at"])
    _audit_item(actor, request, item, before, reason="returned")
    record = ItemReturn.objects.create(
        item=item,
        returned_at=when,
        condition=condition.strip(),
        location=location,
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=request.organization,
        instance=record,
        after=snapshot(record),
    )
    return record


@transaction.atomic
def recipient_destruction_record(
    *,
    actor: User | None,
    item: RequestItem,
    destroyed_on: date,
    method: str,
    certificate: str = "",
) -> RecipientDestruction:
    """The recipient destroyed what they received (HB-03 after a withdrawal, HR-04 at the end
    of the study): recorded against the item."""
    request = item.request
    _require_requester_or(actor, "distribution.fulfil", request)
    item = RequestItem.objects.select_for_update().get(pk=item.pk)
    if item.state not in {RequestItem.State.SHIPPED, RequestItem.State.RECEIVED}:
        raise ApplicationError(_("Only material at the recipient is destroyed there."))
    if not method.strip():
        raise ApplicationError(_("Name the method."))
    if destroyed_on > timezone.localdate():
        raise ApplicationError(_("The destruction date is in the future."))
    before = snapshot(item)
    item.state = RequestItem.State.DESTROYED
    item.save(update_fields=["state", "updated_at"])
    _audit_item(actor, request, item, before, reason="destroyed by the recipient")
    record = RecipientDestruction.objects.create(
        item=item,
        destroyed_on=destroyed_on,
        method=method.strip(),
        certificate=certificate.strip(),
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=request.organization,
        instance=record,
        after=snapshot(record),
    )
    return record


# Data release (HB-01, HB-04, HB-05) ----------------------------------------------------------


def _coding_secret() -> bytes:
    return hashlib.sha256(f"distribution-codes:{settings.SECRET_KEY}".encode()).digest()


@dataclass
class Release:
    header: list[str]
    rows: list[dict[str, Any]]
    record: DataRelease


@transaction.atomic
def data_release(
    *, actor: User | None, request: DistributionRequest, fields: Sequence[str] = ()
) -> Release:
    """Release the associated data of the request's material: coded with request-specific codes
    (never identity, HB-01), limited to the approved fields (HB-04), abroad only with the
    central approval (HB-05). The release is logged with its checksum and its participants."""
    require_permission(actor, "distribution.fulfil", request.organization)
    request = _locked(request)
    if request.status not in {Status.SHIPPED, Status.RECEIVED, Status.FULFILLING, Status.CLOSED}:
        raise ApplicationError(_("Data are released with an approved request."), rule="HB-04")
    _check(approvals_decision(request))
    wanted = list(fields) or list(request.data_fields)
    _check(rules.release_fields_allowed(wanted, request.data_fields))
    _check(
        rules.data_destination_allows(
            country=request.destination_country,
            export_approved=Approval.Body.EXPORT in _approved_bodies(request),
        )
    )
    items = list(
        request.items.exclude(state=RequestItem.State.RELEASED)
        .select_related("specimen__participant", "shipped")
        .order_by("pk")
    )
    specimens = [item.shipped or item.specimen for item in items]
    participants = {s.participant_id for s in specimens if s.participant_id}
    values: dict[tuple[str, int], dict[str, str]] = {}
    for value in DataValue.objects.filter(
        Q(specimen__in=specimens) | Q(participant_id__in=participants), field__key__in=wanted
    ).select_related("field"):
        key = ("s", value.specimen_id) if value.specimen_id else ("p", value.participant_id or 0)
        values.setdefault(key, {})[value.field.key] = value.value
    raw = []
    for specimen in specimens:
        if specimen.consent_withdrawn:
            continue  # HB-03: nothing more of a withdrawn participant leaves
        row: dict[str, Any] = {
            "participant": specimen.participant.code if specimen.participant else "",
            "material_type": specimen.material_type.code,
        }
        row.update(values.get(("p", specimen.participant_id or 0), {}))
        row.update(values.get(("s", specimen.pk), {}))
        raw.append(row)
    coded = rules.code_rows(
        raw, fields=["material_type", *wanted], secret=_coding_secret(), request_key=request.code
    )
    header = ["code", "material_type", *wanted]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in coded:
        writer.writerow([row.get(name, "") for name in header])
    now = timezone.now()
    record = DataRelease.objects.create(
        request=request,
        fields=wanted,
        records=len(coded),
        file_sha256=hashlib.sha256(buffer.getvalue().encode()).hexdigest(),
        released_at=now,
        released_by=actor,
    )
    record.participants.set(list(participants))
    audit_record(
        actor=actor,
        action=AuditEvent.Action.EXPORT,
        organization=request.organization,
        instance=record,
        after={**snapshot(record), "participants": len(participants)},
        reason=f"data release {request.code}",
    )
    _ledger(request, specimens=0, data_records=len(coded), at=now)
    _tell_requester(
        request,
        _("Data released"),
        _("%(n)d coded records, fields: %(fields)s")
        % {"n": len(coded), "fields": ", ".join(wanted)},
    )
    return Release(header, coded, record)
