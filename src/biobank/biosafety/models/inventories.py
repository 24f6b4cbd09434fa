"""Inventories (盤點) of class 1 material per site (BS-11, HP-02) and the anomalies they find,
with their clocks (BS-11, HP-03)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from biobank.biosafety.models.register import Regime


class InventoryCheck(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("counting")
        COMPLETED = "completed", _("completed")
        REPORTED = "reported", _("reported to the committee")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="biosafety_inventories"
    )
    site = models.ForeignKey("core.Site", on_delete=models.PROTECT, related_name="+")
    regime = models.CharField(_("regime"), max_length=6, choices=Regime.choices)
    started_on = models.DateField(_("started on"))
    completed_at = models.DateTimeField(pgettext_lazy("date", "completed"), null=True, blank=True)
    reported_on = models.DateField(_("reported to the committee on"), null=True, blank=True)
    next_due = models.DateField(_("next inventory due"), null=True, blank=True)
    checker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    staff = models.JSONField(_("staff list and training"), default=list, blank=True)
    # BS-11: the staff list counts training hours from this day (exclusive) to started_on.
    staff_since = models.DateField(_("training hours counted since"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default="open")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "-started_on", "id"]

    def __str__(self) -> str:
        return f"{self.site_id} {self.started_on}"


class InventoryLine(models.Model):
    inventory = models.ForeignKey(InventoryCheck, on_delete=models.PROTECT, related_name="lines")
    material = models.ForeignKey(
        "biosafety.InfectiousMaterial", on_delete=models.PROTECT, related_name="+"
    )
    expected_quantity = models.DecimalField(_("expected"), max_digits=12, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=10)
    found_quantity = models.DecimalField(
        _("found"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["inventory_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["inventory", "material"], name="inventory_line_unique"),
            models.CheckConstraint(
                condition=Q(found_quantity__isnull=True) | Q(found_quantity__gte=0),
                name="inventory_found_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inventory_id}:{self.material_id}"

    @property
    def difference(self) -> object:
        if self.found_quantity is None:
            return None
        return self.found_quantity - self.expected_quantity


class Anomaly(models.Model):
    """An item or quantity mismatch, or another major anomaly, with its clocks (BS-11, HP-03)."""

    class Kind(models.TextChoices):
        QUANTITY = "quantity", _("quantity mismatch")
        ITEM = "item", _("item missing")
        OTHER = "other", _("other major anomaly")

    class Status(models.TextChoices):
        OPEN = "open", _("under investigation")
        INVESTIGATED = "investigated", _("investigated")
        REPORTED = "reported", _("reported to the authorities")
        CLOSED = "closed", pgettext_lazy("status", "closed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="biosafety_anomalies"
    )
    inventory = models.ForeignKey(
        InventoryCheck, on_delete=models.PROTECT, null=True, blank=True, related_name="anomalies"
    )
    material = models.ForeignKey(
        "biosafety.InfectiousMaterial", on_delete=models.PROTECT, related_name="anomalies"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    description = models.TextField(_("description"))
    major = models.BooleanField(_("major"), default=False)
    regime = models.CharField(_("regime"), max_length=6, choices=Regime.choices)
    noticed_at = models.DateTimeField(_("noticed"))
    authority_notified_at = models.DateTimeField(_("authorities notified"), null=True, blank=True)
    investigation_completed_on = models.DateField(
        _("investigation completed on"), null=True, blank=True
    )
    findings = models.TextField(_("findings"), blank=True)
    authority_reported_on = models.DateField(
        _("investigation report sent on"), null=True, blank=True
    )
    authority_reference = models.CharField(_("report reference"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default="open")
    clocks = models.JSONField(default=dict, blank=True)  # clock key → obligation id
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "-noticed_at", "id"]
        verbose_name_plural = "anomalies"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.material_id}"
