"""Writing and verifying the audit trail.

Every service that creates, changes or moves a regulated record through a state calls
``audit_record`` inside its transaction. Appends are serialised by locking the single
``AuditChainHead`` row, so the chain stays linear under concurrent writers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import models, transaction
from django.utils import timezone

from biobank.core.models import AuditChainHead, AuditEvent, Organization, User

GENESIS_HASH = "0" * 64


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def normalise(value: Any) -> Any:
    """Round-trip through JSON so what is hashed is exactly what the database returns."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=_json_default, ensure_ascii=False))


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The audited state of a record: concrete field values (foreign keys as their ids)."""
    names = fields or [
        f.name for f in instance._meta.concrete_fields if f.name not in {"created_at", "updated_at"}
    ]
    data: dict[str, Any] = {}
    for name in names:
        field = instance._meta.get_field(name)
        data[name] = getattr(instance, getattr(field, "attname", name))
    result: dict[str, Any] = normalise(data)
    return result


def object_label(instance: models.Model) -> str:
    return instance._meta.label_lower


def compute_hash(fields: dict[str, Any]) -> str:
    canonical = json.dumps(
        fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _hashed_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "sequence": event.sequence,
        "at": event.at.astimezone(UTC).isoformat(),
        "actor": event.actor_id,
        "actor_username": event.actor_username,
        "organization": event.organization_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "prev_hash": event.prev_hash,
    }


@transaction.atomic(savepoint=False)
def audit_record(
    *,
    actor: User | None,
    action: str,
    organization: Organization | None = None,
    instance: models.Model | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    object_repr: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Append one event to the chain. Give ``instance`` or ``object_type`` + ``object_id``."""
    if instance is not None:
        object_type = object_type or object_label(instance)
        object_id = object_id or str(instance.pk)
        object_repr = object_repr if object_repr is not None else str(instance)[:200]
    if not object_type or object_id is None:
        raise ValueError("audit_record needs the object it is about")
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:  # the migration creates it; a flushed test database may not have it
        head, _ = AuditChainHead.objects.get_or_create(
            pk=1, defaults={"sequence": 0, "hash": GENESIS_HASH}
        )
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    event = AuditEvent(
        sequence=head.sequence + 1,
        at=timezone.now(),
        actor=actor if actor is not None and actor.pk else None,
        actor_username=actor.get_username() if actor is not None and actor.pk else "",
        organization=organization,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_repr=(object_repr or "")[:200],
        before=normalise(before),
        after=normalise(after),
        reason=reason,
        prev_hash=head.hash,
    )
    event.hash = compute_hash(_hashed_fields(event))
    event.save()
    AuditChainHead.objects.filter(pk=1).update(sequence=event.sequence, hash=event.hash)
    return event


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(key for key in after if before.get(key) != after.get(key))


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    problem: str = ""
    sequence: int | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.checked} events verified"
        return f"audit chain broken at event #{self.sequence}: {self.problem}"


def audit_verify(*, chunk_size: int = 5000) -> ChainReport:
    """Walk the whole chain; report the first event that was altered, inserted or removed."""
    expected_sequence, previous_hash, checked = 1, GENESIS_HASH, 0
    events = AuditEvent.objects.order_by("sequence").iterator(chunk_size=chunk_size)
    for event in events:
        if event.sequence != expected_sequence:
            kind = "removed" if event.sequence > expected_sequence else "inserted or duplicated"
            return ChainReport(
                False,
                checked,
                f"expected event #{expected_sequence} but found #{event.sequence}: "
                f"an event was {kind}",
                expected_sequence,
            )
        if event.prev_hash != previous_hash:
            return ChainReport(
                False,
                checked,
                "its link to the previous event does not match: an event before it was removed, "
                "inserted or replaced",
                event.sequence,
            )
        if compute_hash(_hashed_fields(event)) != event.hash:
            return ChainReport(
                False,
                checked,
                "its content does not match its hash: it was altered",
                event.sequence,
            )
        previous_hash = event.hash
        expected_sequence += 1
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.sequence != checked or head.hash != previous_hash):
        return ChainReport(
            False,
            checked,
            f"the chain ends at #{checked} but {head.sequence} events were written: "
            "the last events were removed",
            checked + 1,
        )
    return ChainReport(True, checked)
