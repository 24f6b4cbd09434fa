"""``biobank import participants FILE --organization CODE``: participants, identity, consent.

Columns: ``participant_code,name,national_id,birth_date,sex,consent_form,consent_date``, then
optionally ``phone,email,address``. An empty ``participant_code`` gets the next generated code.
``consent_form`` is a form code (its latest version) or ``CODE vN``; with ``consent_date`` it
records a consent to every data use the form offers and none of its options (commercial use,
linkage, after death, re-contact), which an import cannot know were chosen: record those on the
participant's page. Dates are ISO (``1975-03-02``), ``1975/3/2``, or ROC (``64/3/2``, 民國).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from biobank.core.errors import ApplicationError
from biobank.core.importing import ImportReport, Progress
from biobank.core.models import Organization, User
from biobank.core.tabular import Row, open_table
from biobank.core.tenancy import require_permission
from biobank.participants import rules, services
from biobank.participants.identity_numbers import validate_national_id
from biobank.participants.models import ConsentForm, IdentityRecord, Participant
from biobank.participants.vault import Identity, get_vault

REQUIRED = (
    "participant_code",
    "name",
    "national_id",
    "birth_date",
    "sex",
    "consent_form",
    "consent_date",
)
OPTIONAL = ("phone", "email", "address")
SEX = {
    "m": "M", "male": "M", "男": "M", "f": "F", "female": "F", "女": "F",
    "u": "U", "unknown": "U", "不詳": "U", "": "U",
}  # fmt: skip
DATE = re.compile(r"^(?:民國)?\s*(\d{2,4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
FORM_VERSION = re.compile(r"^(?P<code>.+?)\s+v(?P<version>\S+)$", re.IGNORECASE)


def parse_date(text: str) -> date:
    """ISO or slash dates; a year of three digits or fewer is a ROC (民國) year."""
    match = DATE.match(text.strip())
    if not match:
        raise ValueError("not a date (use YYYY-MM-DD)")
    year, month, day = (int(part) for part in match.groups())
    if year < 1000:
        year += 1911
    return date(year, month, day)


@dataclass
class _Valid:
    row: int
    code: str
    sex: str
    identity: Identity | None
    form: ConsentForm | None
    consent_date: date | None


def _forms(
    organization: Organization,
) -> tuple[dict[str, ConsentForm], dict[tuple[str, str], ConsentForm]]:
    latest: dict[str, ConsentForm] = {}
    exact: dict[tuple[str, str], ConsentForm] = {}
    for form in ConsentForm.objects.filter(organization=organization, is_active=True).order_by(
        "approved_on", "id"
    ):
        latest[form.code.lower()] = form
        exact[(form.code.lower(), form.version.lower())] = form
    return latest, exact


def _validate(
    rows: Iterator[Row], organization: Organization, report: ImportReport, progress: Progress | None
) -> list[_Valid]:
    vault = get_vault()
    latest, exact = _forms(organization)
    codes_in_file: dict[str, int] = {}
    ids_in_file: dict[str, int] = {}
    existing_codes = set(
        Participant.objects.filter(organization=organization).values_list("code", flat=True)
    )
    existing_hashes = dict(
        IdentityRecord.objects.filter(
            organization=organization, national_id_hash__isnull=False
        ).values_list("national_id_hash", "participant__code")
    )
    today = timezone.localdate()
    valid: list[_Valid] = []
    generated = int(services.participant_next_code(organization)[1:])
    for row in rows:
        report.rows += 1
        if progress and report.rows % 1000 == 0:
            progress(report.rows)
        v = row.values
        errors_before = report.error_count
        code = v["participant_code"]
        if code:
            if not services.CODE_PATTERN.match(code):
                report.add_error(
                    row.number, "participant_code", "1-40 letters, digits, '.', '_' or '-'"
                )
            elif code in existing_codes:
                report.add_error(row.number, "participant_code", f"{code} already exists")
            elif code in codes_in_file:
                report.add_error(
                    row.number, "participant_code", f"{code} repeats row {codes_in_file[code]}"
                )
            codes_in_file.setdefault(code, row.number)
        sex = SEX.get(v["sex"].strip().lower())
        if sex is None:
            report.add_error(row.number, "sex", "use M, F or U (男, 女)")
        national_id = ""
        if v["national_id"]:
            try:
                number = validate_national_id(v["national_id"])
            except ValueError as exc:
                report.add_error(row.number, "national_id", str(exc))
            else:
                national_id = number.value
                lookup = vault.lookup_hash(national_id)
                if lookup in existing_hashes:
                    report.add_error(
                        row.number,
                        "national_id",
                        f"already registered as {existing_hashes[lookup]}",
                    )
                elif national_id in ids_in_file:
                    report.add_error(
                        row.number, "national_id", f"repeats row {ids_in_file[national_id]}"
                    )
                ids_in_file.setdefault(national_id, row.number)
                if sex in {"M", "F"} and number.sex and number.sex != sex:
                    report.add_error(
                        row.number, "sex", f"{sex} but the national ID says {number.sex}"
                    )
        birth = ""
        if v["birth_date"]:
            try:
                parsed = parse_date(v["birth_date"])
                if parsed > today:
                    raise ValueError("in the future")
                birth = parsed.isoformat()
            except ValueError as exc:
                report.add_error(row.number, "birth_date", str(exc))
        form: ConsentForm | None = None
        consent_on: date | None = None
        if bool(v["consent_form"]) != bool(v["consent_date"]):
            column = "consent_date" if v["consent_form"] else "consent_form"
            report.add_error(row.number, column, "consent_form and consent_date go together")
        elif v["consent_form"]:
            match = FORM_VERSION.match(v["consent_form"])
            key = v["consent_form"].lower()
            form = (
                exact.get((match["code"].lower(), match["version"].lower()))
                if match
                else latest.get(key)
            )
            if form is None:
                report.add_error(row.number, "consent_form", f"no consent form {v['consent_form']}")
            try:
                consent_on = parse_date(v["consent_date"])
                if consent_on > today:
                    report.add_error(row.number, "consent_date", "in the future")
                elif form is not None and consent_on < form.approved_on:
                    report.add_error(row.number, "consent_date", "before the form was approved")
            except ValueError as exc:
                report.add_error(row.number, "consent_date", str(exc))
        if form is not None and consent_on is not None and birth:
            minor = rules.capacity_from_age(date.fromisoformat(birth), consent_on)
            if minor is not None:
                report.add_error(
                    row.number,
                    "consent_form",
                    "a minor's consent names the legal representative: record it on the "
                    "participant's page (HB-02)",
                )
        if report.error_count > errors_before:
            continue
        if not code:
            # give the code now, so a later row asking for the same code is reported
            while f"P{generated:06d}" in existing_codes or f"P{generated:06d}" in codes_in_file:
                generated += 1
            code = f"P{generated:06d}"
            codes_in_file[code] = row.number
        identity = Identity(
            name=v["name"],
            national_id=national_id,
            birth_date=birth,
            phone=v.get("phone", ""),
            email=v.get("email", ""),
            address=v.get("address", ""),
        )
        has_identity = any(
            [identity.name, national_id, birth, identity.phone, identity.email, identity.address]
        )
        valid.append(
            _Valid(
                row.number, code, sex or "U", identity if has_identity else None, form, consent_on
            )
        )
    return valid


def import_participants(
    path: Path,
    *,
    organization_code: str,
    dry_run: bool = False,
    progress: Progress | None = None,
    actor: User | None = None,
) -> ImportReport:
    report = ImportReport(kind="participants", dry_run=dry_run)
    organization = Organization.objects.filter(code=organization_code).first()
    if organization is None:
        report.add_error(0, "", f"no organization {organization_code}")
        return report
    require_permission(actor, "participant.manage", organization)
    table = open_table(path, required=REQUIRED, optional=OPTIONAL)
    valid = _validate(iter(table), organization, report, progress)
    if not report.ok or dry_run:
        report.created = len(valid) if report.ok else 0
        return report
    try:
        with transaction.atomic():
            _write(valid, organization, report, progress, actor)
    except ApplicationError as error:  # a race with another writer: nothing was written
        report.created = 0
        report.add_error(0, "", error.message)
    return report


def _write(
    valid: list[_Valid],
    organization: Organization,
    report: ImportReport,
    progress: Progress | None,
    actor: User | None,
) -> None:
    for item in valid:
        participant = services.participant_register(
            actor=actor,
            organization=organization,
            code=item.code,
            sex=item.sex,
            identity=item.identity,
        )
        if item.form is not None and item.consent_date is not None:
            services.consent_record(
                actor=actor,
                participant=participant,
                form=item.form,
                signed_on=item.consent_date,
                capacity="adult",
                signed_by="participant",
                permissions=[t.id for t in item.form.permissions.all()],
            )
        report.created += 1
        if progress and report.created % 1000 == 0:
            progress(report.created, None, "writing")
