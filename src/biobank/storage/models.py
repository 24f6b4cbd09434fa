"""Storage: units of any depth, positions held by placements, access, temperature (BB-02, BS-07)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    SITE = "site", _("site")
    ROOM = "room", _("room")
    FREEZER = "freezer", _("freezer")
    LN2_TANK = "ln2_tank", _("LN2 tank")
    REFRIGERATOR = "refrigerator", _("refrigerator")
    CABINET = "cabinet", _("room-temperature cabinet")
    AUTOMATED = "automated", _("automated store")
    RACK = "rack", _("rack")
    SHELF = "shelf", _("shelf")
    BOX = "box", _("box")
    PLATE = "plate", _("plate")


EQUIPMENT = {Kind.FREEZER, Kind.LN2_TANK, Kind.REFRIGERATOR, Kind.CABINET, Kind.AUTOMATED}
HOLDERS = {Kind.BOX, Kind.PLATE}


class Scheme(models.TextChoices):
    ALPHA = "alpha", "A1, A2 …"
    ROW_COL = "row-col", "1-1, 1-2 …"
    NUMERIC = "numeric", "1, 2 … N"


class Order(models.TextChoices):
    ROW = "row", _("row by row")
    COLUMN = "column", _("column by column")


class ContainerType(models.Model):
    """An editable type of storage unit with its default geometry (a 9 × 9 cryobox …)."""

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=14, choices=Kind.choices)
    rows = models.PositiveSmallIntegerField(_("rows"), null=True, blank=True)
    columns = models.PositiveSmallIntegerField(_("columns"), null=True, blank=True)
    scheme = models.CharField(_("labels"), max_length=10, choices=Scheme.choices, default="alpha")
    order = models.CharField(_("fill order"), max_length=8, choices=Order.choices, default="row")

    class Meta:
        ordering = ["kind", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="container_type_code"),
        ]

    def __str__(self) -> str:
        return self.name


class StorageUnit(models.Model):
    """儲存單位: a site, room, piece of equipment, rack, shelf, box or plate, in a tree."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="storage_units"
    )
    barcode = models.CharField(_("barcode"), max_length=64)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=14, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    path = models.CharField(max_length=400, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    site = models.ForeignKey(
        "core.Site",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="storage_units",
        verbose_name=_("site"),
    )
    container_type = models.ForeignKey(
        ContainerType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rows = models.PositiveSmallIntegerField(_("rows"), null=True, blank=True)
    columns = models.PositiveSmallIntegerField(_("columns"), null=True, blank=True)
    scheme = models.CharField(_("labels"), max_length=10, choices=Scheme.choices, default="alpha")
    order = models.CharField(_("fill order"), max_length=8, choices=Order.choices, default="row")
    set_point_c = models.DecimalField(
        _("set point (°C)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    alarm_low_c = models.DecimalField(
        _("lower limit (°C)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    alarm_high_c = models.DecimalField(
        _("upper limit (°C)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    temperature_class = models.ForeignKey(
        "specimens.StorageTemperature",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("temperature class"),
    )
    allowed_material_types = models.ManyToManyField(
        "specimens.MaterialType",
        blank=True,
        related_name="+",
        verbose_name=_("allowed material types"),
    )
    allowed_collections = models.ManyToManyField(
        "specimens.Collection", blank=True, related_name="+", verbose_name=_("allowed collections")
    )
    is_active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "path"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "barcode"], name="storage_unit_barcode_unique_in_org"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["box", "plate"], rows__gte=1, columns__gte=1)
                | ~Q(kind__in=["box", "plate"]),
                name="storage_holder_has_geometry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.barcode} {self.name}"

    @property
    def is_holder(self) -> bool:
        return self.kind in HOLDERS


class Placement(models.Model):
    """A specimen at a position of a box: one specimen per position, one position per specimen,
    both held by the database."""

    # (unit, row, column) is unique, so that index serves lookups by unit
    unit = models.ForeignKey(
        StorageUnit, on_delete=models.PROTECT, related_name="placements", db_index=False
    )
    row = models.PositiveSmallIntegerField()
    column = models.PositiveSmallIntegerField()
    specimen = models.OneToOneField(
        "specimens.Specimen", on_delete=models.PROTECT, related_name="placement"
    )
    placed_at = models.DateTimeField()
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta:
        ordering = ["unit_id", "row", "column"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "row", "column"], name="one_specimen_per_position"
            ),
            models.CheckConstraint(
                condition=Q(row__gte=1, column__gte=1), name="position_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id}:{self.row}-{self.column} {self.specimen_id}"


class CheckOut(models.Model):
    """A specimen taken out of storage for a while (thawing for an aliquot …)."""

    specimen = models.ForeignKey("specimens.Specimen", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(StorageUnit, on_delete=models.PROTECT, related_name="+")
    row = models.PositiveSmallIntegerField()
    column = models.PositiveSmallIntegerField()
    out_at = models.DateTimeField()
    out_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=200)
    returned_at = models.DateTimeField(null=True, blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-out_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["specimen"], condition=Q(returned_at__isnull=True), name="one_open_checkout"
            )
        ]

    def __str__(self) -> str:
        return f"{self.specimen_id} out {self.out_at:%Y-%m-%d %H:%M}"


class AccessGrant(models.Model):
    """The access list (BS-07): who may open which unit."""

    unit = models.ForeignKey(StorageUnit, on_delete=models.PROTECT, related_name="grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "user"],
                condition=Q(revoked_at__isnull=True),
                name="one_active_grant",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} may open {self.unit_id}"


class StorageAccess(models.Model):
    """存取紀錄 (BS-07): every opening of a unit, kept at least 3 years."""

    class Purpose(models.TextChoices):
        PLACING = "placing", _("placing")
        RETRIEVING = "retrieving", _("retrieving")
        INVENTORY = "inventory", _("inventory")
        MAINTENANCE = "maintenance", _("maintenance")
        TRANSFER = "transfer", _("transfer")

    unit = models.ForeignKey(StorageUnit, on_delete=models.PROTECT, related_name="accesses")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(db_index=True)
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices)
    specimen = models.ForeignKey(
        "specimens.Specimen", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["unit", "at"])]

    def __str__(self) -> str:
        return f"{self.purpose} {self.unit_id} {self.at:%Y-%m-%d %H:%M}"


class TemperatureReading(models.Model):
    class Source(models.TextChoices):
        MANUAL = "manual", _("entered")
        LOGGER = "logger", _("logger file")
        MONITOR = "monitor", _("monitor")

    unit = models.ForeignKey(StorageUnit, on_delete=models.PROTECT, related_name="readings")
    at = models.DateTimeField()
    value_c = models.DecimalField(max_digits=6, decimal_places=2)
    source = models.CharField(max_length=8, choices=Source.choices, default="manual")

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["unit", "at"])]
        constraints = [
            models.UniqueConstraint(fields=["unit", "at"], name="one_reading_per_time"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.value_c} °C at {self.at:%Y-%m-%d %H:%M}"


class Excursion(models.Model):
    """A time the equipment was outside its limits; the specimens inside are assessed."""

    unit = models.ForeignKey(StorageUnit, on_delete=models.PROTECT, related_name="excursions")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    worst_c = models.DecimalField(max_digits=6, decimal_places=2)
    affected = models.JSONField(default=list)  # barcodes inside when it started
    obligation = models.ForeignKey(
        "core.Obligation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"excursion of {self.unit_id} from {self.started_at:%Y-%m-%d %H:%M}"
