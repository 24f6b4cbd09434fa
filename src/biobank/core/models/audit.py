"""The append-only, hash-chained audit trail.

Each event's ``hash`` covers its own content and the previous event's hash, so editing,
inserting or removing a row breaks the chain from that row on (``biobank audit verify``).
The application never updates or deletes events: the model and its queryset refuse, the admin
is read-only, and database triggers (see the ``audit_append_only`` migration) refuse UPDATE and
DELETE on the table itself.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditTrailIsAppendOnly(Exception):
    pass


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditTrailIsAppendOnly("audit events cannot be changed")

    def delete(self) -> NoReturn:
        raise AuditTrailIsAppendOnly("audit events cannot be deleted")


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        CREATE = "create", _("created")
        UPDATE = "update", _("changed")
        TRANSITION = "transition", _("state changed")
        DELETE = "retire", _("retired")
        VIEW = "view", _("viewed")
        LOGIN = "login", _("signed in")
        EXPORT = "export", _("exported")

    sequence = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=100)  # the composite index below leads with it
    object_id = models.CharField(max_length=64)  # looked up with object_type: composite index
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    # Not indexed: nothing looks an event up by its hash, and an index on random keys would
    # cost every append a random page (a third of a million-row import's write time).
    hash = models.CharField(max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-sequence"]
        indexes = [models.Index(fields=["object_type", "object_id", "sequence"])]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditTrailIsAppendOnly("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditTrailIsAppendOnly("audit events cannot be deleted")


class AuditChainHead(models.Model):
    """One row: the last sequence and hash. Locked while appending, so appends are serial."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_single")]

    def __str__(self) -> str:
        return f"audit head #{self.sequence}"
