"""Biosafety incidents (生物安全意外事件, BS-13) and spills in transport (BS-14): the level and
risk assessment, the handling steps, the material destroyed, sealed or suspended, the clocks
as obligations, and resumption after the committee's confirmation and the authorities'
consent."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from biobank.biosafety.models.register import Regime


class Incident(models.Model):
    class Kind(models.TextChoices):
        LAB = "lab", _("incident at a site")
        TRANSPORT_SPILL = "transport_spill", _("spill or leak in transport")

    class Status(models.TextChoices):
        OPEN = "open", _("being handled")
        INVESTIGATED = "investigated", _("investigated")
        CLOSED = "closed", pgettext_lazy("status", "closed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="biosafety_incidents"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.LAB)
    regime = models.CharField(_("regime"), max_length=6, choices=Regime.choices)
    site = models.ForeignKey(
        "core.Site",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("site"),
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("what happened"))
    occurred_at = models.DateTimeField(_("occurred"))
    noticed_at = models.DateTimeField(_("noticed"))
    reported_by = models.CharField(_("reported by"), max_length=200, blank=True)
    materials = models.ManyToManyField(
        "biosafety.InfectiousMaterial",
        blank=True,
        related_name="incidents",
        verbose_name=_("materials involved"),
    )
    level = models.PositiveSmallIntegerField(_("incident level"))
    risk_assessment = models.TextField(_("risk assessment"))
    people_exposed = models.PositiveIntegerField(_("people exposed"), default=0)
    infectious = models.BooleanField(_("infectious material involved"), default=True)
    controlled = models.BooleanField(_("controlled pathogen or toxin involved"), default=False)
    source_type = models.CharField(_("source record"), max_length=100, blank=True)
    source_id = models.CharField(max_length=64, blank=True)
    investigation_completed_on = models.DateField(
        _("investigation completed on"), null=True, blank=True
    )
    findings = models.TextField(_("findings"), blank=True)
    committee_confirmed_on = models.DateField(
        _("committee confirmed safe on"), null=True, blank=True
    )
    committee_reference = models.CharField(_("committee reference"), max_length=100, blank=True)
    authority_consented_on = models.DateField(_("authorities consented on"), null=True, blank=True)
    authority_reference = models.CharField(_("consent reference"), max_length=100, blank=True)
    resumed_on = models.DateField(_("use resumed on"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default="open")
    clocks = models.JSONField(default=dict, blank=True)  # clock key → obligation id
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "-noticed_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level__gte=1, level__lte=4), name="biosafety_incident_level_1_4"
            ),
            models.CheckConstraint(
                condition=Q(resumed_on__isnull=True)
                | Q(committee_confirmed_on__isnull=False, authority_consented_on__isnull=False),
                name="biosafety_incident_resumed_after_consent",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class IncidentStep(models.Model):
    """One handling step: an action taken, a notice or report sent, a measure on material."""

    class Kind(models.TextChoices):
        ACTION = "action", _("action taken")
        NOTICE = "notice", _("notice or report")
        DESTROY = "destroy", _("material destroyed")
        SEAL = "seal", _("material sealed")
        SUSPEND = "suspend", _("material suspended")
        RESUME = "resume", _("material used again")

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="steps")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    at = models.DateTimeField(_("at"))
    description = models.TextField(_("description"))
    material = models.ForeignKey(
        "biosafety.InfectiousMaterial",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incident_steps",
        verbose_name=_("material"),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["incident_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"
