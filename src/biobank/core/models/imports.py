"""Bulk import jobs: one row per file uploaded on the import page, with its outcome.

The import itself runs all-or-nothing in one transaction; this row is written outside it, so
the page can say what happened (or that the process died and nothing was written).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")
        INTERRUPTED = "interrupted", _("interrupted")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization",
        on_delete=models.PROTECT,
        related_name="import_jobs",
        verbose_name=_("organization"),
    )
    kind = models.CharField(_("kind"), max_length=30)
    filename = models.CharField(_("file"), max_length=255)
    stored_path = models.CharField(max_length=500, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.QUEUED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="import_jobs",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    rows = models.PositiveBigIntegerField(_("rows"), default=0)
    created = models.PositiveBigIntegerField(_("created"), default=0)
    error_count = models.PositiveBigIntegerField(_("errors"), default=0)
    # [{row, column, message}], the first MAX_ERRORS_SHOWN (schema: import_jobs.StoredError)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(_("message"), blank=True)

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.INTERRUPTED)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running"]) | Q(finished_at__isnull=False),
                name="importjob_finished_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.filename}"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED
