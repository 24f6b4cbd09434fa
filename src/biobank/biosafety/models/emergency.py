"""The emergency plan with its eight parts (BS-12 §10.1) and the field drills held under it
(BS-12 §10.2: yearly; HP-05: yearly and a full-scale drill every 3 years)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from biobank.biosafety.models.register import Regime


class EmergencyPlan(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        APPROVED = "approved", _("approved by the committee")
        RETIRED = "retired", _("retired")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="biosafety_plans"
    )
    regime = models.CharField(_("regime"), max_length=6, choices=Regime.choices)
    title = models.CharField(_("title"), max_length=200)
    version = models.CharField(_("version"), max_length=20)
    parts = models.JSONField(_("parts"), default=dict, blank=True)  # part key → text
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default="draft")
    approved_on = models.DateField(_("approved on"), null=True, blank=True)
    committee_reference = models.CharField(_("committee reference"), max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "regime", "-created_at", "id"]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class Drill(models.Model):
    class Kind(models.TextChoices):
        YEARLY = "yearly", _("field drill")
        FULL_SCALE = "full_scale", _("full-scale drill")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="biosafety_drills"
    )
    plan = models.ForeignKey(EmergencyPlan, on_delete=models.PROTECT, related_name="drills")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    held_on = models.DateField(_("held on"))
    site = models.ForeignKey(
        "core.Site",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("site"),
    )
    scenario = models.TextField(_("scenario"))
    participants = models.TextField(pgettext_lazy("drill", "participants"))
    findings = models.TextField(_("findings and improvements"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization_id", "-held_on", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.held_on}"
