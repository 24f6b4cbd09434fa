"""Collections, their planned specimen tree and the associated data they define."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from biobank.core.audit import audit_record, snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, Organization, User
from biobank.core.tenancy import require_permission
from biobank.participants.models import ConsentForm
from biobank.specimens.models import Collection, DataField, MaterialType, SpecimenRequirement


def material_type_for(organization: Organization, code: str) -> MaterialType:
    """The organization's own type of that code, else the standard one."""
    # both candidates in one query (at most two rows: the code is unique per organization and
    # in the standard list), the organization's own preferred
    candidates = MaterialType.objects.filter(
        Q(organization=organization) | Q(organization__isnull=True), code=code
    ).order_by()
    found = None
    for candidate in candidates:
        if candidate.organization_id == organization.pk:
            found = candidate
            break
        found = candidate
    if found is None:
        raise ApplicationError(_("Unknown material type %s.") % code, rule="BB-03")
    return found


@transaction.atomic
def material_type_add(
    *,
    actor: User | None,
    organization: Organization,
    code: str,
    label_en: str,
    label_zh: str,
    maps_to: str,
) -> MaterialType:
    """A biobank's own sub-category (e.g. a TAF-BB-D01 code) mapped to a standard type (BB-03)."""
    require_permission(actor, "collection.manage", organization)
    standard = MaterialType.objects.filter(code=maps_to, organization__isnull=True).first()
    if standard is None:
        raise ApplicationError(_("Map it to a standard material type."), rule="BB-03")
    if MaterialType.objects.filter(organization=organization, code=code).exists():
        raise ApplicationError(_("Material type %s already exists.") % code)
    local = MaterialType.objects.create(
        organization=organization,
        code=code.strip(),
        label_en=label_en.strip(),
        label_zh=label_zh.strip(),
        category_id=standard.category_id,
        maps_to=standard,
        standard="local",
        sprec_code=standard.sprec_code,
        acquired_form_ok=standard.acquired_form_ok,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=organization,
        instance=local,
        after=snapshot(local),
    )
    return local


@transaction.atomic
def collection_create(
    *,
    actor: User | None,
    organization: Organization,
    code: str,
    name: str,
    principal_investigator: str,
    irb_reference: str = "",
    irb_valid_from: date | None = None,
    irb_valid_until: date | None = None,
    kind: str = Collection.Kind.COHORT,
    consent_forms: Sequence[ConsentForm] = (),
    material_types: Sequence[str] = (),
    description: str = "",
) -> Collection:
    require_permission(actor, "collection.manage", organization)
    code = code.strip()
    if not code or not name.strip() or not principal_investigator.strip():
        raise ApplicationError(_("A collection needs a code, a name and a principal investigator."))
    if Collection.objects.filter(organization=organization, code=code).exists():
        raise ApplicationError(_("Collection %s already exists.") % code)
    if irb_valid_from and irb_valid_until and irb_valid_until < irb_valid_from:
        raise ApplicationError(_("The IRB approval ends before it starts."))
    for form in consent_forms:
        if form.organization_id != organization.pk:
            raise ApplicationError(_("The consent form belongs to another organization."))
    collection = Collection.objects.create(
        organization=organization,
        code=code,
        name=name.strip(),
        principal_investigator=principal_investigator.strip(),
        irb_reference=irb_reference.strip(),
        irb_valid_from=irb_valid_from,
        irb_valid_until=irb_valid_until,
        kind=kind,
        description=description,
    )
    collection.consent_forms.set(consent_forms)
    collection.material_types.set([material_type_for(organization, c) for c in material_types])
    after = snapshot(collection)
    after["material_types"] = sorted(material_types)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=organization,
        instance=collection,
        after=after,
    )
    return collection


@transaction.atomic
def collection_plan_add(
    *,
    actor: User | None,
    collection: Collection,
    label: str,
    kind: str,
    material_type: str,
    quantity: Decimal,
    unit: str,
    count: int = 1,
    parent: SpecimenRequirement | None = None,
    quantity_taken: Decimal | None = None,
    container_type: str = "",
) -> SpecimenRequirement:
    """Add a node to the planned specimen tree (e.g. 2 × plasma 0.5 mL from whole blood)."""
    require_permission(actor, "collection.manage", collection.organization)
    if (parent is None) != (kind == SpecimenRequirement.Kind.PRIMARY):
        raise ApplicationError(_("Primary specimens have no parent; aliquots and derivatives do."))
    if parent is not None and parent.collection_id != collection.pk:
        raise ApplicationError(_("The parent belongs to another collection."))
    if quantity <= 0 or count < 1:
        raise ApplicationError(_("Quantity and count must be positive."))
    mtype = material_type_for(collection.organization, material_type)
    if parent is not None and kind == "aliquot" and parent.material_type_id != mtype.pk:
        raise ApplicationError(_("An aliquot keeps its parent's material type."), rule="BB-04")
    requirement = SpecimenRequirement.objects.create(
        collection=collection,
        parent=parent,
        label=label.strip() or mtype.label,
        kind=kind,
        material_type=mtype,
        count=count,
        quantity=quantity,
        unit=unit,
        quantity_taken=quantity_taken,
        container_type=container_type,
        position=collection.plan.count(),
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=collection.organization,
        instance=requirement,
        after=snapshot(requirement),
    )
    return requirement


@transaction.atomic
def data_field_define(
    *,
    actor: User | None,
    collection: Collection,
    key: str,
    label: str,
    type: str,
    **options: Any,
) -> DataField:
    require_permission(actor, "collection.manage", collection.organization)
    if type not in DataField.Type.values:
        raise ApplicationError(_("Unknown data type %s.") % type)
    if DataField.objects.filter(collection=collection, key=key).exists():
        raise ApplicationError(_("Field %s already exists.") % key)
    field = DataField.objects.create(
        collection=collection, key=key, label=label, type=type, **options
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=collection.organization,
        instance=field,
        after=snapshot(field),
    )
    return field
