"""Fulfilment: reserved items, shipments, receipts, spills, returns, recipients' destruction,
data releases and the reciprocity ledger."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RequestItem(models.Model):
    """A specimen selected for a request. ``shipped`` is what left (an aliquot taken on the way
    when the request asks for part of the specimen, or the specimen itself)."""

    class State(models.TextChoices):
        RESERVED = "reserved", _("reserved")
        RETRIEVED = "retrieved", _("retrieved")
        SHIPPED = "shipped", _("shipped")
        RECEIVED = "received", _("received")
        RETURNED = "returned", _("returned")
        DESTROYED = "destroyed", _("destroyed by the recipient")
        RELEASED = "released", _("released")

    request = models.ForeignKey(
        "distribution.DistributionRequest", on_delete=models.PROTECT, related_name="items"
    )
    specimen = models.ForeignKey("specimens.Specimen", on_delete=models.PROTECT, related_name="+")
    shipped = models.ForeignKey(
        "specimens.Specimen", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=4)
    unit = models.CharField(_("unit"), max_length=10)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default="reserved")
    shipment = models.ForeignKey(
        "distribution.Shipment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="items",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["request_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "specimen"], name="request_item_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="request_item_qty_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id}:{self.specimen_id} ({self.state})"


class Shipment(models.Model):
    class Temperature(models.TextChoices):
        AMBIENT = "ambient", _("ambient")
        COLD_CHAIN = "cold_chain", _("cold chain (2-8 °C)")
        DRY_ICE = "dry_ice", _("dry ice")
        LN2_DRY_SHIPPER = "ln2_dry_shipper", _("liquid-nitrogen dry shipper")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    request = models.ForeignKey(
        "distribution.DistributionRequest", on_delete=models.PROTECT, related_name="shipments"
    )
    containers = models.PositiveSmallIntegerField(_("containers"), default=1)

    class RiskGroupSource(models.TextChoices):
        REGISTER = "register", _("biosafety register")
        FORM = "form", _("entered on the shipment")
        NONE = "", _("none")

    risk_group = models.PositiveSmallIntegerField(_("risk group"), null=True, blank=True)
    risk_group_source = models.CharField(
        _("risk group from"),
        max_length=10,
        choices=RiskGroupSource.choices,
        blank=True,
        default="",
    )
    risk_group_basis = models.CharField(_("risk group basis"), max_length=500, blank=True)
    packaging_category = models.CharField(_("packaging class"), max_length=10)
    un_number = models.CharField(_("UN number"), max_length=10, blank=True)
    shipping_name = models.CharField(_("proper shipping name"), max_length=100)
    packing_instruction = models.CharField(_("packing instruction"), max_length=10, blank=True)
    temperature = models.CharField(_("temperature"), max_length=16, choices=Temperature.choices)
    dry_ice_kg = models.DecimalField(
        _("dry ice (kg)"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    courier = models.CharField(_("courier"), max_length=120)
    tracking_number = models.CharField(_("tracking number"), max_length=120)
    shipped_at = models.DateTimeField(_("shipped"))
    shipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    infectious = models.BooleanField(_("infectious"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request_id", "shipped_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(temperature="dry_ice") | Q(dry_ice_kg__gt=0),
                name="shipment_dry_ice_has_amount",
            )
        ]

    def __str__(self) -> str:
        return f"{self.courier} {self.tracking_number}"


class Receipt(models.Model):
    class Condition(models.TextChoices):
        COMPLETE = "complete", _("all received in good condition")
        PARTIAL = "partial", _("partly received")
        DAMAGED = "damaged", _("damaged")
        TEMPERATURE_BREACH = "temperature_breach", _("temperature breach")

    shipment = models.OneToOneField(Shipment, on_delete=models.PROTECT, related_name="receipt")
    received_at = models.DateTimeField(_("received"))
    condition = models.CharField(_("condition"), max_length=20, choices=Condition.choices)
    items_received = models.PositiveIntegerField(_("items received"))
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at", "id"]

    def __str__(self) -> str:
        return f"{self.shipment_id} {self.condition}"


class ReceiptLine(models.Model):
    """What became of one shipped item at the recipient: received, received damaged, or
    missing (BB-02). A partial or damaged receipt thereby names the items concerned."""

    class Outcome(models.TextChoices):
        RECEIVED = "received", _("received")
        DAMAGED = "damaged", _("received damaged")
        MISSING = "missing", _("missing")

    receipt = models.ForeignKey(Receipt, on_delete=models.PROTECT, related_name="lines")
    item = models.OneToOneField(RequestItem, on_delete=models.PROTECT, related_name="receipt_line")
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["receipt_id", "item_id"]

    def __str__(self) -> str:
        return f"{self.receipt_id}:{self.item_id} {self.outcome}"


class TransitSpill(models.Model):
    """A spill or leak reported in transport (BS-14)."""

    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="spills")
    notified_at = models.DateTimeField(_("notified"))
    reported_by = models.CharField(_("reported by (carrier or receiver)"), max_length=200)
    description = models.TextField(_("what happened"))
    infectious = models.BooleanField(_("infectious material"), default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["notified_at", "id"]

    def __str__(self) -> str:
        return f"spill {self.shipment_id} {self.notified_at:%Y-%m-%d %H:%M}"


class ItemReturn(models.Model):
    """Unused material sent back by the recipient and stored again (BB-02)."""

    item = models.OneToOneField(RequestItem, on_delete=models.PROTECT, related_name="return_record")
    returned_at = models.DateTimeField(_("returned"))
    condition = models.CharField(_("condition"), max_length=200)
    location = models.CharField(_("stored at"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["returned_at", "id"]

    def __str__(self) -> str:
        return f"return {self.item_id}"


class RecipientDestruction(models.Model):
    """The recipient's destruction of what they received (HB-03, HR-04)."""

    item = models.OneToOneField(
        RequestItem, on_delete=models.PROTECT, related_name="destruction_record"
    )
    destroyed_on = models.DateField(_("destroyed on"))
    method = models.CharField(_("method"), max_length=120)
    certificate = models.CharField(_("certificate or reference"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["destroyed_on", "id"]

    def __str__(self) -> str:
        return f"destroyed {self.item_id}"


class DataRelease(models.Model):
    """Coded data released with a request (HB-01, HB-04): fields, records, file checksum."""

    request = models.ForeignKey(
        "distribution.DistributionRequest", on_delete=models.PROTECT, related_name="releases"
    )
    fields = models.JSONField(_("fields"), default=list)
    records = models.PositiveIntegerField(_("records"))
    file_sha256 = models.CharField(max_length=64)
    released_at = models.DateTimeField(_("released"))
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    participants = models.ManyToManyField(
        "participants.Participant", blank=True, related_name="+", verbose_name=_("participants")
    )

    class Meta:
        ordering = ["released_at", "id"]

    def __str__(self) -> str:
        return f"release {self.request_id} {self.records}"


class LedgerEntry(models.Model):
    """互惠帳: what an organization gave or received (seed 003, FD-01)."""

    class Direction(models.TextChoices):
        GIVEN = "given", _("given")
        RECEIVED = "received", _("received")

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="ledger_entries"
    )
    counterpart = models.CharField(_("counterpart"), max_length=200)
    counterpart_organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    specimens = models.PositiveIntegerField(_("specimens"), default=0)
    data_records = models.PositiveIntegerField(_("data records"), default=0)
    request = models.ForeignKey(
        "distribution.DistributionRequest", on_delete=models.PROTECT, related_name="ledger"
    )
    at = models.DateTimeField(_("when"))

    class Meta:
        ordering = ["organization_id", "at", "id"]
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"{self.organization_id} {self.direction} {self.specimens}/{self.data_records}"
