"""Requests: a researcher's request for material and/or data, submitted, cancelled or closed
(BB-02, HB-04).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.core.audit import snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, Organization, User
from biobank.core.tenancy import require_permission
from biobank.distribution import rules
from biobank.distribution.models import (
    DistributionRequest,
    RequestItem,
)
from biobank.distribution.services.common import (
    Status,
    _audit,
    _audit_item,
    _digest,
    _is_requester,
    _locked,
    _move,
    _require_requester_or,
    _specimen_status,
    _tell_requester,
    _tell_staff,
)
from biobank.participants.models import DuoTerm
from biobank.specimens.models import MaterialType, Specimen


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
    _tell_staff(request, "distribution.review", "submitted")
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
    _tell_staff(request, ("distribution.review", "distribution.fulfil"), "cancelled", reason=reason)
    if not _is_requester(actor, request):
        _tell_requester(request, "cancelled", reason=reason)
    return request


@transaction.atomic
def request_close(*, actor: User | None, request: DistributionRequest) -> DistributionRequest:
    require_permission(actor, "distribution.review", request.organization)
    request = _locked(request)
    _move(actor, request, Status.CLOSED)
    return request
