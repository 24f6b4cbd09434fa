"""What the IRB keeps about itself: declarations, training, SOPs, complaints (criteria 1.1,
1.5, 1.10 … 1.12, 4.9; EC-11)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from biobank.ethics.models.committee import IRB, IRBMember
from biobank.ethics.models.reviews import Protocol


class MemberDeclaration(models.Model):
    """A signed confidentiality agreement (1.5) or conflict-of-interest declaration (1.10)."""

    class Kind(models.TextChoices):
        CONFIDENTIALITY = "confidentiality", _("confidentiality agreement")
        CONFLICT = "conflict", _("conflict-of-interest declaration")

    member = models.ForeignKey(IRBMember, on_delete=models.PROTECT, related_name="declarations")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    signed_on = models.DateField(_("signed on"))
    protocol = models.ForeignKey(
        Protocol, on_delete=models.PROTECT, null=True, blank=True, related_name="declarations"
    )
    conflicted = models.BooleanField(_("has a conflict"), default=False)
    details = models.TextField(_("details"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-signed_on"]

    def __str__(self) -> str:
        return f"{self.member} {self.get_kind_display()} {self.signed_on:%Y-%m-%d}"


class TrainingRecord(models.Model):
    """Hours of training in regulations and ethics of a member or staff (1.11, 1.12)."""

    member = models.ForeignKey(IRBMember, on_delete=models.PROTECT, related_name="trainings")
    course = models.CharField(_("course"), max_length=200)
    taken_on = models.DateField(_("taken on"))
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=1)
    induction = models.BooleanField(_("induction for a new member"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-taken_on"]
        constraints = [models.CheckConstraint(condition=Q(hours__gt=0), name="training_hours")]

    def __str__(self) -> str:
        return f"{self.member} {self.course}"


class SopDocument(models.Model):
    """The IRB's document for one of the 26 SOP topics of annex 2 item 10 (EC-11)."""

    irb = models.ForeignKey(IRB, on_delete=models.PROTECT, related_name="sops")
    topic = models.PositiveSmallIntegerField(_("topic"))
    document = models.CharField(_("document"), max_length=120)
    version = models.CharField(_("version"), max_length=20)
    approved_on = models.DateField(_("approved on"))
    reviewed_on = models.DateField(_("last reviewed on"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["irb_id", "topic"]
        constraints = [
            models.UniqueConstraint(fields=["irb", "topic"], name="one_sop_per_topic"),
            models.CheckConstraint(condition=Q(topic__gte=1, topic__lte=26), name="sop_topic"),
        ]

    def __str__(self) -> str:
        return f"{self.document} v{self.version}"


class Complaint(models.Model):
    """A participant's complaint (criterion 4.9), its investigation and outcome."""

    class State(models.TextChoices):
        RECEIVED = "received", _("received")
        INVESTIGATING = "investigating", _("investigating")
        CLOSED = "closed", pgettext_lazy("status", "closed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    irb = models.ForeignKey(IRB, on_delete=models.PROTECT, related_name="complaints")
    protocol = models.ForeignKey(
        Protocol, on_delete=models.PROTECT, null=True, blank=True, related_name="complaints"
    )
    received_on = models.DateField(_("received on"))
    complainant = models.CharField(_("from (participant code or role)"), max_length=120)
    summary = models.TextField(_("complaint"))
    investigation = models.TextField(_("investigation"), blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    state = models.CharField(max_length=14, choices=State.choices, default=State.RECEIVED)
    closed_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_on"]

    def __str__(self) -> str:
        return f"{self.irb.code} {self.received_on:%Y-%m-%d} {self.complainant}"[:200]
