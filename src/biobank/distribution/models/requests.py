"""Requests (申請) for material and data, their approvals and material transfer agreements."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class DistributionRequest(models.Model):
    """A researcher's request for material and/or data from one organization (BB-02, HB-04)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SUBMITTED = "submitted", _("submitted")
        UNDER_REVIEW = "under_review", _("under review")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        FULFILLING = "fulfilling", _("fulfilling")
        SHIPPED = "shipped", _("shipped")
        RECEIVED = "received", _("received")
        CLOSED = "closed", pgettext_lazy("status", "closed")
        CANCELLED = "cancelled", _("cancelled")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization",
        on_delete=models.PROTECT,
        related_name="distribution_requests",
        verbose_name=_("organization asked"),
    )
    code = models.CharField(_("request number"), max_length=30)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="distribution_requests",
        verbose_name=_("requester"),
    )
    requester_institution = models.CharField(_("requester's institution"), max_length=200)
    title = models.CharField(_("project title"), max_length=200)
    purpose = models.TextField(_("purpose"))
    purposes = models.ManyToManyField(
        "participants.DuoTerm", related_name="+", verbose_name=_("use (DUO terms)")
    )
    diseases = models.JSONField(_("diseases studied"), default=list, blank=True)
    commercial = models.BooleanField(_("commercial use"), default=False)
    genetic_study = models.BooleanField(_("genetic study"), default=False)
    nhi_linkage = models.BooleanField(_("linkage with health-insurance data"), default=False)
    irb_reference = models.CharField(_("IRB approval reference"), max_length=100)
    irb_committee = models.CharField(_("approving committee"), max_length=200)
    irb_valid_from = models.DateField(_("IRB approval from"))
    irb_valid_until = models.DateField(_("IRB approval until"))
    irb_letter = models.FileField(
        _("IRB approval letter"), upload_to="distribution/irb/", blank=True
    )
    irb_letter_sha256 = models.CharField(max_length=64, blank=True)
    material_types = models.ManyToManyField(
        "specimens.MaterialType", blank=True, related_name="+", verbose_name=_("material types")
    )
    collection = models.ForeignKey(
        "specimens.Collection",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("collection"),
    )
    diagnosis = models.CharField(_("diagnosis"), max_length=200, blank=True)
    quantity_per_specimen = models.DecimalField(
        _("quantity per specimen"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    unit = models.CharField(_("unit"), max_length=10, blank=True)
    participants_wanted = models.PositiveIntegerField(_("number of participants"), default=0)
    destination_institution = models.CharField(_("destination institution"), max_length=200)
    destination_country = models.CharField(_("destination country"), max_length=2, default="TW")
    data_fields = models.JSONField(_("data fields wanted"), default=list, blank=True)
    planned_on = models.DateField(_("planned distribution date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=14, choices=Status.choices, default=Status.DRAFT
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "-created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="distribution_request_code_unique"
            ),
            models.CheckConstraint(
                condition=Q(irb_valid_until__gte=models.F("irb_valid_from")),
                name="distribution_irb_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(quantity_per_specimen__isnull=True) | Q(quantity_per_specimen__gt=0),
                name="distribution_quantity_positive",
            ),
        ]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def recipient_key(self) -> str:
        """How withdrawal obligations name this request (HB-03)."""
        return f"distribution-request:{self.public_id}"

    @property
    def abroad(self) -> bool:
        return self.destination_country.upper() != "TW"


class Approval(models.Model):
    """A decision on the request by a body: the biobank's ethics committee, the central review,
    the central authority's export approval (HB-04, HB-05)."""

    class Body(models.TextChoices):
        ETHICS_COMMITTEE = "ethics_committee", _("biobank ethics committee")
        CENTRAL_AUTHORITY = "central_authority", _("central review")
        EXPORT = "export", _("central authority export approval")

    class Decision(models.TextChoices):
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    request = models.ForeignKey(
        DistributionRequest, on_delete=models.PROTECT, related_name="approvals"
    )
    body = models.CharField(_("body"), max_length=20, choices=Body.choices)
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    decided_on = models.DateField(_("decided on"))
    reference = models.CharField(_("reference"), max_length=100)
    conditions = models.TextField(_("conditions"), blank=True)
    document = models.FileField(_("document"), upload_to="distribution/approvals/", blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request_id", "decided_on", "id"]

    def __str__(self) -> str:
        return f"{self.body} {self.decision} {self.reference}"


class TransferAgreement(models.Model):
    """The material transfer agreement (MTA) with its terms (HB-05: export written into it)."""

    request = models.OneToOneField(
        DistributionRequest, on_delete=models.PROTECT, related_name="agreement"
    )
    terms = models.TextField(_("terms"))
    signed_on = models.DateField(_("signed on"))
    recipient_signatory = models.CharField(_("signed for the recipient by"), max_length=200)
    study_ends_on = models.DateField(_("study ends on"), null=True, blank=True)
    document = models.FileField(_("signed document"), upload_to="distribution/mta/", blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request_id"]

    def __str__(self) -> str:
        return f"MTA {self.request_id} {self.signed_on}"
