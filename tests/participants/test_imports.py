"""``biobank import participants FILE --organization CODE``: all-or-nothing, identity sealed.

Files are written the way hospitals send them (UTF-8 with or without a BOM, Big5/CP950 from
Excel on Traditional-Chinese Windows, XLSX). Every bad row is reported with its row number and
column, and a file with any bad row writes nothing at all (HB-01 for the national ID, HB-02 for
consent).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from openpyxl import Workbook

from biobank.core import services as core_services
from biobank.core.errors import PermissionDenied
from biobank.core.models import AuditEvent, Obligation
from biobank.participants import rules, services
from biobank.participants.identity_numbers import is_valid_national_id
from biobank.participants.imports import import_participants, parse_date
from biobank.participants.models import Consent, IdentityRecord, Participant
from biobank.participants.vault import Identity, get_vault

HEADER = [
    "participant_code",
    "name",
    "national_id",
    "birth_date",
    "sex",
    "consent_form",
    "consent_date",
]


def national_id(letter: str = "A", sex_digit: str = "1", serial: int = 2345678) -> str:
    """A valid national ID: the given letter, sex digit and seven digits, plus the check digit
    found by trying all ten."""
    stem = f"{letter}{sex_digit}{serial:07d}"
    valid = [stem + digit for digit in "0123456789" if is_valid_national_id(stem + digit)]
    assert len(valid) == 1, stem
    return valid[0]


def mistyped(number: str) -> str:
    """The same number with a wrong check digit."""
    wrong = str((int(number[-1]) + 1) % 10)
    assert not is_valid_national_id(number[:-1] + wrong)
    return number[:-1] + wrong


MAN = national_id("A", "1", 2345678)  # A123456789
WOMAN = national_id("B", "2", 2123456)  # B221234564
MAN_2 = national_id("F", "1", 3110409)
WOMAN_2 = national_id("A", "2", 2345678)


def test_helper_computes_known_valid_numbers():
    assert MAN == "A123456789"
    assert WOMAN == "B221234564"
    assert is_valid_national_id(MAN_2) and is_valid_national_id(WOMAN_2)


def write_csv(
    path: Path,
    rows: list[list[str]],
    *,
    header: list[str] | None = None,
    encoding: str = "utf-8",
) -> Path:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header or HEADER)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def run_import(path: Path, *, dry_run: bool = False, organization: str = "DEMO") -> str:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(
        "import",
        "participants",
        str(path),
        organization=organization,
        dry_run=dry_run,
        stdout=stdout,
        stderr=stderr,
    )
    return stdout.getvalue()


def run_failing_import(
    path: Path, *, dry_run: bool = False, organization: str = "DEMO"
) -> tuple[str, str]:
    """The CommandError message and what the command wrote to stderr (one line per error)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "import",
            "participants",
            str(path),
            organization=organization,
            dry_run=dry_run,
            stdout=stdout,
            stderr=stderr,
        )
    return str(excinfo.value), stderr.getvalue()


def stored_identity(participant: Participant) -> Identity:
    record = IdentityRecord.objects.get(participant=participant)
    return get_vault().open(bytes(record.sealed), bound_to=str(participant.public_id))


def written_counts() -> dict[str, int]:
    return {
        "participants": Participant.objects.count(),
        "identities": IdentityRecord.objects.count(),
        "consents": Consent.objects.count(),
        "audit": AuditEvent.objects.count(),
        "obligations": Obligation.objects.count(),
    }


@pytest.fixture
def gen_form(cast):
    return services.consent_form_create(
        actor=None,
        organization=cast.demo,
        code="GEN",
        version="3",
        title="一般研究同意書",
        committee_reference="IRB-1",
        approved_on=date(2024, 3, 1),
        permissions=[rules.GRU, rules.HMB],
        duration_years=20,
    )


# Encodings and formats -----------------------------------------------------------------------


