"""Meetings of the biosafety committee (or the responsible person's sittings), with their
minutes and the decisions taken (BS-06 §4: the duties' handling is recorded and kept 3 years).

A decision may decide an approval (BS-10), confirm a destruction (BS-15), confirm that
material may be used again after an incident (BS-13) or approve an emergency plan (BS-12);
the services that need the committee's reference take the decision instead."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from biobank.biosafety.models.committees import Approval, Committee, CommitteeMember


def minutes_document_path(instance: Meeting, filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"biosafety/minutes/{instance.organization.code}/{uuid.uuid4()}.{suffix[:8]}"


class Meeting(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="biosafety_meetings"
    )
    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="meetings")
    held_on = models.DateField(_("held on"))
    attendees = models.ManyToManyField(
        CommitteeMember,
        related_name="meetings_attended",
        blank=True,
        verbose_name=pgettext_lazy("attendance", "present"),
    )
    agenda = models.TextField(_("agenda"))
    minutes = models.TextField(pgettext_lazy("meeting", "minutes"), blank=True)
    minutes_document = models.FileField(
        _("minutes document"), upload_to=minutes_document_path, blank=True
    )
    minutes_document_sha256 = models.CharField(max_length=64, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "-held_on", "-id"]

    def __str__(self) -> str:
        return f"{self.committee.name} {self.held_on}"


class CommitteeDecision(models.Model):
    """One decision of a meeting: its subject, outcome and, where it decides a record, the
    link to it. ``reference`` is what the decided record carries as the committee's reference."""

    class Outcome(models.TextChoices):
        APPROVED = "approved", pgettext_lazy("decision", "approved")
        REJECTED = "rejected", pgettext_lazy("decision", "rejected")
        CONFIRMED = "confirmed", pgettext_lazy("decision", "confirmed")
        NOTED = "noted", pgettext_lazy("decision", "noted")
        DEFERRED = "deferred", pgettext_lazy("decision", "deferred")

    class Decides(models.TextChoices):
        APPROVAL = "approval", _("approval of work with material (BS-10)")
        DESTRUCTION = "destruction", _("confirmation of a destruction (BS-15)")
        RESUMPTION = "resumption", _("use again after an incident (BS-13)")
        PLAN = "plan", _("approval of the emergency plan (BS-12)")
        OTHER = "other", _("other business")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="biosafety_decisions"
    )
    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="decisions")
    number = models.PositiveSmallIntegerField(pgettext_lazy("decision", "number"))
    reference = models.CharField(_("reference"), max_length=100)
    decides = models.CharField(_("decides"), max_length=12, choices=Decides.choices)
    subject = models.CharField(_("subject"), max_length=300)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    conditions = models.TextField(_("conditions"), blank=True)
    # What it decides; a purged record leaves the decision with its subject text.
    approval = models.ForeignKey(
        Approval,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="committee_decisions",
    )
    material = models.ForeignKey(
        "biosafety.InfectiousMaterial",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="committee_decisions",
    )
    incident = models.ForeignKey(
        "biosafety.Incident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="committee_decisions",
    )
    plan = models.ForeignKey(
        "biosafety.EmergencyPlan",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="committee_decisions",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["meeting_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "number"], name="decision_number_unique"),
            models.CheckConstraint(
                condition=Q(approval__isnull=True) | Q(decides="approval"),
                name="decision_approval_link",
            ),
            models.CheckConstraint(
                condition=Q(material__isnull=True) | Q(decides="destruction"),
                name="decision_material_link",
            ),
            models.CheckConstraint(
                condition=Q(incident__isnull=True) | Q(decides="resumption"),
                name="decision_incident_link",
            ),
            models.CheckConstraint(
                condition=Q(plan__isnull=True) | Q(decides="plan"), name="decision_plan_link"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.subject}"
