"""The biosafety committee (生安會) or the person serving instead (BS-06, HP-01), and the
approvals of holding, using, changing, transferring, importing or exporting material (BS-10)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from biobank.biosafety.models.register import Regime


class Committee(models.Model):
    class Kind(models.TextChoices):
        COMMITTEE = "committee", _("biosafety committee")
        RESPONSIBLE_PERSON = "responsible_person", _("designated responsible person")
        BIOSAFETY_OFFICER = "biosafety_officer", _("biosafety officer")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="biosafety_committees"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    regime = models.CharField(_("regime"), max_length=6, choices=Regime.choices)
    name = models.CharField(_("name"), max_length=200)
    formed_on = models.DateField(_("formed on"))
    reported_on = models.DateField(_("reported to the authority on"), null=True, blank=True)
    report_reference = models.CharField(_("report reference"), max_length=100, blank=True)
    dissolved_on = models.DateField(_("dissolved on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "-formed_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "regime"],
                condition=Q(dissolved_on__isnull=True),
                name="one_active_committee_per_regime",
            )
        ]

    def __str__(self) -> str:
        return self.name


class CommitteeMember(models.Model):
    class Role(models.TextChoices):
        HEAD = "head", _("head or deputy head of the unit")
        SITE_SUPERVISOR = "site_supervisor", _("facility supervisor")
        TECHNICAL = "technical", _("facility manager, engineer or technical expert")
        RESPONSIBLE_PERSON = "responsible_person", _("responsible person")
        OFFICER = "officer", _("biosafety officer")

    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="members")
    name = models.CharField(_("name"), max_length=120)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    years_lab_experience = models.DecimalField(
        _("years of lab experience"), max_digits=4, decimal_places=1, default=0
    )
    training_hours = models.DecimalField(
        _("biosafety training hours"), max_digits=6, decimal_places=1, default=0
    )
    joined_on = models.DateField(_("joined on"))
    left_on = models.DateField(_("left on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["committee_id", "role", "name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"


class Approval(models.Model):
    """An approval of work with a material at a site (BS-10): the committee's decision and,
    for risk group 3-4, the central authority's (with the review form, annex 3)."""

    class Kind(models.TextChoices):
        POSSESSION = "possession", _("possession")
        USE = "use", _("use")
        CHANGE = "change", _("change")
        TRANSFER = "transfer", _("transfer")
        IMPORT = "import", _("import")
        EXPORT = "export", _("export")

    class Status(models.TextChoices):
        PENDING_COMMITTEE = "pending_committee", _("waiting for the committee")
        PENDING_CENTRAL = "pending_central", _("waiting for the central authority")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="biosafety_approvals"
    )
    material = models.ForeignKey(
        "biosafety.InfectiousMaterial", on_delete=models.PROTECT, related_name="approvals"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    site = models.ForeignKey(
        "core.Site", on_delete=models.PROTECT, related_name="+", verbose_name=_("site")
    )
    purpose = models.TextField(_("purpose"))
    propagating = models.BooleanField(_("propagates the pathogen"), default=True)
    large_scale = models.BooleanField(_("large-scale propagation"), default=False)
    required_level = models.CharField(_("required level"), max_length=8)
    level_reason = models.CharField(_("level reason"), max_length=300)
    lower_level_exception = models.BooleanField(_("lower level by exception"), default=False)
    central_required = models.BooleanField(_("central authority approval required"))
    review_form = models.JSONField(_("review form (annex 3)"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=18, choices=Status.choices, default=Status.PENDING_COMMITTEE
    )
    committee_decided_on = models.DateField(_("committee decided on"), null=True, blank=True)
    committee_reference = models.CharField(_("committee reference"), max_length=100, blank=True)
    central_decided_on = models.DateField(_("central authority decided on"), null=True, blank=True)
    central_reference = models.CharField(
        _("central authority reference"), max_length=100, blank=True
    )
    conditions = models.TextField(_("conditions"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "-created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="approved")
                | Q(central_required=False)
                | Q(central_decided_on__isnull=False),
                name="biosafety_approval_central_before_approved",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.material_id} @ {self.site_id}"
