"""Helpers shared by the distribution use cases: state snapshots and audit, the request's
state machine, permission checks, documents, e-mail, specimen status and events, approvals
in place, and the reciprocity ledger (seed 003).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from biobank.core.audit import audit_record, snapshot
from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import AuditEvent, Organization, User
from biobank.core.roles import PERMISSIONS
from biobank.core.tenancy import has_permission
from biobank.distribution import rules
from biobank.distribution.models import (
    Approval,
    DistributionRequest,
    LedgerEntry,
    RequestItem,
    TransferAgreement,
)
from biobank.specimens.models import Specimen, SpecimenEvent
from biobank.specimens.services.specimens import AUDITED as SPECIMEN_AUDITED

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
        DistributionRequest.objects.select_for_update(of=("self",))
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


def _members(organization: Organization, permissions: Sequence[str]) -> list[User]:
    """The active members of the organization holding any of ``permissions``."""
    roles = sorted({str(role) for permission in permissions for role in PERMISSIONS[permission]})
    return list(
        User.objects.filter(
            memberships__organization=organization,
            memberships__role__in=roles,
            memberships__ended_at__isnull=True,
            is_active=True,
        )
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def _language(user: User) -> str:
    """The language a person's e-mail is written in: theirs when the user model records one,
    else the site's default (the user model has no language preference yet)."""
    return str(getattr(user, "language", "") or settings.LANGUAGE_CODE)


def _notify(
    request: DistributionRequest, recipients: Sequence[User], step: str, **context: Any
) -> None:
    """E-mail one step of the request to ``recipients``, from the plain-text template
    ``distribution/email/<step>.txt`` (first line the subject, then the body), rendered once
    per language among them."""
    by_language: dict[str, set[str]] = {}
    for user in recipients:
        if user.email and user.is_active:
            by_language.setdefault(_language(user), set()).add(user.email)
    for language, addresses in sorted(by_language.items()):
        with translation.override(language):
            text = render_to_string(f"distribution/email/{step}.txt", {"r": request, **context})
        subject, _newline, body = text.strip().partition("\n")
        send_mail(
            subject=f"[{request.code}] {' '.join(subject.split())}",
            message=body.strip() + "\n",
            from_email=None,
            recipient_list=sorted(addresses),
        )


def _tell_requester(request: DistributionRequest, step: str, **context: Any) -> None:
    _notify(request, [request.requester], step, **context)


def _tell_staff(
    request: DistributionRequest, permissions: str | Sequence[str], step: str, **context: Any
) -> None:
    """E-mail the members of the request's organization who act next: those holding any of
    ``permissions``."""
    wanted = (permissions,) if isinstance(permissions, str) else tuple(permissions)
    _notify(request, _members(request.organization, wanted), step, **context)


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
