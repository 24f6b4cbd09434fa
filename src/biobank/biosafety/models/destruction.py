"""Destruction of infectious material (BS-15 §13): confirmed by the committee or responsible
person, recorded, kept 3 years (10 for controlled pathogens in the human regime, HP-04)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Destruction(models.Model):
    class Method(models.TextChoices):
        AUTOCLAVE = "autoclave", _("autoclave")
        INCINERATION = "incineration", _("incineration")
        CHEMICAL = "chemical", _("chemical disinfection")
        OTHER = "other", _("other method")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="biosafety_destructions"
    )
    material = models.ForeignKey(
        "biosafety.InfectiousMaterial", on_delete=models.PROTECT, related_name="destructions"
    )
    quantity = models.DecimalField(_("quantity destroyed"), max_digits=12, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=10)
    method = models.CharField(_("method"), max_length=14, choices=Method.choices)
    destroyed_on = models.DateField(_("destroyed on"))
    reason = models.CharField(_("reason"), max_length=300)
    witness = models.CharField(_("witness"), max_length=120, blank=True)
    confirmed_on = models.DateField(_("confirmed by the committee on"))
    committee_reference = models.CharField(_("committee reference"), max_length=100)
    controlled = models.BooleanField(_("controlled pathogen or toxin"), default=False)
    incident = models.ForeignKey(
        "biosafety.Incident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="destructions",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization_id", "-destroyed_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="destruction_quantity_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.material_id} {self.destroyed_on}"
