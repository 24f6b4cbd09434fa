"""Specimens as biological material and associated data (BMaD, BB-01 … BB-04)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Unit(models.TextChoices):
    ML = "mL", "mL"
    UL = "µL", "µL"
    G = "g", "g"
    MG = "mg", "mg"
    UG = "µg", "µg"
    NG = "ng", "ng"
    CELLS = "cells", _("cells")
    PIECES = "pieces", _("pieces")


class Specimen(models.Model):
    """檢體: material with its data. ``material_type`` is the stored form, ``acquired_type`` the
    form it was acquired in (BB-04: acquired as whole blood, stored as plasma)."""

    class Status(models.TextChoices):
        EXPECTED = "expected", _("expected")
        COLLECTED = "collected", _("collected")
        RECEIVED = "received", _("received")
        IN_PROCESS = "in_process", _("in process")
        AVAILABLE = "available", _("available")
        RESERVED = "reserved", _("reserved")
        DISTRIBUTED = "distributed", _("distributed")
        DEPLETED = "depleted", _("depleted")
        DESTROYED = "destroyed", _("destroyed")
        MISSING = "missing", _("missing")

    # Foreign keys without an index of their own are covered by a composite index below, or
    # only ever checked when a reference row is deleted: each index costs every insert.
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="specimens", db_index=False
    )
    barcode = models.CharField(_("barcode"), max_length=64)
    collection = models.ForeignKey(
        "specimens.Collection",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="specimens",
        verbose_name=_("collection"),
    )
    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="specimens",
        verbose_name=_("participant"),
    )
    source_organism = models.CharField(_("source organism"), max_length=120, blank=True)
    source_strain = models.CharField(_("strain or breed"), max_length=120, blank=True)
    source_identifier = models.CharField(_("source identifier"), max_length=120, blank=True)
    category = models.ForeignKey(
        "specimens.MaterialCategory",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("main category"),
    )
    material_type = models.ForeignKey(
        "specimens.MaterialType",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("material type"),
        db_index=False,
    )
    acquired_type = models.ForeignKey(
        "specimens.MaterialType",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("acquired form"),
    )
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=4)
    remaining = models.DecimalField(_("remaining"), max_digits=12, decimal_places=4)
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices)
    concentration = models.DecimalField(
        _("concentration"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    concentration_unit = models.CharField(_("concentration unit"), max_length=20, blank=True)
    container_type = models.CharField(_("container type"), max_length=60, blank=True)
    collected_at = models.DateTimeField(_("collected"), null=True, blank=True)
    collection_site = models.ForeignKey(
        "core.Site",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("collection site"),
    )
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    receipt_condition = models.CharField(_("condition on receipt"), max_length=120, blank=True)
    sprec = models.CharField(_("SPREC code"), max_length=40, blank=True)
    freeze_thaw_count = models.PositiveSmallIntegerField(_("freeze-thaw cycles"), default=0)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.AVAILABLE
    )
    consent_withdrawn = models.BooleanField(_("consent withdrawn"), default=False)
    on_hold = models.BooleanField(_("on hold"), default=False)
    infectious = models.BooleanField(_("infectious"), default=False)
    delinked = models.BooleanField(_("delinked"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "barcode"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "barcode"], name="specimen_barcode_unique_in_org"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="specimen_quantity_nonneg"),
            models.CheckConstraint(condition=Q(remaining__gte=0), name="specimen_remaining_nonneg"),
            models.CheckConstraint(
                condition=Q(remaining__lte=F("quantity")), name="specimen_remaining_le_quantity"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "id"]),
            models.Index(fields=["organization", "sprec", "id"]),
            models.Index(fields=["organization", "status", "id"]),
            models.Index(fields=["organization", "material_type", "id"]),
            models.Index(fields=["organization", "collection", "id"]),
            models.Index(fields=["organization", "collected_at"]),
        ]

    def __str__(self) -> str:
        return self.barcode

    @property
    def is_human(self) -> bool:
        return self.category_id == "human"


class Lineage(models.Model):
    """An edge of the lineage graph: a child made from (part of) a parent."""

    class Kind(models.TextChoices):
        ALIQUOT = "aliquot", _("aliquot")
        DERIVATIVE = "derivative", _("derivative")
        POOL = "pool", _("pool")

    # (parent, child) is unique, so that index serves lookups by parent
    parent = models.ForeignKey(
        Specimen, on_delete=models.PROTECT, related_name="child_links", db_index=False
    )
    child = models.ForeignKey(Specimen, on_delete=models.PROTECT, related_name="parent_links")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    quantity_taken = models.DecimalField(max_digits=12, decimal_places=4)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "child"], name="lineage_edge_unique"),
            models.CheckConstraint(condition=~Q(parent=F("child")), name="lineage_no_self_loop"),
            models.CheckConstraint(condition=Q(quantity_taken__gte=0), name="lineage_taken_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.parent_id} → {self.child_id} ({self.kind})"


class SpecimenEvent(models.Model):
    """One lifecycle event (BB-02): who, when, where, which SOP, parameters, result."""

    class Activity(models.TextChoices):
        ACQUISITION = "acquisition", _("acquisition")
        COLLECTION = "collection", _("collection")
        RECEPTION = "reception", _("reception")
        PREPARATION = "preparation", _("preparation")
        PRESERVATION = "preservation", _("preservation")
        STORAGE = "storage", _("storage")
        TESTING = "testing", _("testing")
        DISTRIBUTION = "distribution", _("distribution")
        RECEIPT = "receipt", _("receipt")
        TRANSFER = "transfer", _("transfer")
        FREEZE = "freeze", _("freeze")
        THAW = "thaw", _("thaw")
        RETURN = "return", _("return")
        DESTRUCTION = "destruction", _("destruction")

    # (specimen, at) below serves lookups by specimen
    specimen = models.ForeignKey(
        Specimen, on_delete=models.PROTECT, related_name="events", db_index=False
    )
    activity = models.CharField(_("activity"), max_length=14, choices=Activity.choices)
    at = models.DateTimeField(_("when"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    site = models.ForeignKey(
        "core.Site",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    sop = models.CharField(_("SOP"), max_length=60, blank=True)
    sop_version = models.CharField(_("SOP version"), max_length=20, blank=True)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    result = models.CharField(_("result"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["specimen", "at"])]

    def __str__(self) -> str:
        return f"{self.activity} of {self.specimen_id} at {self.at:%Y-%m-%d %H:%M}"


class SpecimenNumbering(models.Model):
    """An organization's barcode pattern: ``prefix`` + zero-padded number."""

    organization = models.OneToOneField(
        "core.Organization", on_delete=models.CASCADE, related_name="specimen_numbering"
    )
    prefix = models.CharField(max_length=20, default="S")
    width = models.PositiveSmallIntegerField(default=8)
    next_number = models.PositiveBigIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.prefix}{self.next_number:0{self.width}d}"


