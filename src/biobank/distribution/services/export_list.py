"""The export list a biobank edits (HB-05): which material types, derivatives such as
extracted DNA, may go abroad with the central authority's approval. The standard list is loaded
by a data migration; each biobank adds derivatives to it or strikes standard ones off for
itself. The rules read the list as a set of codes passed in (``rules.destination_allows``,
``rules.export_requested_types``); adding a type is judged by ``rules.export_entry_allowed``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.core.audit import audit_record, snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, Organization, User
from biobank.core.tenancy import require_permission
from biobank.distribution import rules
from biobank.distribution.models import ExportListEntry
from biobank.distribution.services.common import _check
from biobank.specimens.models import MaterialType

STANDARD = "standard"
ADDED = "added"
STRUCK_OFF = "struck_off"


def _in_force(organization: Organization) -> list[ExportListEntry]:
    return list(
        ExportListEntry.objects.filter(
            Q(organization__isnull=True) | Q(organization=organization), retired_at__isnull=True
        )
        .select_related("material_type")
        .order_by("material_type__code", "pk")
    )


def export_list_codes(organization: Organization) -> frozenset[str]:
    """The material type codes that may go abroad from this biobank (HB-05): the standard list,
    plus the types it added, less the standard ones it struck off. One query."""
    standard: set[str] = set()
    added: set[str] = set()
    struck: set[str] = set()
    for entry in _in_force(organization):
        code = entry.material_type.code
        if entry.organization_id is None:
            standard.add(code)
        elif entry.listed:
            added.add(code)
        else:
            struck.add(code)
    return frozenset((standard | added) - struck)


@dataclass(frozen=True)
class ExportListLine:
    """One line of the export list page: the type, where it comes from, whether it is on."""

    material_type: MaterialType
    source: str  # STANDARD, ADDED or STRUCK_OFF
    note: str

    @property
    def listed(self) -> bool:
        return self.source != STRUCK_OFF


def export_list(organization: Organization) -> list[ExportListLine]:
    """The biobank's export list as the page shows it: the standard entries (struck off or
    not) and the types it added, by code."""
    entries = _in_force(organization)
    own = {e.material_type_id: e for e in entries if e.organization_id is not None}
    lines = []
    for entry in entries:
        if entry.organization_id is None:
            mine = own.get(entry.material_type_id)
            if mine is not None and not mine.listed:
                lines.append(ExportListLine(entry.material_type, STRUCK_OFF, mine.note))
            else:
                lines.append(ExportListLine(entry.material_type, STANDARD, entry.note))
        elif entry.listed:
            lines.append(ExportListLine(entry.material_type, ADDED, entry.note))
    return sorted(lines, key=lambda line: line.material_type.code)


def _standard_type(code: str) -> MaterialType:
    found = (
        MaterialType.objects.filter(organization__isnull=True, code=code.strip())
        .select_related("category")
        .first()
    )
    if found is None:
        raise ApplicationError(_("Unknown material type %s.") % code)
    return found


def _audit_entry(
    actor: User | None,
    organization: Organization,
    entry: ExportListEntry,
    before: dict[str, object] | None,
    reason: str,
) -> None:
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE if before is None else AuditEvent.Action.DELETE,
        organization=organization,
        instance=entry,
        object_repr=f"{organization.code} export list: {entry.material_type.code}",
        before=before,
        after=snapshot(entry),
        reason=reason,
    )


def _retire(actor: User | None, entry: ExportListEntry) -> dict[str, object]:
    before = snapshot(entry)
    entry.retired_at = timezone.now()
    entry.retired_by = actor
    entry.save(update_fields=["retired_at", "retired_by", "updated_at"])
    return before


@transaction.atomic
def export_entry_add(
    *, actor: User | None, organization: Organization, material_type: str, note: str = ""
) -> ExportListEntry | None:
    """Put a material type on the biobank's export list (HB-05): a derivative of human material
    only (``rules.export_entry_allowed``). A standard type the biobank struck off comes back
    (its striking row is retired, and None is returned); any other type gets a row of the
    biobank's own."""
    require_permission(actor, "distribution.review", organization)
    kind = _standard_type(material_type)
    _check(
        rules.export_entry_allowed(
            code=kind.code,
            category=kind.category_id,
            acquired_as_is=kind.acquired_form_ok,
            derived_from=list(kind.derivable_from.values_list("code", flat=True)),
        )
    )
    # lock the biobank's rows for this type: two reviewers adding at once make one row
    current = list(
        ExportListEntry.objects.select_for_update()
        .filter(
            Q(organization__isnull=True) | Q(organization=organization),
            material_type=kind,
            retired_at__isnull=True,
        )
        .order_by("pk")
    )
    standard = any(e.organization_id is None for e in current)
    own = next((e for e in current if e.organization_id is not None), None)
    reason = note.strip() or _("added to the export list")
    if own is not None and not own.listed:
        before = _retire(actor, own)
        _audit_entry(actor, organization, own, before, reason)
        return None
    if standard or own is not None:
        raise ApplicationError(_("%s is already on the export list.") % kind.code, rule="HB-05")
    entry = ExportListEntry.objects.create(
        organization=organization,
        material_type=kind,
        listed=True,
        note=note.strip()[:200],
        created_by=actor,
    )
    _audit_entry(actor, organization, entry, None, reason)
    return entry


@transaction.atomic
def export_entry_remove(
    *, actor: User | None, organization: Organization, material_type: str, reason: str
) -> ExportListEntry:
    """Take a material type off the biobank's export list (HB-05): a type it added is retired;
    a standard type is struck off for this biobank by a row of its own. Requests abroad for it
    are refused from then on, at approval, reservation and shipping."""
    require_permission(actor, "distribution.review", organization)
    if not reason.strip():
        raise ApplicationError(_("Say why."))
    kind = _standard_type(material_type)
    current = list(
        ExportListEntry.objects.select_for_update()
        .filter(
            Q(organization__isnull=True) | Q(organization=organization),
            material_type=kind,
            retired_at__isnull=True,
        )
        .order_by("pk")
    )
    standard = any(e.organization_id is None for e in current)
    own = next((e for e in current if e.organization_id is not None), None)
    if own is not None and own.listed:
        before = _retire(actor, own)
        _audit_entry(actor, organization, own, before, reason.strip())
        return own
    if not standard or own is not None:
        raise ApplicationError(_("%s is not on the export list.") % kind.code, rule="HB-05")
    entry = ExportListEntry.objects.create(
        organization=organization,
        material_type=kind,
        listed=False,
        note=reason.strip()[:200],
        created_by=actor,
    )
    _audit_entry(actor, organization, entry, None, reason.strip())
    return entry