def test_utf8_csv_imports_participants_with_identity_and_consent(gen_form, tmp_path):
    path = write_csv(
        tmp_path / "participants.csv",
        [
            ["BB-001", "林美玲", WOMAN, "1975-03-02", "F", "GEN", "2024-05-01"],
            ["BB-002", "陳志明", MAN, "1980-12-01", "M", "GEN", "2024-05-02"],
        ],
    )
    output = run_import(path)
    assert "imported 2 participants from 2 rows" in output
    first = Participant.objects.get(code="BB-001")
    assert (first.sex, first.birth_year, first.status) == ("F", 1975, "active")
    assert first.organization.code == "DEMO"
    assert stored_identity(first).name == "林美玲"
    assert stored_identity(first).national_id == WOMAN
    assert stored_identity(Participant.objects.get(code="BB-002")).name == "陳志明"


def test_utf8_csv_with_bom_imports(gen_form, tmp_path):
    path = write_csv(
        tmp_path / "bom.csv",
        [["BB-010", "王小明", MAN, "1970-01-01", "男", "GEN", "2024-05-01"]],
        encoding="utf-8-sig",
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    run_import(path)
    participant = Participant.objects.get(code="BB-010")  # the BOM did not spoil the header
    assert stored_identity(participant).name == "王小明"


def test_cp950_csv_with_chinese_names_imports(gen_form, tmp_path):
    path = write_csv(
        tmp_path / "big5.csv",
        [
            ["BB-020", "黃淑芬", WOMAN, "64/3/2", "女", "GEN", "113/5/1"],
            ["BB-021", "張家豪", MAN, "1969/7/8", "男", "GEN", "113/5/2"],
        ],
        encoding="cp950",
    )
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really Big5, not UTF-8
    run_import(path)
    assert stored_identity(Participant.objects.get(code="BB-020")).name == "黃淑芬"
    assert stored_identity(Participant.objects.get(code="BB-021")).name == "張家豪"
    consent = Consent.objects.get(participant__code="BB-020")
    assert consent.signed_on == date(2024, 5, 1)


def test_xlsx_imports_with_date_cells_and_empty_cells(gen_form, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append(["BB-030", "吳雅婷", WOMAN, date(1975, 3, 2), "F", "GEN", date(2024, 5, 1)])
    sheet.append([None, "劉建宏", MAN, "64/3/2", "M", None, None])
    path = tmp_path / "participants.xlsx"
    workbook.save(path)
    output = run_import(path)
    assert "imported 2 participants" in output
    first = Participant.objects.get(code="BB-030")
    assert stored_identity(first).birth_date == "1975-03-02"
    assert Consent.objects.get(participant=first).signed_on == date(2024, 5, 1)
    second = Participant.objects.get(code="P000001")
    assert stored_identity(second).name == "劉建宏"
    assert not second.consents.exists()


# Values ---------------------------------------------------------------------------------------


def test_empty_participant_code_gets_the_next_generated_code(gen_form, tmp_path):
    services.participant_register(actor=None, organization=gen_form.organization, code="P000007")
    path = write_csv(
        tmp_path / "codes.csv",
        [
            ["", "甲", "", "", "U", "", ""],
            ["BB-100", "乙", "", "", "U", "", ""],
            ["", "丙", "", "", "U", "", ""],
        ],
    )
    run_import(path)
    codes = set(Participant.objects.values_list("code", flat=True))
    assert codes == {"P000007", "P000008", "BB-100", "P000009"}
    assert stored_identity(Participant.objects.get(code="P000008")).name == "甲"
    assert stored_identity(Participant.objects.get(code="P000009")).name == "丙"


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("男", "M"),
        ("女", "F"),
        ("male", "M"),
        ("Male", "M"),
        ("FEMALE", "F"),
        ("F", "F"),
        ("m", "M"),
        ("不詳", "U"),
        ("", "U"),
    ],
)
def test_sex_aliases(gen_form, tmp_path, written, stored):
    path = write_csv(tmp_path / "sex.csv", [["BB-200", "某人", "", "", written, "", ""]])
    run_import(path)
    assert Participant.objects.get(code="BB-200").sex == stored


