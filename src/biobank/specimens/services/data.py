"""Associated data (BB-01): values of a collection's data fields, and test results."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from biobank.core.audit import audit_record
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, User
from biobank.core.tenancy import require_permission
from biobank.participants.models import Participant
from biobank.specimens.models import DataField, DataValue, Specimen, TestResult

TRUE = {"1", "true", "yes", "y", "是", "有"}
FALSE = {"0", "false", "no", "n", "否", "無"}


def normalise_value(field: DataField, raw: str) -> str:
    """The value as stored, or ``ApplicationError`` saying why it does not fit the field."""
    text = raw.strip()
    if not text:
        raise ApplicationError(_("%s: a value is required.") % field.key, rule="BB-01")
    try:
        if field.type == DataField.Type.INTEGER:
            text = str(int(text))
        elif field.type == DataField.Type.DECIMAL:
            text = format(Decimal(text).normalize(), "f")
        elif field.type == DataField.Type.BOOLEAN:
            lowered = text.lower()
            if lowered not in TRUE | FALSE:
                raise ValueError
            text = "true" if lowered in TRUE else "false"
        elif field.type == DataField.Type.DATE:
            text = date.fromisoformat(text).isoformat()
    except (ValueError, InvalidOperation) as exc:
        raise ApplicationError(
            _("%(key)s: %(value)s is not a %(type)s.")
            % {"key": field.key, "value": raw, "type": field.get_type_display()},
            rule="BB-01",
        ) from exc
    if field.choices and text not in field.choices:
        raise ApplicationError(
            _("%(key)s: %(value)s is not an allowed code.") % {"key": field.key, "value": text},
            rule="BB-01",
        )
    if field.pattern and not re.fullmatch(field.pattern, text):
        raise ApplicationError(
            _("%(key)s: %(value)s does not have the expected form.")
            % {"key": field.key, "value": text},
            rule="BB-01",
        )
    return text


@transaction.atomic
def data_value_set(
    *,
    actor: User | None,
    field: DataField,
    value: str,
    specimen: Specimen | None = None,
    participant: Participant | None = None,
) -> DataValue:
    """Set a data value on the specimen or participant the field applies to (BB-01)."""
    organization = field.collection.organization
    require_permission(actor, "specimen.manage", organization)
    if field.applies_to == DataField.AppliesTo.SPECIMEN:
        if specimen is None or participant is not None:
            raise ApplicationError(_("%s applies to specimens.") % field.key, rule="BB-01")
        if specimen.collection_id != field.collection_id:
            raise ApplicationError(
                _("The specimen is not in this field's collection."), rule="BB-01"
            )
    else:
        if participant is None or specimen is not None:
            raise ApplicationError(_("%s applies to participants.") % field.key, rule="BB-01")
        if participant.organization_id != organization.pk:
            raise ApplicationError(_("The participant belongs to another organization."))
    text = normalise_value(field, value)
    current = DataValue.objects.filter(
        field=field, specimen=specimen, participant=participant
    ).first()
    before = {"value": current.value} if current else None
    if current is None:
        current = DataValue(field=field, specimen=specimen, participant=participant)
    current.value = text
    current.save()
    subject = specimen if specimen is not None else participant
    assert subject is not None
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE if before else AuditEvent.Action.CREATE,
        organization=organization,
        instance=subject,
        before=before,
        after={"field": field.key, "value": text},
        reason=f"associated data {field.key}",
    )
    return current


@transaction.atomic
def test_result_record(
    *,
    actor: User | None,
    specimen: Specimen,
    analyte: str,
    value: str,
    performed_on: date,
    unit: str = "",
    method: str = "",
    qc_flag: str = TestResult.QcFlag.PASS,
) -> TestResult:
    """A test result on a specimen (BB-02 testing), kept with it (BB-01)."""
    require_permission(actor, "specimen.manage", specimen.organization)
    if not analyte.strip() or not value.strip():
        raise ApplicationError(_("A result names its analyte and value."), rule="BB-01")
    if qc_flag not in TestResult.QcFlag.values:
        raise ApplicationError(_("Unknown QC flag %s.") % qc_flag)
    try:
        numeric: Decimal | None = Decimal(value.strip())
    except InvalidOperation:
        numeric = None
    result = TestResult.objects.create(
        specimen=specimen,
        analyte=analyte.strip(),
        value=value.strip(),
        numeric_value=numeric,
        unit=unit,
        method=method,
        performed_on=performed_on,
        qc_flag=qc_flag,
        by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=specimen.organization,
        instance=result,
        after={
            "specimen": specimen.barcode,
            "analyte": result.analyte,
            "value": result.value,
            "unit": unit,
            "qc_flag": qc_flag,
        },
    )
    return result


test_result_record.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
