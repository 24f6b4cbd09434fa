"""``biobank import specimens`` and ``biobank import collections``: all-or-nothing, streamed.

The catalogue of bad files from issue 6 is here, each checked for its message (row, column,
reason) and for writing nothing; a good file gets its lineage, positions, events and audit
events, and the audit chain still verifies.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from biobank.core.audit import audit_verify
from biobank.core.errors import PermissionDenied
from biobank.core.models import AuditEvent
from biobank.participants import services as participant_services
from biobank.participants.models import Participant
from biobank.specimens.imports import COLUMNS, import_collections, import_specimens
from biobank.specimens.models import Lineage, Specimen, SpecimenEvent
from biobank.specimens.services.collections import collection_create, data_field_define
from biobank.storage.models import Placement, StorageAccess
from tests.storage import conftest as storage_fixtures

freezer = storage_fixtures.freezer  # a -80 °C freezer with two 9 × 9 boxes

pytestmark = pytest.mark.django_db


@pytest.fixture
def cohort(cast):
    return collection_create(
        actor=cast.manager,
        organization=cast.demo,
        code="TWB",
        name="Taiwan cohort",
        principal_investigator="Dr Lin",
    )


def row(**values: str) -> dict[str, str]:
    base = dict.fromkeys(COLUMNS, "")
    base.update(values)
    return base


def write_csv(path: Path, rows: list[dict[str, str]], *, encoding: str = "utf-8") -> Path:
    header = list(rows[0]) if rows else list(COLUMNS)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def good_rows() -> list[dict[str, str]]:
    return [
        row(barcode="WB-1", participant_code="P1", collection_code="TWB",
            material_type="WHOLE_BLOOD", quantity="10", unit="mL",
            collected_at="2024-03-01T09:30", container_barcode="BOX-1", position="A1"),
        row(barcode="PL-1", participant_code="P1", collection_code="TWB",
            material_type="PLASMA", quantity="4", unit="mL", parent_barcode="WB-1",
            quantity_taken="8", container_barcode="BOX-1", position="A2"),
        row(barcode="PL-1a", participant_code="P1", collection_code="TWB",
            material_type="PLASMA", quantity="1.5", unit="mL", parent_barcode="PL-1",
            container_barcode="BOX-1", position="1-3"),
        row(barcode="SEED-1", material_type="SEED", quantity="5", unit="g",
            source_organism="Oryza sativa", container_barcode="BOX-2", position="B2"),
    ]  # fmt: skip


def with_optional(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    columns = [*COLUMNS, "quantity_taken", "source_organism"]
    return [{c: r.get(c, "") for c in columns} for r in rows]


def test_a_good_file_imports_specimens_with_lineage_positions_events_and_audit(
    cast, cohort, freezer, tmp_path
):
    path = write_csv(tmp_path / "s.csv", with_optional(good_rows()))
    audit_before = AuditEvent.objects.count()
    report = import_specimens(path, organization_code="DEMO", actor=cast.technician)
    assert report.ok, report.errors
    assert report.created == 4
    blood = Specimen.objects.get(barcode="WB-1")
    plasma = Specimen.objects.get(barcode="PL-1")
    aliquot = Specimen.objects.get(barcode="PL-1a")
    # quantities conserved (BB-04): the derivative took 8 of 10 mL, the aliquot 1.5 of 4 mL
    assert blood.remaining == Decimal("2") and plasma.remaining == Decimal("2.5")
    assert aliquot.quantity == aliquot.remaining == Decimal("1.5")
    assert Lineage.objects.get(child=plasma).kind == "derivative"
    assert Lineage.objects.get(child=aliquot).kind == "aliquot"
    assert Lineage.objects.get(child=aliquot).quantity_taken == Decimal("1.5")
    participant = Participant.objects.get(organization=cast.demo, code="P1")
    assert blood.participant == participant and blood.collection == cohort
    assert blood.collected_at.isoformat() == "2024-03-01T01:30:00+00:00"  # Asia/Taipei
    placement = Placement.objects.get(specimen=aliquot)
    assert (placement.unit, placement.row, placement.column) == (freezer.box1, 1, 3)
    activities = sorted(SpecimenEvent.objects.filter(specimen=blood).values_list("activity"))
    assert activities == [("collection",), ("storage",)]
    storage = SpecimenEvent.objects.get(specimen=blood, activity="storage")
    assert storage.parameters == {"temperature_c": -80.0}
    assert storage.result == "BOX-1 A1"
    seed = Specimen.objects.get(barcode="SEED-1")
    assert seed.participant is None and seed.source_organism == "Oryza sativa"
    assert SpecimenEvent.objects.filter(specimen=seed, activity="acquisition").exists()
    # one audit event per specimen and per new participant, and the chain verifies
    assert AuditEvent.objects.count() - audit_before == 5
    event = AuditEvent.objects.get(object_type="specimens.specimen", object_id=str(blood.pk))
    assert event.actor == cast.technician
    assert event.after["container"] == "BOX-1" and event.after["remaining"] == "2.0000"
    assert audit_verify().ok
    assert StorageAccess.objects.filter(unit=freezer.freezer, purpose="placing").count() == 2


def test_new_specimens_can_be_created_after_an_import(cast, cohort, freezer, tmp_path):
    path = write_csv(tmp_path / "s.csv", with_optional(good_rows()))
    assert import_specimens(path, organization_code="DEMO").ok
    participant = participant_services.participant_register(
        actor=cast.technician, organization=cast.demo, code="LATER"
    )
    assert participant.pk > Participant.objects.get(code="P1").pk
    later = Specimen.objects.create(
        organization=cast.demo, barcode="LATER-1", category_id="plant",
        material_type=Specimen.objects.get(barcode="SEED-1").material_type,
        acquired_type=Specimen.objects.get(barcode="SEED-1").material_type,
        quantity=1, remaining=1, unit="g",
    )  # fmt: skip
    assert later.pk > Specimen.objects.get(barcode="SEED-1").pk


def test_dry_run_validates_and_writes_nothing(cast, cohort, freezer, tmp_path):
    path = write_csv(tmp_path / "s.csv", with_optional(good_rows()))
    report = import_specimens(path, organization_code="DEMO", dry_run=True)
    assert report.ok and report.created == 4 and report.dry_run
    assert not Specimen.objects.exists()


def errors_of(cast, path: Path) -> list[tuple[int, str, str]]:
    before = (Specimen.objects.count(), AuditEvent.objects.count(), Participant.objects.count())
    report = import_specimens(path, organization_code="DEMO")
    assert not report.ok
    after = (Specimen.objects.count(), AuditEvent.objects.count(), Participant.objects.count())
    assert after == before, "a file with errors wrote something"
    return [(e.row, e.column, e.message) for e in report.errors]


def test_duplicate_barcodes_in_the_file_and_in_the_database(cast, cohort, freezer, tmp_path):
    rows = with_optional(good_rows())
    rows[3]["barcode"] = "WB-1"
    errors = errors_of(cast, write_csv(tmp_path / "dup.csv", rows))
    assert (5, "barcode", "WB-1 repeats row 2") in errors
    assert import_specimens(
        write_csv(tmp_path / "one.csv", with_optional(good_rows()[:1])), organization_code="DEMO"
    ).ok
    errors = errors_of(cast, write_csv(tmp_path / "again.csv", with_optional(good_rows()[:1])))
    assert errors[0][:2] == (2, "barcode") and "already exists" in errors[0][2]


def test_unknown_codes_are_reported_by_column(cast, cohort, freezer, tmp_path):
    rows = with_optional(good_rows())
    rows[0]["collection_code"] = "NOPE"
    rows[1]["material_type"] = "UNOBTAINIUM"
    rows[2]["container_barcode"] = "BOX-99"
    rows[3]["unit"] = "bushels"
    errors = errors_of(cast, write_csv(tmp_path / "codes.csv", rows))
    columns = {(number, column) for number, column, _message in errors}
    assert {(2, "collection_code"), (3, "material_type"), (4, "container_barcode"),
            (5, "unit")} <= columns  # fmt: skip


def test_a_parent_cannot_be_overdrawn(cast, cohort, freezer, tmp_path):
    rows = with_optional(good_rows())
    rows[2]["quantity"] = "5"  # PL-1 holds 4 mL
    errors = errors_of(cast, write_csv(tmp_path / "over.csv", rows))
    assert errors == [(4, "quantity", "PL-1 has only 4 mL left")]


def test_an_occupied_position_is_refused(cast, cohort, freezer, tmp_path):
    rows = with_optional(good_rows())
    rows[1]["position"] = "A1"  # row 2 already fills A1
    errors = errors_of(cast, write_csv(tmp_path / "taken.csv", rows))
    assert errors == [(3, "position", "BOX-1 A1 is taken by row 2")]


def test_a_position_outside_the_box_is_refused(cast, cohort, freezer, tmp_path):
    rows = with_optional(good_rows())
    rows[1]["position"] = "K1"
    errors = errors_of(cast, write_csv(tmp_path / "outside.csv", rows))
    assert errors[0][:2] == (3, "position") and "outside this box" in errors[0][2]


def test_a_withdrawn_participant_is_refused_HB_03(cast, cohort, freezer, tmp_path):
    participant = participant_services.participant_register(
        actor=cast.technician, organization=cast.demo, code="P1"
    )
    Participant.objects.filter(pk=participant.pk).update(status=Participant.Status.WITHDRAWN)
    errors = errors_of(cast, write_csv(tmp_path / "w.csv", with_optional(good_rows())))
    assert (2, "participant_code", "participant P1 withdrew consent (HB-03)") in errors


def test_human_material_needs_a_participant_BB_03(cast, cohort, freezer, tmp_path):
    rows = with_optional(good_rows())
    rows[0]["participant_code"] = ""
    errors = errors_of(cast, write_csv(tmp_path / "h.csv", rows))
    assert (2, "participant_code", "human material belongs to a participant") in errors


def test_bad_values_are_reported(cast, cohort, freezer, tmp_path):
    rows = with_optional(good_rows())
    rows[0]["quantity"] = "ten"
    rows[1]["collected_at"] = "yesterday"
    rows[2]["sprec"] = "ZZZ"
    rows[3]["collected_at"] = "2999-01-01"
    errors = errors_of(cast, write_csv(tmp_path / "values.csv", rows))
    columns = {(number, column) for number, column, _message in errors}
    assert {(2, "quantity"), (3, "collected_at"), (4, "sprec"), (5, "collected_at")} <= columns


def test_a_missing_column_is_refused_before_any_row(cast, cohort, freezer, tmp_path):
    rows = [{k: v for k, v in r.items() if k != "unit"} for r in with_optional(good_rows())]
    with pytest.raises(Exception, match="Missing required column: unit"):
        import_specimens(write_csv(tmp_path / "m.csv", rows), organization_code="DEMO")
    assert not Specimen.objects.exists()


def test_an_extra_column_is_refused_unless_it_is_a_data_field(cast, cohort, freezer, tmp_path):
    rows = [dict(r, smoker="yes") for r in with_optional(good_rows())]
    with pytest.raises(Exception, match="Unknown column: smoker"):
        import_specimens(write_csv(tmp_path / "x.csv", rows), organization_code="DEMO")
    field = data_field_define(
        actor=cast.manager, collection=cohort, key="smoker", label="Smoker", type="boolean"
    )
    rows = [dict(r, smoker="yes" if r["collection_code"] else "") for r in rows]
    report = import_specimens(write_csv(tmp_path / "x.csv", rows), organization_code="DEMO")
    assert report.ok, report.errors
    blood = Specimen.objects.get(barcode="WB-1")
    assert blood.data.get(field=field).value == "true"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"\xef\xbb\xbf", "The file is empty."),
        ("barcode,\u6aa2\u9ad4\n".encode("utf-16"), "UTF-16"),
        (b"barcode,qty\n\xff\xfe\xfa\n", "neither UTF-8 nor Big5"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(cast, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(Exception, match=message):
        import_specimens(path, organization_code="DEMO")


def test_a_truncated_file_writes_nothing(cast, cohort, freezer, tmp_path):
    path = write_csv(tmp_path / "t.csv", with_optional(good_rows()))
    text = path.read_text()
    path.write_text(text[: text.index("PL-1a") + 12])  # cut inside the fourth row
    errors = errors_of(cast, path)
    assert errors and all(number == 4 for number, _c, _m in errors)


def test_big5_and_xlsx_files_import(cast, cohort, freezer, tmp_path):
    rows = with_optional(good_rows())
    rows[3]["source_organism"] = "稻 Oryza sativa"
    assert import_specimens(
        write_csv(tmp_path / "big5.csv", rows, encoding="cp950"), organization_code="DEMO",
        dry_run=True,
    ).ok  # fmt: skip
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(rows[0]))
    for item in rows:
        sheet.append(list(item.values()))
    workbook.save(tmp_path / "s.xlsx")
    report = import_specimens(tmp_path / "s.xlsx", organization_code="DEMO")
    assert report.ok, report.errors
    assert Specimen.objects.get(barcode="SEED-1").source_organism == "稻 Oryza sativa"


def test_the_permission_is_checked(cast, cohort, freezer, tmp_path):
    path = write_csv(tmp_path / "s.csv", with_optional(good_rows()))
    with pytest.raises(PermissionDenied):
        import_specimens(path, organization_code="DEMO", actor=cast.researcher)


def test_the_command_reports_errors_and_progress(cast, cohort, freezer, tmp_path, capsys):
    rows = with_optional(good_rows())
    rows[0]["quantity"] = "-1"
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(CommandError, match="error"):
        call_command("import", "specimens", str(path), "--organization", "DEMO")
    assert "row 2, column quantity" in capsys.readouterr().err
    path = write_csv(tmp_path / "good.csv", with_optional(good_rows()))
    call_command("import", "specimens", str(path), "--organization", "DEMO")
    assert "imported 4 specimens from 4 rows" in capsys.readouterr().out


def test_collections_import_all_or_nothing(cast, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        "code,name,principal_investigator,irb_reference,material_types\n"
        "C1,Cohort one,Dr Lin,IRB-1,PLASMA SERUM\n"
        "C2,Cohort two,Dr Wang,,\n"
    )
    report = import_collections(path, organization_code="DEMO", actor=cast.manager)
    assert report.ok and report.created == 2, report.errors
    report = import_collections(path, organization_code="DEMO")
    assert not report.ok
    assert [(e.row, e.column) for e in report.errors] == [(2, "code"), (3, "code")]
    path.write_text(
        "code,name,principal_investigator,irb_reference\nC3,Three,,\nC4,Four,Dr Chen,\n"
    )
    report = import_collections(path, organization_code="DEMO")
    assert [(e.row, e.column) for e in report.errors] == [(2, "principal_investigator")]
    assert not cast.demo.collections.filter(code="C4").exists()


# Export → import round trip ------------------------------------------------------------------


def _boxes_in(cast, organization) -> None:
    from biobank.storage import services as storage

    freezer_unit = storage.unit_create(
        actor=None, organization=organization, barcode="F-80-01", name="freezer",
        kind="freezer", set_point_c=Decimal("-80"),
    )  # fmt: skip
    for n in (1, 2):
        storage.unit_create(
            actor=None, organization=organization, barcode=f"BOX-{n}", name=f"box {n}",
            kind="box", parent=freezer_unit, rows=9, columns=9,
        )  # fmt: skip


def test_export_then_import_into_an_empty_organization_round_trips(
    cast, cohort, freezer, tmp_path, client
):
    from biobank.specimens.selectors import EXPORT_COLUMNS, SpecimenQuery, specimen_export_rows

    rows = with_optional(good_rows())
    rows[0]["barcode"] = "=HYPERLINK(WB-1)"  # a formula-like barcode survives the escape
    rows[1]["parent_barcode"] = rows[0]["barcode"]
    assert import_specimens(write_csv(tmp_path / "s.csv", rows), organization_code="DEMO").ok
    client.force_login(cast.manager)
    response = client.get("/specimens/?export=csv")
    assert response.status_code == 200
    exported = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = exported.splitlines()
    assert lines[0] == ",".join(EXPORT_COLUMNS)
    assert lines[1].startswith(
        "'=HYPERLINK(WB-1),P1,TWB,WHOLE_BLOOD,10,mL,2024-03-01T09:30:00+08:00"
    )
    assert AuditEvent.objects.filter(action="export", object_type="specimens.specimen").exists()
    # into OTHER, which has the same collection code and boxes but no specimens
    collection_create(
        actor=None, organization=cast.other, code="TWB", name="cohort", principal_investigator="x"
    )
    _boxes_in(cast, cast.other)
    path = tmp_path / "exported.csv"
    path.write_text(exported, encoding="utf-8-sig")
    report = import_specimens(path, organization_code="OTHER")
    assert report.ok, report.errors
    first = list(specimen_export_rows(cast.manager, SpecimenQuery()))
    second = list(specimen_export_rows(cast.outsider, SpecimenQuery()))
    assert len(first) == 4 and first == second


def test_xlsx_export_neutralises_formulas(cast, cohort, freezer, tmp_path, client):
    from openpyxl import load_workbook

    rows = with_optional(good_rows())
    rows[3]["source_organism"] = '=HYPERLINK("http://evil","click")'
    assert import_specimens(write_csv(tmp_path / "s.csv", rows), organization_code="DEMO").ok
    client.force_login(cast.manager)
    response = client.get("/specimens/?export=xlsx&material_type=SEED")
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [cell.value for cell in sheet[2]]
    assert values[0] == "SEED-1"
    assert values[12] == '\'=HYPERLINK("http://evil","click")'
    assert sheet.cell(row=2, column=13).data_type == "s"  # text, not a formula


# Interrupted imports -------------------------------------------------------------------------


KILL_SCRIPT = """
import os, signal, sys
import django
django.setup()
from pathlib import Path
from biobank.specimens import imports