def test_unknown_sex_is_reported(gen_form, tmp_path):
    path = write_csv(tmp_path / "sex.csv", [["BB-201", "某人", "", "", "X", "", ""]])
    report = import_participants(path, organization_code="DEMO")
    assert [(e.row, e.column) for e in report.errors] == [(2, "sex")]
    assert not Participant.objects.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("64/3/2", date(1975, 3, 2)),
        ("064/03/02", date(1975, 3, 2)),
        ("民國64年3月2日", date(1975, 3, 2)),
        ("113/5/1", date(2024, 5, 1)),
        ("1975/3/2", date(1975, 3, 2)),
        ("1975-03-02", date(1975, 3, 2)),
        ("1975.3.2", date(1975, 3, 2)),
    ],
)
def test_parse_date_reads_roc_slash_and_iso_dates(text, expected):
    assert parse_date(text) == expected


def test_roc_and_slash_dates_in_a_file(gen_form, tmp_path):
    path = write_csv(
        tmp_path / "dates.csv",
        [
            ["BB-300", "甲", MAN, "64/3/2", "M", "GEN", "113/5/1"],
            ["BB-301", "乙", WOMAN, "1980/12/1", "F", "GEN", "2024/6/3"],
            ["BB-302", "丙", MAN_2, "民國70年1月5日", "M", "GEN", "2024-06-04"],
        ],
    )
    run_import(path)
    assert stored_identity(Participant.objects.get(code="BB-300")).birth_date == "1975-03-02"
    assert Participant.objects.get(code="BB-300").birth_year == 1975
    assert stored_identity(Participant.objects.get(code="BB-301")).birth_date == "1980-12-01"
    assert stored_identity(Participant.objects.get(code="BB-302")).birth_date == "1981-01-05"
    signed = dict(Consent.objects.values_list("participant__code", "signed_on"))
    assert signed == {
        "BB-300": date(2024, 5, 1),
        "BB-301": date(2024, 6, 3),
        "BB-302": date(2024, 6, 4),
    }


def test_bad_date_is_reported_with_row_and_column(gen_form, tmp_path):
    path = write_csv(
        tmp_path / "dates.csv",
        [
            ["BB-310", "甲", "", "1975/2/30", "U", "", ""],
            ["BB-311", "乙", "", "March 2nd", "U", "", ""],
        ],
    )
    report = import_participants(path, organization_code="DEMO")
    assert [(e.row, e.column) for e in report.errors] == [(2, "birth_date"), (3, "birth_date")]


def test_hb02_consent_is_recorded_with_every_permission_the_form_offers(gen_form, tmp_path):
    path = write_csv(
        tmp_path / "consent.csv",
        [["BB-400", "甲", MAN, "1975-03-02", "M", "GEN", "2024-05-01"]],
    )
    run_import(path)
    consent = Consent.objects.get(participant__code="BB-400")
    assert consent.form == gen_form
    assert {t.id for t in consent.permissions.all()} == {rules.GRU, rules.HMB}
    assert (consent.capacity, consent.signed_by, consent.state) == (
        "adult",
        "participant",
        "active",
    )
    # the options an import cannot know were chosen stay off
    assert not any(
        [consent.commercial_use, consent.nhi_linkage, consent.after_death, consent.recontact]
    )
    assert consent.valid_until == date(2044, 5, 1)
    # the end of consent opens its HR-04 obligation, as for a consent entered on the page
    assert Obligation.objects.filter(rule_id="HR-04").count() == 1


def test_consent_form_names_the_latest_version_or_an_exact_one(gen_form, cast, tmp_path):
    newer = services.consent_form_create(
        actor=None,
        organization=cast.demo,
        code="GEN",
        version="4",
        title="一般研究同意書 第四版",
        committee_reference="IRB-2",
        approved_on=date(2024, 4, 1),
        permissions=[rules.HMB],
        duration_years=10,
    )
    path = write_csv(
        tmp_path / "versions.csv",
        [
            ["BB-410", "甲", "", "", "U", "GEN", "2024-05-01"],
            ["BB-411", "乙", "", "", "U", "gen v3", "2024-05-01"],
        ],
    )
    run_import(path)
    assert Consent.objects.get(participant__code="BB-410").form == newer
    latest = Consent.objects.get(participant__code="BB-411")
    assert latest.form == gen_form
    assert {t.id for t in latest.permissions.all()} == {rules.GRU, rules.HMB}


# All or nothing -----------------------------------------------------------------------------


