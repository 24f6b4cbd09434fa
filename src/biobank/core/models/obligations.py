"""Obligations (待辦義務): one row per deadline a rule creates."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from biobank.core.roles import Role


class Obligation(models.Model):
    class State(models.TextChoices):
        OPEN = "open", _("open")
        DONE = "done", _("done")
        WAIVED = "waived", _("waived")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="obligations"
    )
    rule_id = models.CharField(_("rule"), max_length=10, db_index=True)
    title = models.CharField(_("title"), max_length=300)
    due_at = models.DateTimeField(_("due"), db_index=True)
    subject_type = models.CharField(max_length=100, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    subject_repr = models.CharField(_("subject"), max_length=200, blank=True)
    responsible_role = models.CharField(
        _("responsible role"), max_length=30, choices=Role.choices, blank=True
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="obligations",
        verbose_name=_("assignee"),
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    evidence = models.TextField(_("evidence"), blank=True)
    waiver_reason = models.TextField(_("waiver reason"), blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["organization", "state", "due_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="open") | Q(closed_at__isnull=False),
                name="obligation_closed_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(state="waived") | ~Q(waiver_reason=""),
                name="obligation_waiver_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.title}"

    @property
    def is_overdue(self) -> bool:
        return self.state == self.State.OPEN and self.due_at < timezone.now()

    @property
    def display_state(self) -> str:
        """The state a person reads: an open obligation past its due time is overdue."""
        return "overdue" if self.is_overdue else self.state
