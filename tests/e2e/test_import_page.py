"""Chen uploads the storage sheet on the import page and watches the job until it succeeds.

The job runs in its background thread here, as in production: the page polls its
progress.json and reloads itself with the outcome when the thread has finished.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from biobank.core import importing
from biobank.core.models import ImportJob
from biobank.storage.models import StorageUnit

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SHEET = (
    "barcode,name,kind,parent_barcode,rows,columns,temperature\n"
    "E2E-ROOM,冷凍庫房,room,,,,\n"
    "E2E-F80,-80 freezer,freezer,E2E-ROOM,,,-80\n"
    "E2E-BOX,box 1,box,E2E-F80,9,9,\n"
)


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path
    settings.IMPORT_JOBS_INLINE = False
    return tmp_path


@pytest.fixture
def held_import(monkeypatch) -> threading.Event:
    """The storage import, held after its first progress report until the test releases it,
    so the page is seen while the job runs."""
    release = threading.Event()
    real = importing.importers()["storage"]

    def held(path, *, organization_code, dry_run=False, progress=None, actor=None):
        if progress is not None:
            progress(2, 0.5, "checking")
        release.wait(timeout=30)
        return real(
            path,
            organization_code=organization_code,
            dry_run=dry_run,
            progress=progress,
            actor=actor,
        )

    monkeypatch.setitem(importing._IMPORTERS, "storage", held)
    yield release
    release.set()


def test_an_uploaded_storage_sheet_is_watched_until_it_succeeds(
    page: Page, ui, cast, tmp_path, held_import
):
    sheet = tmp_path / "freezers.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    ui.sign_in(cast.technician)
    ui.switch_language("en")

    # when Chen opens Imports from the navigation and uploads the sheet into DEMO
    ui.nav.get_by_role("link", name="Imports").click()
    expect(page.locator('#import-kinds tr[data-kind="storage"]')).to_contain_text("DEMO")
    page.locator("#id_organization").select_option(label=str(cast.demo))
    page.locator("#id_kind").select_option("storage")
    page.locator("#id_file").set_input_files(str(sheet))
    page.locator("#import-form button[type=submit]").click()

    # then the job's page shows its progress while it runs
    expect(page).to_have_url(re.compile(r"/imports/[0-9a-f-]{36}/$"))
    expect(page.locator("#import-status")).to_have_attribute("data-status", "running")
    expect(page.locator("#import-bar")).to_have_attribute("value", "0.5")
    expect(page.locator("#import-progress-text")).to_contain_text("2 rows read")

    # and, polling, follows it to the end and shows what was created
    held_import.set()
    expect(page.locator("#import-status")).to_have_attribute(
        "data-status", "succeeded", timeout=30_000
    )
    expect(page.locator("#import-summary")).to_have_text("3 records created from 3 rows.")
    expect(page.locator("progress")).to_have_count(0)
    job = ImportJob.objects.get()
    assert (job.status, job.created, job.created_by) == ("succeeded", 3, cast.technician)
    assert StorageUnit.objects.filter(organization=cast.demo).count() == 3
    # and the list of recent imports shows it
    page.get_by_role("link", name="Import another file").click()
    expect(page.locator("#import-jobs")).to_contain_text("freezers.csv")