def test_one_bad_row_writes_nothing(gen_form, tmp_path):
    before = written_counts()
    path = write_csv(
        tmp_path / "one-bad.csv",
        [
            ["BB-500", "甲", MAN, "1975-03-02", "M", "GEN", "2024-05-01"],
            ["BB-501", "乙", mistyped(WOMAN), "1976-03-02", "F", "GEN", "2024-05-01"],
            ["BB-502", "丙", MAN_2, "1977-03-02", "M", "GEN", "2024-05-01"],
        ],
    )
    message, stderr = run_failing_import(path)
    assert "1 error(s) in 3 rows" in message
    assert "nothing was written" in message
    assert "row 3, column national_id" in stderr
    assert written_counts() == before


def test_every_bad_row_is_reported_with_row_and_column(gen_form, cast, tmp_path):
    services.participant_register(
        actor=None,
        organization=cast.demo,
        code="OLD-1",
        identity=Identity(name="舊人", national_id=WOMAN_2),
    )
    today = timezone.localdate()
    rows = [
        # row 2: fine
        ["BB-600", "好人", MAN, "1975-03-02", "M", "GEN", "2024-05-01"],
        # row 3: national ID checksum (HB-01)
        ["BB-601", "甲", mistyped(MAN_2), "1975-03-02", "M", "", ""],
        # row 4: the national ID of row 2 again
        ["BB-602", "乙", MAN.lower(), "1975-03-02", "M", "", ""],
        # row 5: a national ID already registered
        ["BB-603", "丙", WOMAN_2, "1975-03-02", "F", "", ""],
        # row 6: a code already in the organization
        ["OLD-1", "丁", "", "", "U", "", ""],
        # row 7: the code of row 2 again
        ["BB-600", "戊", "", "", "U", "", ""],
        # row 8: an unknown consent form
        ["BB-604", "己", "", "", "U", "NOPE", "2024-05-01"],
        # row 9: a consent form without its date
        ["BB-605", "庚", "", "", "U", "GEN", ""],
        # row 10: a birth date in the future
        ["BB-606", "辛", "", (today + timedelta(days=1)).isoformat(), "U", "", ""],
        # row 11: sex F, but the national ID says M
        ["BB-607", "壬", MAN_2, "1975-03-02", "F", "", ""],
        # row 12: a minor on the consent date (HB-02)
        ["BB-608", "癸", WOMAN, "2010-01-01", "F", "GEN", "2024-05-01"],
    ]
    path = write_csv(tmp_path / "bad.csv", rows)
    before = written_counts()
    report = import_participants(path, organization_code="DEMO")
    assert not report.ok
    assert report.rows == 11
    assert report.created == 0
    found = {(e.row, e.column): e.message for e in report.errors}
    assert set(found) == {
        (3, "national_id"),
        (4, "national_id"),
        (5, "national_id"),
        (6, "participant_code"),
        (7, "participant_code"),
        (8, "consent_form"),
        (9, "consent_date"),
        (10, "birth_date"),
        (11, "sex"),
        (12, "consent_form"),
    }
    assert "check digit" in found[(3, "national_id")]
    assert "repeats row 2" in found[(4, "national_id")]
    assert "OLD-1" in found[(5, "national_id")]  # names the existing participant
    assert "OLD-1" in found[(6, "participant_code")]
    assert "repeats row 2" in found[(7, "participant_code")]
    assert "NOPE" in found[(8, "consent_form")]
    assert "future" in found[(10, "birth_date")]
    assert "HB-02" in found[(12, "consent_form")]
    # the number itself never appears in a message (HB-01)
    assert not any(number in str(e) for e in report.errors for number in (MAN, MAN_2, WOMAN_2))
    assert written_counts() == before
    # the command reports the same, one line per error, and writes nothing either
    message, stderr = run_failing_import(path)
    assert "10 error(s) in 11 rows" in message
    for row, column in found:
        assert f"row {row}, column {column}:" in stderr
    assert written_counts() == before


def test_hb01_bad_national_id_checksum_is_refused(gen_form, tmp_path):
    path = write_csv(tmp_path / "id.csv", [["BB-700", "甲", mistyped(MAN), "", "M", "", ""]])
    report = import_participants(path, organization_code="DEMO")
    assert [(e.row, e.column) for e in report.errors] == [(2, "national_id")]
    assert not Participant.objects.exists()


