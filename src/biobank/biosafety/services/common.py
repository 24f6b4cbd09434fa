"""What the biosafety services share: audit events, refusing on a rule's decision, clocks."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Protocol

from django.db import models
from django.utils import timezone

from biobank.biosafety.rules import TAIPEI
from biobank.core.audit import audit_record, snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import Organization, User


class Decided(Protocol):
    @property
    def allowed(self) -> bool: ...

    @property
    def reason(self) -> str: ...

    @property
    def rule(self) -> str: ...


def check(decision: Decided) -> None:
    """Refuse the use case when a rule says no, naming the rule."""
    if not decision.allowed:
        raise ApplicationError(decision.reason, rule=decision.rule)


def audit(
    actor: User | None,
    organization: Organization,
    instance: models.Model,
    action: str,
    before: dict[str, Any] | None = None,
    reason: str = "",
) -> None:
    audit_record(
        actor=actor,
        action=action,
        organization=organization,
        instance=instance,
        before=before,
        after=snapshot(instance),
        reason=reason,
    )


def end_of_day(day: date) -> datetime:
    """A deadline given as a Taiwan date ends at the end of that day."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=TAIPEI)


def as_moment(due: date | datetime) -> datetime:
    if isinstance(due, datetime):
        return due
    return end_of_day(due)


def today() -> date:
    return timezone.localdate()
