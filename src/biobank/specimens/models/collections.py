"""Collections (收集計畫), their planned specimen tree, and the associated data they define."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Collection(models.Model):
    class Kind(models.TextChoices):
        STUDY = "study", _("study")
        COHORT = "cohort", _("cohort")
        PROTOCOL = "protocol", _("collection protocol")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="collections"
    )
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.COHORT)
    principal_investigator = models.CharField(_("principal investigator"), max_length=120)
    irb_reference = models.CharField(_("IRB approval reference"), max_length=100, blank=True)
    irb_valid_from = models.DateField(_("IRB approval from"), null=True, blank=True)
    irb_valid_until = models.DateField(_("IRB approval until"), null=True, blank=True)
    consent_forms = models.ManyToManyField(
        "participants.ConsentForm",
        blank=True,
        related_name="collections",
        verbose_name=_("consent form versions in use"),
    )
    material_types = models.ManyToManyField(
        "specimens.MaterialType", blank=True, related_name="+", verbose_name=_("material types")
    )
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("open"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization__code", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="collection_code_unique_in_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SpecimenRequirement(models.Model):
    """A node of a collection's planned specimen tree: what a visit produces."""

    class Kind(models.TextChoices):
        PRIMARY = "primary", _("primary specimen")
        ALIQUOT = "aliquot", _("aliquot")
        DERIVATIVE = "derivative", _("derivative")

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="plan")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    label = models.CharField(_("label"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    material_type = models.ForeignKey(
        "specimens.MaterialType", on_delete=models.PROTECT, related_name="+"
    )
    count = models.PositiveSmallIntegerField(_("how many"), default=1)
    quantity = models.DecimalField(_("quantity each"), max_digits=12, decimal_places=4)
    unit = models.CharField(_("unit"), max_length=10)
    quantity_taken = models.DecimalField(
        _("taken from the parent, each"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    container_type = models.CharField(_("container type"), max_length=60, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["collection_id", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="requirement_qty_pos"),
            models.CheckConstraint(condition=models.Q(count__gte=1), name="requirement_count_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.count} × {self.label}"


class DataField(models.Model):
    """Associated data a collection defines (BB-01): a typed key with its rules."""

    class Type(models.TextChoices):
        TEXT = "text", _("text")
        INTEGER = "integer", _("integer")
        DECIMAL = "decimal", _("decimal number")
        BOOLEAN = "boolean", _("yes/no")
        DATE = "date", _("date")
        CODE = "code", _("code from a list")

    class AppliesTo(models.TextChoices):
        SPECIMEN = "specimen", _("specimen")
        PARTICIPANT = "participant", _("participant")

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="fields")
    key = models.SlugField(_("key"), max_length=60)
    label = models.CharField(_("label"), max_length=120)
    type = models.CharField(_("type"), max_length=10, choices=Type.choices)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    code_system = models.CharField(_("code system"), max_length=60, blank=True)
    choices = models.JSONField(_("allowed codes"), default=list, blank=True)
    pattern = models.CharField(_("pattern"), max_length=200, blank=True)
    applies_to = models.CharField(max_length=12, choices=AppliesTo.choices, default="specimen")
    required = models.BooleanField(_("required"), default=False)

    class Meta:
        ordering = ["collection_id", "key"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "key"], name="data_field_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.type})"