def test_hb01_national_id_twice_in_the_file_is_refused(gen_form, tmp_path):
    path = write_csv(
        tmp_path / "id.csv",
        [
            ["BB-710", "甲", MAN, "", "M", "", ""],
            ["BB-711", "乙", WOMAN, "", "F", "", ""],
            ["BB-712", "丙", f" {MAN.lower()} ", "", "M", "", ""],
        ],
    )
    report = import_participants(path, organization_code="DEMO")
    assert [(e.row, e.column) for e in report.errors] == [(4, "national_id")]
    assert "repeats row 2" in report.errors[0].message
    assert not Participant.objects.exists()


def test_hb01_national_id_already_registered_names_the_participant(gen_form, cast, tmp_path):
    services.participant_register(
        actor=None, organization=cast.demo, code="KNOWN-7", identity=Identity(national_id=MAN)
    )
    path = write_csv(tmp_path / "id.csv", [["BB-720", "甲", MAN, "", "M", "", ""]])
    _message, stderr = run_failing_import(path)
    assert "row 2, column national_id: already registered as KNOWN-7" in stderr
    assert list(Participant.objects.values_list("code", flat=True)) == ["KNOWN-7"]


def test_hb01_national_id_of_another_organization_does_not_count(gen_form, cast, tmp_path):
    services.participant_register(
        actor=None, organization=cast.other, code="ELSEWHERE", identity=Identity(national_id=MAN)
    )
    path = write_csv(tmp_path / "id.csv", [["BB-730", "甲", MAN, "", "M", "", ""]])
    run_import(path)
    assert Participant.objects.filter(organization=cast.demo, code="BB-730").exists()


def test_duplicate_code_in_the_file_and_in_the_organization(gen_form, cast, tmp_path):
    services.participant_register(actor=None, organization=cast.demo, code="BB-800")
    path = write_csv(
        tmp_path / "codes.csv",
        [
            ["BB-800", "甲", "", "", "U", "", ""],
            ["BB-801", "乙", "", "", "U", "", ""],
            ["BB-801", "丙", "", "", "U", "", ""],
            ["bad code!", "丁", "", "", "U", "", ""],
        ],
    )
    report = import_participants(path, organization_code="DEMO")
    assert [(e.row, e.column) for e in report.errors] == [
        (2, "participant_code"),
        (4, "participant_code"),
        (5, "participant_code"),
    ]
    assert Participant.objects.count() == 1


def test_a_code_a_generated_code_would_take_is_reported_not_crashed(gen_form, tmp_path):
    """Row 2 has no code, so it would get P000001; row 3 asks for P000001 itself. Validation
    must see the clash, report it with row and column, and write nothing: an exception half way
    through the writing phase is not a report."""
    path = write_csv(
        tmp_path / "clash.csv",
        [
            ["", "甲", "", "", "U", "", ""],
            ["P000001", "乙", "", "", "U", "", ""],
        ],
    )
    before = written_counts()
    report = import_participants(path, organization_code="DEMO")
    assert not report.ok
    assert [(e.row, e.column) for e in report.errors] == [(3, "participant_code")]
    assert written_counts() == before


def test_unknown_consent_form_is_refused(gen_form, tmp_path):
    path = write_csv(
        tmp_path / "form.csv",
        [
            ["BB-900", "甲", "", "", "U", "GEN v9", "2024-05-01"],
            ["BB-901", "乙", "", "", "U", "OTHERFORM", "2024-05-01"],
        ],
    )
    report = import_participants(path, organization_code="DEMO")
    assert [(e.row, e.column) for e in report.errors] == [
        (2, "consent_form"),
        (3, "consent_form"),
    ]


def test_consent_form_of_another_organization_is_unknown(gen_form, cast, tmp_path):
    services.consent_form_create(
        actor=None,
        organization=cast.other,
        code="ELSE",
        version="1",
        title="他院同意書",
        committee_reference="IRB-X",
        approved_on=date(2024, 1, 1),
        permissions=[rules.GRU],
        duration_years=5,
    )
    path = write_csv(tmp_path / "form.csv", [["BB-910", "甲", "", "", "U", "ELSE", "2024-05-01"]])
    report = import_participants(path, organization_code="DEMO")
    assert [(e.row, e.column) for e in report.errors] == [(2, "consent_form")]


