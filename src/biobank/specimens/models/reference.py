"""Reference data (BB-03): material categories, material types, storage temperature classes.

Loaded from ``specimens/data/*.csv`` by migration; a biobank adds its own material types
(``organization`` set) mapped to a standard one.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class _Labelled(models.Model):
    label_en = models.CharField(_("name (English)"), max_length=120)
    label_zh = models.CharField(_("name (Chinese)"), max_length=120)

    class Meta:
        abstract = True

    @property
    def label(self) -> str:
        return self.label_en if (get_language() or "").startswith("en") else self.label_zh


class MaterialCategory(_Labelled):
    """Main category: human 人體, animal 動物, plant 植物, fungi 真菌, microorganism 微生物."""

    code = models.CharField(primary_key=True, max_length=20)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.label


class MaterialType(_Labelled):
    """生物材料次類別: a standard (BBMRI Directory, MIABIS) or local material type."""

    code = models.CharField(_("code"), max_length=40)
    organization = models.ForeignKey(
        "core.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="material_types",
        help_text=_("Empty for the standard list; set for a biobank's own sub-category."),
    )
    category = models.ForeignKey(MaterialCategory, on_delete=models.PROTECT, related_name="+")
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    maps_to = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="local_types",
        help_text=_("The standard type a local sub-category corresponds to."),
    )
    standard = models.CharField(max_length=20, blank=True)
    standard_code = models.CharField(max_length=60, blank=True)
    miabis_code = models.CharField(max_length=60, blank=True)
    sprec_code = models.CharField(max_length=10, blank=True)
    snomed_code = models.CharField(max_length=20, blank=True)
    acquired_form_ok = models.BooleanField(default=True)
    derivable_from = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="+")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category_id", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=Q(organization__isnull=True), name="material_type_std"
            ),
            models.UniqueConstraint(
                fields=["organization", "code"], name="material_type_code_unique_in_org"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.label}"


class StorageTemperature(_Labelled):
    code = models.CharField(primary_key=True, max_length=20)
    min_c = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    max_c = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    standard_code = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = [models.F("max_c").desc(nulls_last=True)]

    def __str__(self) -> str:
        return self.label