class DataValue(models.Model):
    """A value of a collection's data field for a specimen or a participant (BB-01)."""

    field = models.ForeignKey("specimens.DataField", on_delete=models.PROTECT, related_name="+")
    specimen = models.ForeignKey(
        Specimen, on_delete=models.PROTECT, null=True, blank=True, related_name="data"
    )
    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="data",
    )
    value = models.CharField(max_length=500)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["field", "specimen"], name="data_value_per_specimen"),
            models.UniqueConstraint(
                fields=["field", "participant"], name="data_value_per_participant"
            ),
            models.CheckConstraint(
                condition=Q(specimen__isnull=False) | Q(participant__isnull=False),
                name="data_value_has_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.field_id}={self.value}"


class TestResult(models.Model):
    __test__ = False  # not a pytest test class

    class QcFlag(models.TextChoices):
        PASS = "pass", _("pass")
        WARNING = "warning", _("warning")
        FAIL = "fail", _("fail")

    specimen = models.ForeignKey(Specimen, on_delete=models.PROTECT, related_name="results")
    analyte = models.CharField(_("analyte"), max_length=120)
    value = models.CharField(_("value"), max_length=120)
    numeric_value = models.DecimalField(max_digits=16, decimal_places=6, null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=30, blank=True)
    method = models.CharField(_("method"), max_length=120, blank=True)
    performed_on = models.DateField(_("performed on"))
    qc_flag = models.CharField(_("QC"), max_length=8, choices=QcFlag.choices, default="pass")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-performed_on", "id"]

    def __str__(self) -> str:
        return f"{self.analyte}={self.value}{self.unit}"