written = 0
original = imports._Writer.write

def write_then_die(self, parsed):
    global written
    original(self, parsed)
    written += 1
    if written == int(sys.argv[2]):
        self.session.drain()  # rows are in the database file's journal, not committed
        os.kill(os.getpid(), signal.SIGKILL)

imports._Writer.write = write_then_die
report = imports.import_specimens(Path(sys.argv[1]), organization_code="KILL")
print(report.errors[:5], file=sys.stderr)
"""


@pytest.mark.django_db(transaction=True)
def test_a_killed_import_leaves_the_database_as_it_was_and_can_run_again(tmp_path, settings):
    """A real process, on a real database file, killed mid-write with SIGKILL."""
    import os
    import subprocess
    import sys

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("the killed process needs a database file of its own; SQLite shows it")
    data = tmp_path / "data"
    env = {
        **os.environ,
        "BIOBANK_DATA_DIR": str(data),
        "DJANGO_SETTINGS_MODULE": "biobank.settings",
    }
    env.pop("DATABASE_URL", None)
    biobank = [sys.executable, "-m", "biobank.cli"]
    subprocess.run([*biobank, "migrate", "-v0"], env=env, check=True)
    setup = (
        "from biobank.core.models import Organization;"
        "Organization.objects.create(code='KILL', name_zh='kill')"
    )
    subprocess.run([*biobank, "shell", "-c", setup], env=env, check=True)
    (tmp_path / "storage.csv").write_text(
        "barcode,name,kind,parent_barcode,rows,columns,temperature\n"
        + "".join(f"B{n},box,box,,10,10,\n" for n in range(30))
    )
    subprocess.run(
        [*biobank, "import", "storage", str(tmp_path / "storage.csv"), "--organization", "KILL"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    lines = [
        "barcode,participant_code,collection_code,material_type,quantity,unit,"
        "collected_at,parent_barcode,sprec,container_barcode,position,source_organism"
    ]
    lines += [
        f"S{n},,,SEED,1,g,,,,B{n // 100},{n % 100 // 10 + 1}-{n % 10 + 1},Oryza sativa"
        for n in range(3000)
    ]
    specimens = tmp_path / "specimens.csv"
    specimens.write_text("\n".join(lines) + "\n")

    def count(table: str) -> int:
        import sqlite3

        with sqlite3.connect(data / "biobank.sqlite3") as db:
            return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608

    audit_before = count("core_auditevent")
    killed = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(specimens), "2500"], env=env, capture_output=True
    )
    assert killed.returncode == -9, killed.stderr.decode()
    assert count("specimens_specimen") == 0
    assert count("storage_placement") == 0
    assert count("core_auditevent") == audit_before
    again = subprocess.run(
        [*biobank, "import", "specimens", str(specimens), "--organization", "KILL"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert count("specimens_specimen") == 3000
    verify = subprocess.run([*biobank, "audit", "verify"], env=env, capture_output=True, text=True)
    assert "intact" in verify.stdout
