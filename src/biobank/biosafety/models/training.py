"""Training records and operating tests per person (BS-09, HP-05), and assignments of people
to work at a site, refused at BSL2 and above while the person's training is incomplete."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class LabWorker(models.Model):
    """A person who works in the unit's labs, with the day lab work started (BS-09: the hours
    before starting and each year in post are counted from it)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="biosafety_workers"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_on = models.DateField(_("started lab work on"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "user__username", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="lab_worker_unique")
        ]

    def __str__(self) -> str:
        return str(self.user)


class TrainingRecord(models.Model):
    """A course attended or an operating test taken (BS-09 §7; written record kept 3 years)."""

    class Kind(models.TextChoices):
        COURSE = "course", _("course")
        OPERATING_TEST = "operating_test", _("operating test")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="biosafety_training"
    )
    worker = models.ForeignKey(LabWorker, on_delete=models.PROTECT, related_name="records")
    kind = models.CharField(_("kind"), max_length=14, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    on = models.DateField(_("on"))
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=1, default=0)
    recognised = models.BooleanField(_("recognised by the central authority"), default=False)
    passed = models.BooleanField(_("passed"), default=True)
    provider = models.CharField(_("provider"), max_length=200, blank=True)
    tester_name = models.CharField(_("tester"), max_length=120, blank=True)
    tester_is_supervisor = models.BooleanField(_("tester is the lab supervisor"), default=False)
    tester_years = models.DecimalField(
        _("tester's years of experience"), max_digits=4, decimal_places=1, default=0
    )
    certificate = models.CharField(_("certificate or record reference"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization_id", "-on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(hours__gte=0), name="training_hours_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.on}"


class SiteAssignment(models.Model):
    """A person assigned to work at a site (BS-09: only with complete training at BSL2+)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="biosafety_assignments"
    )
    worker = models.ForeignKey(LabWorker, on_delete=models.PROTECT, related_name="assignments")
    site = models.ForeignKey(
        "core.Site", on_delete=models.PROTECT, related_name="+", verbose_name=_("site")
    )
    assigned_on = models.DateField(_("assigned on"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    training_reason = models.CharField(_("training status"), max_length=300, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization_id", "site_id", "-assigned_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["worker", "site"],
                condition=Q(ended_on__isnull=True),
                name="one_open_assignment_per_site",
            )
        ]

    def __str__(self) -> str:
        return f"{self.worker} @ {self.site_id}"