def test_hb02_consent_form_and_consent_date_go_together(gen_form, tmp_path):
    path = write_csv(
        tmp_path / "form.csv",
        [
            ["BB-920", "甲", "", "", "U", "GEN", ""],
            ["BB-921", "乙", "", "", "U", "", "2024-05-01"],
        ],
    )
    report = import_participants(path, organization_code="DEMO")
    assert [(e.row, e.column) for e in report.errors] == [
        (2, "consent_date"),
        (3, "consent_form"),
    ]


def test_hb02_consent_date_in_the_future_or_before_the_form_approval(gen_form, tmp_path):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    path = write_csv(
        tmp_path / "form.csv",
        [
            ["BB-930", "甲", "", "", "U", "GEN", tomorrow],
            ["BB-931", "乙", "", "", "U", "GEN", "2024-02-29"],
        ],
    )
    report = import_participants(path, organization_code="DEMO")
    assert [(e.row, e.column) for e in report.errors] == [
        (2, "consent_date"),
        (3, "consent_date"),
    ]
    assert "approved" in report.errors[1].message


def test_future_birth_date_is_refused(gen_form, tmp_path):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    path = write_csv(tmp_path / "birth.csv", [["BB-940", "甲", "", tomorrow, "U", "", ""]])
    report = import_participants(path, organization_code="DEMO")
    assert [(e.row, e.column) for e in report.errors] == [(2, "birth_date")]
    assert "future" in report.errors[0].message


def test_hb01_sex_contradicting_the_national_id_is_refused(gen_form, tmp_path):
    path = write_csv(
        tmp_path / "sex.csv",
        [
            ["BB-950", "甲", MAN, "", "女", "", ""],
            ["BB-951", "乙", WOMAN, "", "male", "", ""],
            ["BB-952", "丙", WOMAN_2, "", "", "", ""],  # unknown sex does not contradict
        ],
    )
    report = import_participants(path, organization_code="DEMO")
    assert [(e.row, e.column) for e in report.errors] == [(2, "sex"), (3, "sex")]
    assert not Participant.objects.exists()


@pytest.mark.parametrize(
    ("birth_date", "consent_date"),
    [
        ("2010-01-01", "2024-05-01"),  # 14: a minor aged 7 or over
        ("2020-01-01", "2024-05-01"),  # 4: a minor under 7
        ("2006-05-02", "2024-05-01"),  # 18 tomorrow
    ],
)
def test_hb02_a_minors_consent_is_refused(gen_form, tmp_path, birth_date, consent_date):
    path = write_csv(
        tmp_path / "minor.csv",
        [["BB-960", "甲", "", birth_date, "U", "GEN", consent_date]],
    )
    _message, stderr = run_failing_import(path)
    assert "row 2, column consent_form:" in stderr
    assert "HB-02" in stderr
    assert not Participant.objects.exists()


def test_hb02_an_adult_on_the_day_of_their_18th_birthday_is_accepted(gen_form, tmp_path):
    path = write_csv(
        tmp_path / "adult.csv",
        [["BB-970", "甲", "", "2006-05-01", "U", "GEN", "2024-05-01"]],
    )
    run_import(path)
    assert Consent.objects.get(participant__code="BB-970").capacity == "adult"


def test_a_minor_without_consent_is_registered(gen_form, tmp_path):
    path = write_csv(tmp_path / "minor.csv", [["BB-980", "甲", "", "2015-01-01", "U", "", ""]])
    run_import(path)
    assert Participant.objects.get(code="BB-980").birth_year == 2015


# The header and the command -----------------------------------------------------------------


def test_missing_columns_give_a_clear_command_error(gen_form, tmp_path):
    path = write_csv(
        tmp_path / "missing.csv",
        [["BB-1", "甲", "", "", "U"]],
        header=HEADER[:5],
    )
    message, _stderr = run_failing_import(path)
    assert "consent_form" in message
    assert "consent_date" in message
    assert not Participant.objects.exists()


def test_unknown_columns_give_a_clear_command_error(gen_form, tmp_path):
    path = write_csv(
        tmp_path / "unknown.csv",
        [["BB-1", "甲", "", "", "U", "", "", "A+"]],
        header=[*HEADER, "blood_type"],
    )
    message, _stderr = run_failing_import(path)
    assert "blood_type" in message
    assert not Participant.objects.exists()


