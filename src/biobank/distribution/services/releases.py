"""Data release: coded, limited to approved fields, abroad only with approval (HB-01, HB-04,
HB-05).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.core.audit import audit_record, snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, User
from biobank.core.tenancy import require_permission
from biobank.distribution import rules
from biobank.distribution.models import (
    Approval,
    DataRelease,
    DistributionRequest,
    RequestItem,
)
from biobank.distribution.services.common import (
    Status,
    _approved_bodies,
    _check,
    _ledger,
    _locked,
    _tell_requester,
    approvals_decision,
)
from biobank.specimens.models import DataValue


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
    _tell_requester(request, "data_released", release=record)
    return Release(header, coded, record)
