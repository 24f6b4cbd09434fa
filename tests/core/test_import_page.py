"""The import page: upload a file, see its progress and its outcome (issue 6).

Jobs run in the request here (``IMPORT_JOBS_INLINE``): the test's transaction is invisible to
a background thread's connection. The browser test in tests/e2e runs them in the thread.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from biobank.core import import_jobs
from biobank.core import services as core_services
from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import AuditEvent, ImportJob
from biobank.core.roles import Role
from biobank.storage.models import StorageUnit

HEADER = "barcode,name,kind,parent_barcode,rows,columns,temperature\n"
VALID = HEADER + (
    "IMP-ROOM,冷凍庫房,room,,,,\n"
    "IMP-F80,-80 freezer,freezer,IMP-ROOM,,,-80\n"
    "IMP-BOX,box 1,box,IMP-F80,9,9,\n"
)
WITH_ERRORS = HEADER + (
    "IMP-ROOM,冷凍庫房,room,,,,\nIMP-ROOM,again,room,,,,\nIMP-X,thing,spaceship,,,,\n"
)
BAD_HEADER = "barcode,name,colour\nIMP-ROOM,冷凍庫房,blue\n"


@pytest.fixture(autouse=True)
def inline_jobs(settings, tmp_path: Path, client) -> Path:
    settings.IMPORT_JOBS_INLINE = True
    settings.DATA_DIR = tmp_path
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # pages in English
    return tmp_path


def upload(client, content: str, *, name: str = "units.csv", **fields):
    data = {
        "organization": fields.pop("organization", None),
        "kind": fields.pop("kind", "storage"),
        "file": SimpleUploadedFile(name, content.encode("utf-8"), content_type="text/csv"),
        **fields,
    }
    return client.post(reverse("core:import-list"), data)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_a_valid_storage_file_is_imported_and_the_page_shows_the_created_count(
    cast, client, inline_jobs
):
    # given Lin, the manager, on the import page
    client.force_login(cast.manager)

    # when she uploads a sheet of three storage units
    response = upload(client, VALID, organization=cast.demo.pk)

    # then she lands on the job's page, which shows what was created
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("core:import-detail", args=[job.public_id])
    page = client.get(response["Location"])
    assert 'data-status="succeeded"' in page.content.decode()
    assert "3 records created from 3 rows." in text_of(page)
    assert "<progress" not in page.content.decode()
    assert set(StorageUnit.objects.values_list("barcode", flat=True)) == {
        "IMP-ROOM",
        "IMP-F80",
        "IMP-BOX",
    }
    assert (job.status, job.rows, job.created, job.error_count) == ("succeeded", 3, 3, 0)
    assert job.created_by == cast.manager and job.filename == "units.csv"
    assert job.started_at and job.finished_at
    # and the upload and its progress file are gone; the audit trail names who imported
    assert list((inline_jobs / "imports").iterdir()) == []
    events = AuditEvent.objects.filter(object_type="core.importjob", object_id=str(job.pk))
    assert [(e.action, e.actor) for e in events.order_by("sequence")] == [
        ("create", cast.manager),
        ("transition", None),
    ]


def test_a_dry_run_checks_the_file_and_writes_nothing(cast, client):
    client.force_login(cast.technician)

    response = upload(client, VALID, organization=cast.demo.pk, dry_run="on")

    page = client.get(response["Location"])
    assert "3 records would be created from 3 rows" in text_of(page)
    assert ImportJob.objects.get().dry_run
    assert not StorageUnit.objects.exists()


def test_a_file_with_errors_shows_every_error_and_writes_nothing(cast, client):
    client.force_login(cast.manager)

    response = upload(client, WITH_ERRORS, organization=cast.demo.pk)

    job = ImportJob.objects.get()
    assert (job.status, job.rows, job.created, job.error_count) == ("failed", 3, 0, 2)
    assert job.errors == [
        {"row": 3, "column": "barcode", "message": "IMP-ROOM repeats row 2"},
        {"row": 4, "column": "kind", "message": job.errors[1]["message"]},
    ]
    page = text_of(client.get(response["Location"]))
    assert "2 errors in 3 rows (first 2 shown); nothing was written." in page
    assert "<td>3</td><td>barcode</td><td>IMP-ROOM repeats row 2</td>" in page
    assert "<td>4</td><td>kind</td>" in page
    assert not StorageUnit.objects.exists()


def test_a_bad_header_shows_each_problem(cast, client):
    client.force_login(cast.manager)

    response = upload(client, BAD_HEADER, organization=cast.demo.pk)

    job = ImportJob.objects.get()
    assert job.status == "failed" and job.rows == 0
    page = client.get(response["Location"]).content.decode()
    problems = re.search(r'<ul id="import-problems"[^>]*>(.*?)</ul>', page, re.S)
    assert problems is not None
    items = re.findall(r"<li>(.*?)</li>", problems.group(1))
    # the unknown column and the five missing ones, whatever the platform's language
    assert len(items) == 6
    assert any("colour" in item for item in items)
    for column in ("kind", "parent_barcode", "rows", "columns", "temperature"):
        assert any(column in item for item in items), column
    assert not StorageUnit.objects.exists()


def test_a_user_without_the_permission_is_refused(cast, client):
    # Huang is a researcher in DEMO, and a technician (who manages storage) in OTHER
    core_services.membership_add(
        actor=None, organization=cast.other, user=cast.researcher, role=Role.TECHNICIAN
    )
    client.force_login(cast.researcher)

    # when he uploads a storage sheet into DEMO
    response = upload(client, VALID, organization=cast.demo.pk)

    # then the import is refused with the permission it needs, and nothing is kept
    assert response.status_code == 200
    assert "You do not have the permission “storage.manage” in DEMO." in text_of(response)
    assert not ImportJob.objects.exists()
    assert not StorageUnit.objects.exists()


def test_a_user_with_no_import_permission_gets_no_form_and_no_link(cast, client):
    client.force_login(cast.qa)

    page = client.get(reverse("core:import-list")).content.decode()
    response = upload(client, VALID, organization=cast.demo.pk)

    assert 'id="import-form"' not in page
    assert 'href="/imports/"' not in client.get(reverse("core:dashboard")).content.decode()
    assert response.status_code == 200
    assert not ImportJob.objects.exists()


def test_the_service_refuses_a_kind_the_actor_may_not_import(cast):
    with pytest.raises(PermissionDenied):
        import_jobs.job_start(
            actor=cast.qa,
            organization=cast.demo,
            kind="participants",
            upload=SimpleUploadedFile("p.csv", b"participant_code\n"),
            dry_run=False,
        )
    assert not ImportJob.objects.exists()


def test_another_organization_cannot_be_chosen(cast, client):
    client.force_login(cast.manager)

    response = upload(client, VALID, organization=cast.other.pk)

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_file_that_is_not_csv_or_xlsx_is_refused(cast, client, inline_jobs):
    client.force_login(cast.manager)

    response = upload(client, VALID, organization=cast.demo.pk, name="units.xls")

    assert "“units.xls” is neither" in text_of(response)
    assert not ImportJob.objects.exists()


def test_a_file_over_the_size_limit_is_refused(cast, client, settings, inline_jobs):
    settings.IMPORT_UPLOAD_MAX_BYTES = 1024 * 1024
    client.force_login(cast.manager)

    big = HEADER + "x" * (1024 * 1024)
    response = upload(client, big, organization=cast.demo.pk)

    assert "larger than 1 MB" in text_of(response)
    assert not ImportJob.objects.exists()
    assert not list(inline_jobs.rglob("*.csv"))


def test_the_service_stops_copying_an_upload_that_grows_past_the_limit(cast, settings):
    settings.IMPORT_UPLOAD_MAX_BYTES = 10
    upload = SimpleUploadedFile("units.csv", VALID.encode())
    upload.size = None  # a client that did not say how large the file is

    with pytest.raises(ApplicationError, match="larger than"):
        import_jobs.job_start(
            actor=cast.manager, organization=cast.demo, kind="storage", upload=upload, dry_run=False
        )
    assert not any((Path(settings.DATA_DIR) / "imports").iterdir())


def test_the_page_lists_the_kinds_the_user_may_import_and_recent_jobs(cast, client):
    client.force_login(cast.manager)
    upload(client, VALID, organization=cast.demo.pk)

    page = client.get(reverse("core:import-list")).content.decode()

    assert 'href="/imports/" aria-current="page"' in page
    for kind in ("participants", "storage", "temperatures"):
        assert f'data-kind="{kind}"' in page
    # the expected columns, from the importer's description
    assert "<code>unit_barcode,at,value_c</code>" in page
    assert "<code>barcode,name,kind,parent_barcode,rows,columns,temperature</code>" in page
    assert "<p>The storage hierarchy from a sheet.</p>" in page
    assert "units.csv" in page and 'data-status="succeeded"' in page


def test_jobs_are_shown_only_to_those_who_may_import_that_kind(cast, client):
    client.force_login(cast.manager)
    upload(client, VALID, organization=cast.demo.pk)
    job = ImportJob.objects.get()

    client.force_login(cast.qa)  # a DEMO member without storage.manage

    assert "units.csv" not in client.get(reverse("core:import-list")).content.decode()
    assert client.get(reverse("core:import-detail", args=[job.public_id])).status_code == 404


def test_progress_json_reports_a_finished_job(cast, client):
    client.force_login(cast.manager)
    upload(client, VALID, organization=cast.demo.pk)
    job = ImportJob.objects.get()

    data = client.get(reverse("core:import-progress", args=[job.public_id])).json()

    assert data["status"] == "succeeded" and data["finished"] is True
    assert data["rows"] == 3 and data["fraction"] == 1.0


def running_job(cast) -> ImportJob:
    """A job as its thread leaves it while importing (created directly: no thread runs here)."""
    from django.utils import timezone

    return ImportJob.objects.create(
        organization=cast.demo,
        kind="storage",
        filename="big.csv",
        stored_path="",
        status=ImportJob.Status.RUNNING,
        started_at=timezone.now(),
        created_by=cast.manager,
    )


def test_progress_json_reports_a_running_job_from_its_progress_file(cast, client):
    job = running_job(cast)
    progress = import_jobs.ProgressFile(import_jobs.progress_path(job))
    progress.path.parent.mkdir(parents=True)
    progress._phase_started -= 10  # ten seconds into the file
    progress(25_000, 0.25, "checking")
    progress.write()
    client.force_login(cast.manager)

    data = client.get(reverse("core:import-progress", args=[job.public_id])).json()
    page = client.get(reverse("core:import-detail", args=[job.public_id])).content.decode()

    assert data["status"] == "running" and data["finished"] is False
    assert data["rows"] == 25_000 and data["fraction"] == 0.25 and data["phase"] == "checking"
    assert data["rows_per_second"] == pytest.approx(2500, rel=0.05)
    assert data["eta_seconds"] == pytest.approx(30, rel=0.05)
    assert "25,000 rows read" in data["text"]
    assert '<progress id="import-bar" max="1" value="0.25">' in page
    assert "/static/biobank/import-progress.js" in page
    assert 'data-progress-url="/imports/' in page


def test_a_running_job_whose_progress_stopped_two_minutes_ago_is_interrupted(cast, client):
    # given a job whose process died: its progress file was last written 3 minutes ago
    job = running_job(cast)
    path = import_jobs.progress_path(job)
    path.parent.mkdir(parents=True)
    figures = {"rows": 400_000, "fraction": 0.4, "phase": "checking"}
    path.write_text(json.dumps({**figures, "updated_at": time.time() - 180}))
    client.force_login(cast.manager)

    # when its page asks how far it is
    data = client.get(reverse("core:import-progress", args=[job.public_id])).json()

    # then it is reported, and saved, as interrupted: the database rolled it back
    assert data["status"] == "interrupted" and data["finished"] is True
    job.refresh_from_db()
    assert job.status == "interrupted" and job.finished_at is not None
    assert job.rows == 400_000 and job.created == 0 and job.message
    assert not path.exists()
    page = client.get(reverse("core:import-detail", args=[job.public_id])).content.decode()
    assert 'data-status="interrupted"' in page and job.message.splitlines()[0] in page
    assert AuditEvent.objects.filter(object_type="core.importjob", action="transition").exists()


def test_a_running_job_with_fresh_progress_is_left_running(cast, client):
    job = running_job(cast)
    path = import_jobs.progress_path(job)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"rows": 10, "updated_at": time.time() - 60}))
    client.force_login(cast.manager)

    data = client.get(reverse("core:import-progress", args=[job.public_id])).json()

    assert data["status"] == "running"
    job.refresh_from_db()
    assert job.status == "running"


def test_a_job_that_never_wrote_progress_is_interrupted_after_two_minutes(cast):
    from datetime import timedelta

    job = running_job(cast)
    ImportJob.objects.filter(pk=job.pk).update(started_at=job.started_at - timedelta(minutes=3))
    job.refresh_from_db()

    assert import_jobs.job_progress(job)["status"] == "interrupted"


def test_the_progress_file_is_replaced_whole_and_kept_fresh_by_a_heartbeat(tmp_path, monkeypatch):
    monkeypatch.setattr(import_jobs, "HEARTBEAT_SECONDS", 0.05)
    progress = import_jobs.ProgressFile(tmp_path / "job.progress.json")
    progress.start()
    first = json.loads(progress.path.read_text())["updated_at"]
    progress(1_000)
    time.sleep(0.3)
    progress.stop()

    figures = json.loads(progress.path.read_text())
    assert figures["rows"] == 1_000 and figures["fraction"] is None
    assert figures["updated_at"] > first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job.progress.json"]


def test_a_writing_phase_that_counts_from_zero_measures_its_own_rate(tmp_path):
    progress = import_jobs.ProgressFile(tmp_path / "p.json")
    progress(1_000_000, 1.0, "checking")
    progress(0, 0.0, "writing")
    progress._phase_started -= 10
    progress(50_000, 0.05, "writing")

    figures = progress.figures()

    assert figures["phase"] == "writing"
    assert figures["rows_per_second"] == pytest.approx(5_000, rel=0.05)
    assert figures["eta_seconds"] == pytest.approx(190, rel=0.05)
