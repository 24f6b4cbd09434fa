"""Bulk imports from the upload page: the job row, the file on disk, the import in a thread.

``job_start`` checks the permission the kind needs, keeps the upload under
``DATA_DIR/imports/`` and runs the registered importer (``core/importing.py``) in a background
thread, or in the request when ``IMPORT_JOBS_INLINE`` is set. An import writes everything in
one transaction, which no other connection sees until it commits, so the thread reports its
progress in a small JSON file beside the upload instead of the database; the page polls it.

If the process dies (a restart, a killed worker), the database rolls the import back and the
progress file stops being refreshed: ``job_progress`` then reports the job as interrupted.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from biobank.core.audit import audit_record
from biobank.core.errors import ApplicationError
from biobank.core.importing import MAX_ERRORS_SHOWN, ImportReport, importer_permission, importers
from biobank.core.models import AuditEvent, ImportJob, Organization, User
from biobank.core.roles import PERMISSIONS, Role
from biobank.core.tabular import TabularError
from biobank.core.tenancy import (
    AnyUser,
    has_role_anywhere,
    organizations_of,
    organizations_with_permission,
    require_permission,
)

logger = logging.getLogger(__name__)

EXTENSIONS = (".csv", ".xlsx")
# A live import refreshes its progress file at least every HEARTBEAT_SECONDS; one that has not
# for STALE_SECONDS belongs to a process that is gone.
HEARTBEAT_SECONDS = 0.5
STALE_SECONDS = 120
_COPY_CHUNK = 1 << 20


class StoredError(BaseModel):
    """One entry of ``ImportJob.errors``."""

    model_config = ConfigDict(extra="forbid")

    row: int = Field(ge=0)
    column: str = Field(max_length=200)
    message: str


_STORED_ERRORS = TypeAdapter(list[StoredError])


def imports_dir() -> Path:
    return Path(settings.DATA_DIR) / "imports"


def progress_path(job: ImportJob) -> Path:
    return imports_dir() / f"{job.public_id}.progress.json"


# Reads ----------------------------------------------------------------------------------------


def import_roles() -> frozenset[Role]:
    """Roles that may import at least one kind of file."""
    roles: set[Role] = set()
    for kind in importers():
        roles |= PERMISSIONS[importer_permission(kind)]
    return frozenset(roles)


def may_import_anywhere(user: AnyUser) -> bool:
    """Whether the user may import any kind into any organization (for the nav)."""
    return has_role_anywhere(user, import_roles())


def import_offers_for_user(user: AnyUser) -> list[tuple[str, list[Organization]]]:
    """Each kind the user may import, with the organizations they may import it into."""
    offers = []
    for kind in importers():
        organizations = list(
            organizations_with_permission(user, importer_permission(kind)).order_by("code")
        )
        if organizations:
            offers.append((kind, organizations))
    return offers


def job_list_for_user(user: AnyUser) -> QuerySet[ImportJob]:
    """Jobs the user may see: their own, and those of kinds they may import in the job's
    organization (error messages quote the file's cells, so not every member sees them)."""
    visible = Q(created_by_id=user.pk, organization__in=organizations_of(user))
    for kind in importers():
        allowed = organizations_with_permission(user, importer_permission(kind))
        visible |= Q(kind=kind, organization__in=allowed)
    return ImportJob.objects.filter(visible).select_related("organization", "created_by")


def job_get_for_user(user: AnyUser, public_id: uuid.UUID | str) -> ImportJob:
    job = job_list_for_user(user).filter(public_id=public_id).first()
    if job is None:
        raise Http404("import not found")
    return job


def job_progress(job: ImportJob) -> dict[str, Any]:
    """How far ``job`` is, from its progress file while it runs, from the row once finished.

    A queued or running job whose progress file has not been refreshed for ``STALE_SECONDS``
    belongs to a process that died: it is saved as interrupted (``job`` is refreshed).
    """
    figures = _read_progress(job)
    if not job.is_finished:
        started = job.started_at or job.created_at
        last = figures.get("updated_at") or started.timestamp()
        if time.time() - float(last) > STALE_SECONDS:
            _job_interrupt(job, rows=int(figures.get("rows") or 0))
    if job.is_finished:
        figures = {
            "rows": job.rows,
            "fraction": 1.0,
            "phase": "",
            "rows_per_second": None,
            "eta_seconds": None,
        }
    return {
        "status": job.status,
        "status_label": job.get_status_display(),
        "finished": job.is_finished,
        "rows": int(figures.get("rows") or 0),
        "fraction": figures.get("fraction"),
        "phase": figures.get("phase") or "",
        "rows_per_second": figures.get("rows_per_second"),
        "eta_seconds": figures.get("eta_seconds"),
        "text": _progress_text(job, figures),
    }


def _read_progress(job: ImportJob) -> dict[str, Any]:
    try:
        data = json.loads(progress_path(job).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _progress_text(job: ImportJob, figures: dict[str, Any]) -> str:
    if job.status == ImportJob.Status.QUEUED:
        return _("Waiting to start…")
    rows = int(figures.get("rows") or 0)
    if figures.get("phase") == "writing":
        parts = [_("Writing: %(rows)s rows") % {"rows": f"{rows:,}"}]
    else:
        parts = [_("%(rows)s rows read") % {"rows": f"{rows:,}"}]
    rate = figures.get("rows_per_second")
    if rate:
        parts.append(_("%(rate)s rows/s") % {"rate": f"{round(rate):,}"})
    eta = figures.get("eta_seconds")
    if eta is not None and not job.is_finished:
        minutes, seconds = divmod(round(eta), 60)
        parts.append(_("about %(time)s left") % {"time": f"{minutes}:{seconds:02d}"})
    return " · ".join(parts)


# Writes ---------------------------------------------------------------------------------------


def job_start(
    *,
    actor: User,
    organization: Organization,
    kind: str,
    upload: UploadedFile,
    dry_run: bool,
) -> ImportJob:
    """Keep ``upload`` and import it into ``organization`` as ``kind``, all-or-nothing.

    Refuses a kind the actor may not import there, a file that is not .csv or .xlsx, and one
    larger than ``IMPORT_UPLOAD_MAX_BYTES``. The import runs in a background thread (in the
    request with ``IMPORT_JOBS_INLINE``); the job row says how it ended.
    """
    if kind not in importers():
        raise ApplicationError(_("There is no import of kind “%(kind)s”.") % {"kind": kind})
    require_permission(actor, importer_permission(kind), organization)
    filename = Path(upload.name or "").name[:255]
    suffix = Path(filename).suffix.lower()
    if suffix not in EXTENSIONS:
        raise ApplicationError(
            _("Upload a CSV (.csv) or Excel (.xlsx) file; “%(name)s” is neither.")
            % {"name": filename}
        )
    limit = int(settings.IMPORT_UPLOAD_MAX_BYTES)
    if upload.size is not None and upload.size > limit:
        raise _too_large(limit)
    public_id = uuid.uuid4()
    directory = imports_dir()
    directory.mkdir(parents=True, exist_ok=True)
    stored = directory / f"{public_id}{suffix}"
    _save_upload(upload, stored, limit)
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(
                public_id=public_id,
                organization=organization,
                kind=kind,
                filename=filename,
                stored_path=str(stored),
                dry_run=dry_run,
                created_by=actor,
            )
            audit_record(
                actor=actor,
                action=AuditEvent.Action.CREATE,
                organization=organization,
                instance=job,
                after={"kind": kind, "filename": filename, "dry_run": dry_run},
            )
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    if settings.IMPORT_JOBS_INLINE:
        job_run(job.pk)
        job.refresh_from_db()
    else:
        # After the commit, so the thread's own connection finds the row.
        transaction.on_commit(lambda: _start_thread(job))
    return job


def _too_large(limit: int) -> ApplicationError:
    return ApplicationError(
        _(
            "The file is larger than %(limit)d MB, the largest import accepted. Split it into "
            "several files, or import it on the server with “biobank import”."
        )
        % {"limit": limit // (1024 * 1024)}
    )


def _save_upload(upload: UploadedFile, path: Path, limit: int) -> None:
    written = 0
    try:
        with path.open("wb") as file:
            for chunk in upload.chunks(_COPY_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise _too_large(limit)
                file.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _start_thread(job: ImportJob) -> None:
    thread = threading.Thread(
        target=_run_in_thread, args=(job.pk,), name=f"import-{job.public_id}", daemon=True
    )
    thread.start()


def _run_in_thread(job_id: int) -> None:
    try:
        job_run(job_id)
    except Exception:  # the thread has nobody to raise to
        logger.exception("import job %s failed outside the import", job_id)
    finally:
        connection.close()


def job_run(job_id: int) -> ImportJob:
    """Run a queued job to its end and store the outcome (the thread's body)."""
    job = ImportJob.objects.select_related("organization").get(pk=job_id)
    job.status = ImportJob.Status.RUNNING
    job.started_at = timezone.now()
    job.save(update_fields=["status", "started_at", "updated_at"])
    progress = ProgressFile(progress_path(job))
    progress.start()
    report: ImportReport | None = None
    message = ""
    try:
        # Records created here (obligation titles, messages) are in the platform's language.
        with translation.override(settings.LANGUAGE_CODE):
            try:
                report = importers()[job.kind](
                    Path(job.stored_path),
                    organization_code=job.organization.code,
                    dry_run=job.dry_run,
                    progress=progress,
                    actor=job.created_by,
                )
            except TabularError as error:
                message = "\n".join(error.problems)
            except ApplicationError as error:
                message = error.message
            except Exception:
                logger.exception("import job %s (%s) failed", job.public_id, job.kind)
                message = _(
                    "The import stopped on an unexpected error and was rolled back: nothing "
                    "was written. The error is in the server's log."
                )
    finally:
        progress.stop()
    _job_finish(job, report=report, message=message)
    return job


def _job_finish(job: ImportJob, *, report: ImportReport | None, message: str) -> None:
    if report is not None:
        job.rows = report.rows
        job.created = report.created if report.ok else 0
        job.error_count = report.error_count
        errors = [
            {"row": e.row, "column": e.column, "message": e.message}
            for e in report.errors[:MAX_ERRORS_SHOWN]
        ]
        job.errors = _STORED_ERRORS.dump_python(_STORED_ERRORS.validate_python(errors))
        ok = report.ok
    else:
        ok = False
    job.message = message
    job.status = ImportJob.Status.SUCCEEDED if ok and not message else ImportJob.Status.FAILED
    job.finished_at = timezone.now()
    with transaction.atomic():
        job.save()
        _audit_outcome(job)
    # The row holds the outcome now (job_progress reads the row once it is finished).
    _remove_files(job)


def _job_interrupt(job: ImportJob, *, rows: int) -> None:
    """Record that ``job``'s process died; the database rolled its transaction back."""
    with translation.override(settings.LANGUAGE_CODE):
        message = _(
            "The import was interrupted: the server process running it stopped before it "
            "finished. The database rolled the import back, so nothing was written; upload the "
            "file again."
        )
    now = timezone.now()
    with transaction.atomic():
        # Only if still unfinished: the thread may have just finished (and removed the file).
        changed = ImportJob.objects.filter(
            pk=job.pk, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
        ).update(
            status=ImportJob.Status.INTERRUPTED,
            finished_at=now,
            updated_at=now,
            rows=rows,
            created=0,
            message=message,
        )
        job.refresh_from_db()
        if changed:
            _audit_outcome(job)
    if changed:
        _remove_files(job)


def _audit_outcome(job: ImportJob) -> None:
    audit_record(
        actor=None,
        action=AuditEvent.Action.TRANSITION,
        organization=job.organization,
        instance=job,
        after={
            "status": job.status,
            "rows": job.rows,
            "created": job.created,
            "error_count": job.error_count,
        },
    )


def _remove_files(job: ImportJob) -> None:
    if job.stored_path:
        Path(job.stored_path).unlink(missing_ok=True)
    progress_path(job).unlink(missing_ok=True)


class ProgressFile:
    """The progress callback an import is given, writing what it hears to a JSON file.

    The callback only records the figures; a heartbeat thread writes them every
    ``HEARTBEAT_SECONDS`` (write a temporary file, then ``os.replace``, so a reader never sees
    half a file). The heartbeat goes on while the importer is silent, for example while it
    writes in its transaction, so a stale file means the process is gone.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self.fraction: float | None = None
        self.phase = "checking"
        self._phase_started = time.monotonic()
        self._phase_rows = 0
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __call__(self, rows: int, fraction: float | None = None, phase: str = "") -> None:
        if phase and phase != self.phase:
            self.phase = phase
            self._phase_started = time.monotonic()
            # A phase that counts on from the last one measures its rate from there.
            self._phase_rows = self.rows if rows >= self.rows else 0
        self.rows = rows
        self.fraction = fraction

    def figures(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self._phase_started
        counted = self.rows - self._phase_rows
        rate = counted / elapsed if elapsed > 0.5 and counted > 0 else None
        fraction = self.fraction
        eta = None
        if fraction is not None and 0 < fraction < 1 and elapsed > 0.5:
            eta = elapsed * (1 - fraction) / fraction
        return {
            "rows": self.rows,
            "fraction": None if fraction is None else max(0.0, min(1.0, float(fraction))),
            "phase": self.phase,
            "rows_per_second": None if rate is None else round(rate, 1),
            "eta_seconds": None if eta is None else round(eta, 1),
            "updated_at": time.time(),
        }

    def write(self) -> None:
        temporary = self.path.with_name(f"{self.path.name}.tmp")
        with self._lock:
            temporary.write_text(json.dumps(self.figures()), encoding="utf-8")
            os.replace(temporary, self.path)

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.write()
        self._thread = threading.Thread(
            target=self._beat, name=f"{self.path.stem}-heartbeat", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        self.write()

    def _beat(self) -> None:
        while not self._done.wait(HEARTBEAT_SECONDS):
            try:
                self.write()
            except OSError:
                logger.exception("import progress file %s not written", self.path)