def test_optional_contact_columns_are_sealed_too(gen_form, tmp_path):
    path = write_csv(
        tmp_path / "contact.csv",
        [["BB-1", "甲", MAN, "", "M", "", "", "0912-345-678", "a@example.org", "台北市"]],
        header=[*HEADER, "phone", "email", "address"],
    )
    run_import(path)
    identity = stored_identity(Participant.objects.get(code="BB-1"))
    assert (identity.phone, identity.email, identity.address) == (
        "0912-345-678",
        "a@example.org",
        "台北市",
    )


def test_unknown_organization_is_a_command_error(gen_form, tmp_path):
    path = write_csv(tmp_path / "p.csv", [["BB-1", "甲", "", "", "U", "", ""]])
    message, stderr = run_failing_import(path, organization="NOPE")
    assert "nothing was written" in message
    assert "no organization NOPE" in stderr
    assert not Participant.objects.exists()


def test_missing_file_is_a_command_error(gen_form, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run_import(tmp_path / "absent.csv")


def test_dry_run_validates_and_writes_nothing(gen_form, tmp_path):
    path = write_csv(
        tmp_path / "dry.csv",
        [
            ["BB-1", "甲", MAN, "64/3/2", "M", "GEN", "2024-05-01"],
            ["", "乙", WOMAN, "", "F", "", ""],
        ],
    )
    before = written_counts()
    output = run_import(path, dry_run=True)
    assert "would import 2 participants from 2 rows" in output
    assert written_counts() == before
    report = import_participants(path, organization_code="DEMO", dry_run=True)
    assert (report.ok, report.dry_run, report.created, report.rows) == (True, True, 2, 2)
    assert written_counts() == before


def test_dry_run_reports_errors_and_writes_nothing(gen_form, tmp_path):
    path = write_csv(tmp_path / "dry.csv", [["BB-1", "甲", mistyped(MAN), "", "M", "", ""]])
    before = written_counts()
    message, stderr = run_failing_import(path, dry_run=True)
    assert "nothing was written" in message
    assert "row 2, column national_id" in stderr
    assert written_counts() == before


# The vault -----------------------------------------------------------------------------------


def test_hb01_imported_identity_is_stored_encrypted(gen_form, tmp_path):
    path = write_csv(
        tmp_path / "vault.csv",
        [["", "林美玲", WOMAN, "64/3/2", "F", "GEN", "2024-05-01"]],
    )
    run_import(path)
    participant = Participant.objects.get()
    record = IdentityRecord.objects.get(participant=participant)
    sealed = bytes(record.sealed)
    assert "林美玲".encode() not in sealed
    assert WOMAN.encode() not in sealed
    assert b"1975-03-02" not in sealed
    assert record.national_id_hash == get_vault().lookup_hash(WOMAN)
    assert WOMAN not in record.national_id_hash
    # the audit trail names the fields present, never their values
    for event in AuditEvent.objects.all():
        text = f"{event.before} {event.after} {event.object_repr} {event.reason}"
        assert "林美玲" not in text and WOMAN not in text


def test_hb01_imported_identity_is_revealed_only_through_an_approved_request(
    gen_form, cast, tmp_path
):
    path = write_csv(
        tmp_path / "vault.csv",
        [["", "林美玲", WOMAN, "64/3/2", "F", "GEN", "2024-05-01"]],
    )
    run_import(path)
    participant = Participant.objects.get(code="P000001")
    with pytest.raises(PermissionDenied):
        services.identity_reveal(actor=cast.manager, participant=participant)
    request = services.reidentification_request(
        actor=cast.manager, participant=participant, reason="回診聯絡", hours=2
    )
    core_services.membership_add(
        actor=None, organization=cast.demo, user=cast.qa, role="biobank_manager"
    )
    services.reidentification_decide(actor=cast.qa, request=request, approve=True)
    identity = services.identity_reveal(actor=cast.manager, participant=participant)
    assert identity.name == "林美玲"
    assert identity.national_id == WOMAN
    assert identity.birth_date == "1975-03-02"
