"""``biobank import storage FILE --organization CODE``: the storage hierarchy from a sheet.

Columns ``barcode,name,kind,parent_barcode,rows,columns,temperature``: kind is one of site,
room, freezer, ln2_tank, refrigerator, cabinet, automated, rack, shelf, box, plate; a parent is
a unit earlier in the file or one that exists; boxes and plates give rows and columns;
``temperature`` is equipment's set point in °C. All-or-nothing.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction

from biobank.core.errors import ApplicationError
from biobank.core.importing import ImportReport, Progress
from biobank.core.models import Organization, User
from biobank.core.tabular import open_table
from biobank.core.tenancy import require_permission
from biobank.storage import services
from biobank.storage.models import EQUIPMENT, HOLDERS, Kind, StorageUnit

REQUIRED = ("barcode", "name", "kind", "parent_barcode", "rows", "columns", "temperature")


def import_storage(
    path: Path,
    *,
    organization_code: str,
    dry_run: bool = False,
    progress: Progress | None = None,
    actor: User | None = None,
) -> ImportReport:
    report = ImportReport(kind="storage units", dry_run=dry_run)
    organization = Organization.objects.filter(code=organization_code).first()
    if organization is None:
        report.add_error(0, "", f"no organization {organization_code}")
        return report
    require_permission(actor, "storage.manage", organization)
    existing = {u.barcode: u.kind for u in StorageUnit.objects.filter(organization=organization)}
    in_file: dict[str, tuple[int, str]] = {}
    rows = []
    for row in open_table(path, required=REQUIRED):
        report.rows += 1
        v = row.values
        before = report.error_count
        barcode, kind, parent = v["barcode"], v["kind"].lower(), v["parent_barcode"]
        if not barcode:
            report.add_error(row.number, "barcode", "required")
        elif barcode in existing:
            report.add_error(row.number, "barcode", f"{barcode} already exists")
        elif barcode in in_file:
            report.add_error(row.number, "barcode", f"{barcode} repeats row {in_file[barcode][0]}")
        if not v["name"]:
            report.add_error(row.number, "name", "required")
        if kind not in Kind.values:
            report.add_error(row.number, "kind", f"one of {', '.join(Kind.values)}")
        parent_kind = None
        if parent:
            if parent in in_file:
                parent_kind = in_file[parent][1]
            elif parent in existing:
                parent_kind = existing[parent]
            else:
                report.add_error(row.number, "parent_barcode", f"no unit {parent} above this row")
        if parent_kind and kind in Kind.values and not services._fits_under(kind, parent_kind):
            report.add_error(row.number, "kind", f"a {kind} cannot be inside a {parent_kind}")
        size = []
        for column in ("rows", "columns"):
            if v[column]:
                if not v[column].isdigit() or not 1 <= int(v[column]) <= 50:
                    report.add_error(row.number, column, "a whole number 1-50")
                else:
                    size.append(int(v[column]))
        if kind in HOLDERS and len(size) != 2:
            report.add_error(row.number, "rows", "boxes and plates give rows and columns")
        temperature = None
        if v["temperature"]:
            try:
                temperature = Decimal(v["temperature"])
            except InvalidOperation:
                report.add_error(row.number, "temperature", "a number of °C")
            if kind not in EQUIPMENT and kind in Kind.values:
                report.add_error(row.number, "temperature", "only equipment has a set point")
        if barcode:
            in_file.setdefault(barcode, (row.number, kind))
        if report.error_count == before:
            rows.append((row.number, barcode, v["name"], kind, parent, size, temperature))
        if progress and report.rows % 1000 == 0:
            progress(report.rows)
    if not report.ok or dry_run:
        report.created = len(rows) if report.ok else 0
        return report
    try:
        with transaction.atomic():
            made: dict[str, StorageUnit] = {}
            for _number, barcode, name, kind, parent, size, temperature in rows:
                parent_unit = made.get(parent) or (
                    StorageUnit.objects.get(organization=organization, barcode=parent)
                    if parent
                    else None
                )
                made[barcode] = services.unit_create(
                    actor=actor,
                    organization=organization,
                    barcode=barcode,
                    name=name,
                    kind=kind,
                    parent=parent_unit,
                    rows=size[0] if size else None,
                    columns=size[1] if size else None,
                    set_point_c=temperature,
                )
                report.created += 1
    except ApplicationError as error:
        report.created = 0
        report.add_error(0, "", error.message)
    return report


READING_COLUMNS = ("unit_barcode", "at", "value_c")


def import_readings(
    path: Path,
    *,
    organization_code: str,
    dry_run: bool = False,
    progress: Progress | None = None,
    actor: User | None = None,
) -> ImportReport:
    """``biobank import temperatures FILE``: a data logger's file, columns
    ``unit_barcode,at,value_c`` (times without an offset are Taiwan time)."""
    from datetime import datetime

    from django.utils import timezone

    report = ImportReport(kind="temperature readings", dry_run=dry_run)
    organization = Organization.objects.filter(code=organization_code).first()
    if organization is None:
        report.add_error(0, "", f"no organization {organization_code}")
        return report
    require_permission(actor, "storage.manage", organization)
    units = {
        u.barcode: u
        for u in StorageUnit.objects.filter(organization=organization, kind__in=list(EQUIPMENT))
    }
    readings = []
    for row in open_table(path, required=READING_COLUMNS):
        report.rows += 1
        v = row.values
        unit = units.get(v["unit_barcode"])
        if unit is None:
            report.add_error(row.number, "unit_barcode", f"no equipment {v['unit_barcode']}")
        try:
            at = datetime.fromisoformat(v["at"].replace(" ", "T"))
            if timezone.is_naive(at):
                at = timezone.make_aware(at)
        except ValueError:
            report.add_error(row.number, "at", "a date and time (YYYY-MM-DD HH:MM)")
            continue
        try:
            value = Decimal(v["value_c"])
        except InvalidOperation:
            report.add_error(row.number, "value_c", "a number of °C")
            continue
        if unit is not None:
            readings.append((unit, at, value))
    if not report.ok or dry_run:
        report.created = len(readings) if report.ok else 0
        return report
    with transaction.atomic():
        for unit, at, value in sorted(readings, key=lambda item: item[1]):
            services.temperature_record(
                actor=actor, unit=unit, at=at, value_c=value, source="logger"
            )
            report.created += 1
    return report
