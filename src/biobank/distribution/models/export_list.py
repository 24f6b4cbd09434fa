"""The export list (HB-05): the material types, derivatives such as extracted DNA, that may go
abroad with the central authority's approval. The standard list (``organization`` empty) is
loaded from ``data/export_derivatives.csv`` by a data migration; a biobank adds types to it or
strikes standard ones off for itself with rows of its own."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ExportListEntry(models.Model):
    """One material type on (``listed``) or struck off (not ``listed``) an export list.

    A biobank's rows sit on top of the standard list: a listed row adds a type, an unlisted row
    strikes a standard type off for that biobank. Rows are retired, never deleted, so the list
    in force on any day can be told from the rows and their audit events."""

    organization = models.ForeignKey(
        "core.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="export_list_entries",
        help_text=_("Empty for the standard list; set for a biobank's own change to it."),
    )
    material_type = models.ForeignKey(
        "specimens.MaterialType",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("material type"),
    )
    listed = models.BooleanField(
        _("on the list"),
        default=True,
        help_text=_("False: a standard type struck off the list for this biobank."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "material_type_id", "id"]
        verbose_name = _("export list entry")
        verbose_name_plural = _("export list entries")
        constraints = [
            models.UniqueConstraint(
                fields=["material_type"],
                condition=Q(organization__isnull=True, retired_at__isnull=True),
                name="export_list_standard_unique",
            ),
            models.UniqueConstraint(
                fields=["organization", "material_type"],
                condition=Q(organization__isnull=False, retired_at__isnull=True),
                name="export_list_organization_unique",
            ),
            models.CheckConstraint(
                condition=Q(organization__isnull=False) | Q(listed=True),
                name="export_list_standard_is_listed",
            ),
        ]

    def __str__(self) -> str:
        scope = self.organization_id or "standard"
        return f"{scope}: {self.material_type_id} {'+' if self.listed else '-'}"
