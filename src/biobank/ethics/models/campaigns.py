"""The auditing body's yearly audit of many IRBs (EC-01, EC-04 … EC-08)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from biobank.ethics.models.committee import IRB


class AuditCampaign(models.Model):
    """One year's audit run by the auditing body (MOHW or its commissioned organization)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="irb_audit_campaigns"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    window_opens = models.DateField(_("applications from"))
    window_closes = models.DateField(_("applications until"))
    completion_due = models.DateField(_("incomplete applications completed by"))
    announced_on = models.DateField(_("results announced on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "year"], name="one_campaign_a_year")
        ]

    def __str__(self) -> str:
        return f"{self.organization.code} {self.year}"


class IRBAudit(models.Model):
    """One IRB's audit in a campaign: application, auditors, ratings, result and validity."""

    class AuditType(models.TextChoices):
        PERIODIC = "video", _("periodic (written review with video interview)")
        ONSITE = "onsite", _("periodic on-site")
        FOLLOWUP = "followup", _("unscheduled follow-up (on-site)")

    class State(models.TextChoices):
        INVITED = "invited", _("invited")
        APPLIED = "applied", _("applied")
        ANNOUNCED = "announced", _("result announced")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(AuditCampaign, on_delete=models.PROTECT, related_name="audits")
    irb = models.ForeignKey(IRB, on_delete=models.PROTECT, related_name="audits")
    audit_type = models.CharField(_("audit type"), max_length=10, choices=AuditType.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.INVITED)
    applied_on = models.DateField(_("applied on"), null=True, blank=True)
    application = models.JSONField(default=dict, blank=True)  # annex 1 fields
    application_complete = models.BooleanField(default=False)
    consolidated = models.JSONField(default=dict, blank=True)  # item → rating
    passed = models.BooleanField(null=True)
    ratio = models.FloatField(null=True, blank=True)
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    mandatory_followup = models.BooleanField(_("mandatory follow-up"), default=False)
    # 作業程序 十二: a special event or complaint judged a violation, or the rating meeting
    mandatory_followup_grounds = models.TextField(
        _("grounds of the mandatory follow-up"), blank=True
    )
    followup_sampled = models.JSONField(default=list, blank=True)  # EC-07 ④: at most 4 items
    needs_improvement = models.BooleanField(_("needs improvement"), default=False)
    improvement_due = models.DateField(null=True, blank=True)
    # 作業程序 十三: the body's review of the improvement, and what followed
    improvement_reviewed_on = models.DateField(null=True, blank=True)
    improvement_doubts = models.BooleanField(null=True)
    improvement_review = models.TextField(_("review of the improvement"), blank=True)
    # set on the audit whose validity was shortened: the end before it was shortened
    validity_shortened_from = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign_id", "irb__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "irb", "audit_type"], name="one_audit_per_type"
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign} {self.irb.code} {self.audit_type}"


class AuditorAssignment(models.Model):
    audit = models.ForeignKey(IRBAudit, on_delete=models.PROTECT, related_name="auditors")
    auditor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    ratings = models.JSONField(default=dict, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["audit_id", "auditor_id"]
        constraints = [
            models.UniqueConstraint(fields=["audit", "auditor"], name="auditor_once_per_audit")
        ]

    def __str__(self) -> str:
        return f"{self.audit} {self.auditor}"


class AuditAppeal(models.Model):
    """複查 (作業程序 十一): a re-review on request; its result gives no scores."""

    audit = models.ForeignKey(IRBAudit, on_delete=models.PROTECT, related_name="appeals")
    filed_on = models.DateField(_("filed on"))
    grounds = models.TextField(_("grounds"))
    outcome = models.TextField(_("outcome"), blank=True)
    upheld = models.BooleanField(null=True)
    decided_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-filed_on"]

    def __str__(self) -> str:
        return f"{self.audit} appeal {self.filed_on:%Y-%m-%d}"


class FollowUpDraw(models.Model):
    """A follow-up draw by lot with its recorded seed, so that it can be replayed (EC-06)."""

    campaign = models.ForeignKey(AuditCampaign, on_delete=models.PROTECT, related_name="draws")
    seed = models.BigIntegerField()
    count = models.PositiveSmallIntegerField()
    candidates = models.JSONField(default=list)
    mandatory = models.JSONField(default=list)
    drawn = models.JSONField(default=list)
    drawn_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-drawn_at"]

    def __str__(self) -> str:
        return f"{self.campaign} draw {self.seed}"
