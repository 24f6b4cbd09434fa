"""Protocols, submissions, reviewers, meetings and decisions (HR-01 … HR-03, EC-09, EC-10)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from biobank.ethics.models.committee import IRB, IRBMember


class Protocol(models.Model):
    """研究計畫: one research project under an IRB's oversight."""

    class Risk(models.TextChoices):
        MINIMAL = "minimal", _("minimal risk")
        MORE_THAN_MINIMAL = "more_than_minimal", _("more than minimal risk")
        HIGH = "high", _("high risk")

    class State(models.TextChoices):
        SUBMITTED = "submitted", _("submitted")
        APPROVED = "approved", _("approved")
        DISAPPROVED = "disapproved", _("disapproved")
        SUSPENDED = "suspended", _("suspended")
        TERMINATED = "terminated", _("terminated")
        CLOSED = "closed", pgettext_lazy("status", "closed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    irb = models.ForeignKey(IRB, on_delete=models.PROTECT, related_name="protocols")
    code = models.CharField(_("code"), max_length=40)
    title = models.CharField(_("title"), max_length=300)
    principal_investigator = models.CharField(_("principal investigator"), max_length=120)
    pi_email = models.EmailField(_("investigator's e-mail"), blank=True)
    sponsor = models.CharField(_("sponsor"), max_length=200, blank=True)
    risk = models.CharField(_("risk"), max_length=20, choices=Risk.choices)
    state = models.CharField(max_length=12, choices=State.choices, default=State.SUBMITTED)
    approved_until = models.DateField(_("next continuing review due"), null=True, blank=True)
    ended_on = models.DateField(_("project ended on"), null=True, blank=True)
    retention_until = models.DateField(_("files kept until"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["irb_id", "-created_at"]
        constraints = [models.UniqueConstraint(fields=["irb", "code"], name="protocol_code_unique")]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"[:200]


class Submission(models.Model):
    """送審案: one thing the investigator or the IRB puts up for review."""

    class Kind(models.TextChoices):
        NEW = "new", _("new protocol")
        AMENDMENT = "amendment", _("amendment")
        CONTINUING = "continuing", _("continuing review")
        SAE = "sae", _("serious adverse event")
        DEVIATION = "deviation", _("protocol deviation")
        SUSPENSION = "suspension", _("suspension or termination")
        CLOSURE = "closure", _("closure")

    class ReviewType(models.TextChoices):
        EXEMPT = "exempt", _("exempt")
        EXPEDITED = "expedited", _("expedited")
        FULL = "full", _("full board")

    class State(models.TextChoices):
        RECEIVED = "received", _("received")
        IN_REVIEW = "in_review", _("in review")
        DECIDED = "decided", _("decided")
        NOTIFIED = "notified", _("notified")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="submissions")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    received_on = models.DateField(_("received on"))
    summary = models.TextField(_("summary"), blank=True)
    terminate = models.BooleanField(_("termination (not suspension)"), default=False)
    ended_on = models.DateField(_("project ended on"), null=True, blank=True)
    review_type = models.CharField(
        _("review type"), max_length=10, choices=ReviewType.choices, blank=True
    )
    review_reasons = models.JSONField(default=list, blank=True)  # codes of rules.review
    state = models.CharField(max_length=10, choices=State.choices, default=State.RECEIVED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_on", "-created_at"]

    def __str__(self) -> str:
        return f"{self.protocol.code} {self.get_kind_display()} {self.received_on:%Y-%m-%d}"


class ReviewerAssignment(models.Model):
    """A member or an outside expert asked to review a submission (criteria 2.4, 2.5)."""

    class Kind(models.TextChoices):
        REVIEWER = "reviewer", _("reviewer")
        EXPERT = "expert", _("expert")

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="reviewers")
    member = models.ForeignKey(IRBMember, on_delete=models.PROTECT, null=True, blank=True)
    expert_name = models.CharField(_("expert"), max_length=120, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.REVIEWER)
    opinion = models.TextField(_("opinion"), blank=True)
    recommendation = models.CharField(max_length=24, blank=True)
    assigned_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["assigned_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(member__isnull=False) | ~Q(expert_name=""),
                name="reviewer_is_member_or_expert",
            )
        ]

    def __str__(self) -> str:
        return self.member.name if self.member else self.expert_name


class Meeting(models.Model):
    """審查會議 of the full board, with its agenda and attendance (HR-02)."""

    class State(models.TextChoices):
        PLANNED = "planned", _("planned")
        HELD = "held", pgettext_lazy("meeting status", "held")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    irb = models.ForeignKey(IRB, on_delete=models.PROTECT, related_name="meetings")
    number = models.CharField(_("meeting number"), max_length=40)
    held_on = models.DateField(_("date"))
    state = models.CharField(max_length=8, choices=State.choices, default=State.PLANNED)
    present = models.ManyToManyField(IRBMember, blank=True, related_name="meetings_attended")
    minutes = models.TextField(_("minutes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-held_on"]
        constraints = [
            models.UniqueConstraint(fields=["irb", "number"], name="meeting_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.irb.code} {self.number}"


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="agenda")
    submission = models.ForeignKey(
        Submission, on_delete=models.PROTECT, related_name="agenda_items"
    )
    position = models.PositiveSmallIntegerField()
    discussion = models.TextField(_("discussion"), blank=True)

    class Meta:
        ordering = ["meeting_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "submission"], name="agenda_item_once")
        ]

    def __str__(self) -> str:
        return f"{self.meeting} #{self.position}"


class ReviewDecision(models.Model):
    """The decision on a submission and its notice to the investigator (EC-09)."""

    class Outcome(models.TextChoices):
        APPROVE = "approve", _("approve")
        APPROVE_WITH_CHANGES = "approve_with_changes", _("approve with changes")
        DEFER = "defer", _("defer")
        DISAPPROVE = "disapprove", _("disapprove")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    submission = models.OneToOneField(Submission, on_delete=models.PROTECT, related_name="decision")
    meeting = models.ForeignKey(
        Meeting, on_delete=models.PROTECT, null=True, blank=True, related_name="decisions"
    )
    outcome = models.CharField(_("decision"), max_length=24, choices=Outcome.choices)
    decided_on = models.DateField(_("decided on"))
    conditions = models.TextField(_("conditions or reasons"), blank=True)
    continuing_review_months = models.PositiveSmallIntegerField(null=True, blank=True)
    notice_due = models.DateField(_("notice due"))
    notified_on = models.DateField(_("notified on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(notified_on__isnull=True) | Q(notified_on__gte=models.F("decided_on")),
                name="decision_notified_after_decided",
            )
        ]

    def __str__(self) -> str:
        return f"{self.submission}: {self.get_outcome_display()}"
