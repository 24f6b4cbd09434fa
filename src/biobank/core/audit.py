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
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db import models, transaction
from django.utils import timezone

from biobank.core.models import AuditChainHead, AuditEvent, Organization, User

if TYPE_CHECKING:
    from biobank.core.bulk import BulkSession

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
    # the head's two values under lock, by primary key (``first`` would compile an ORDER BY)
    locked = AuditChainHead.objects.select_for_update().values_list("sequence", "hash")
    try:
        sequence, previous_hash = locked.get(pk=1)
    except AuditChainHead.DoesNotExist:
        # the migration creates it; a flushed test database may not have it
        AuditChainHead.objects.get_or_create(pk=1, defaults={"sequence": 0, "hash": GENESIS_HASH})
        sequence, previous_hash = locked.get(pk=1)
    event = AuditEvent(
        sequence=sequence + 1,
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
        prev_hash=previous_hash,
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


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# ``json.dumps`` of one string, without its per-call set-up (what the canonical form holds)
_json_string = json.encoder.encode_basestring


class AuditBatch:
    """Many events by one actor at one moment, appended at the bulk-insert rate (imports).

    The chain head is locked once; each event's hash is computed from the same canonical JSON
    that ``compute_hash`` produces (the constant fields are encoded once per batch, the event's
    ``after`` once for both the hash and the stored column), and rows go in through
    ``BulkInsert``. Use inside the import's transaction and call ``close`` before it commits.
    """

    def __init__(
        self,
        *,
        actor: User | None,
        organization: Organization | None,
        action: str,
        reason: str = "",
        at: datetime | None = None,
        session: BulkSession | None = None,
    ) -> None:
        from biobank.core.bulk import BulkInsert, db_datetime

        head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            AuditChainHead.objects.get_or_create(
                pk=1, defaults={"sequence": 0, "hash": GENESIS_HASH}
            )
            head = AuditChainHead.objects.select_for_update().get(pk=1)
        self.sequence, self.previous = head.sequence, head.hash
        self.count = 0
        when = at or timezone.now()
        actor_id = actor.pk if actor is not None and actor.pk else None
        username = actor.get_username() if actor is not None and actor.pk else ""
        organization_id = organization.pk if organization is not None else None
        # sorted keys: action actor actor_username after at before object_id object_repr
        # object_type organization prev_hash reason sequence
        self._head = (
            f'{{"action":{_canonical(action)},"actor":{_canonical(actor_id)},'
            f'"actor_username":{_canonical(username)},"after":'
        )
        self._middle = (
            f',"at":{_canonical(when.astimezone(UTC).isoformat())},"before":null,"object_id":'
        )
        self._tail = f',"organization":{_canonical(organization_id)},"prev_hash":'
        self._types: dict[str, str] = {}
        self._reason = f',"reason":{_canonical(reason)},"sequence":'
        self._constant = (db_datetime(when), actor_id, username, organization_id, action)
        self._reason_text = reason
        self._rows = BulkInsert(
            AuditEvent,
            [
                "sequence", "at", "actor", "actor_username", "organization", "action",
                "object_type", "object_id", "object_repr", "before", "after", "reason",
                "prev_hash", "hash",
            ],
            session=session,
        )  # fmt: skip

    def add(
        self, object_type: str, object_id: str, object_repr: str, after: dict[str, Any]
    ) -> None:
        """One event about ``object_type`` ``object_id``; ``after`` must hold JSON values only
        (see ``normalise``)."""
        self.add_json(object_type, object_id, object_repr, _canonical(after))

    def add_json(self, object_type: str, object_id: str, object_repr: str, after: str) -> None:
        """``add`` with ``after`` already written as canonical JSON (``sort_keys``, separators
        ``,`` and ``:``, no ASCII escaping): the caller vouches for the form, and
        ``audit_verify`` finds any mistake."""
        self.sequence += 1
        after_text = after
        object_repr = object_repr[:200]
        type_text = self._types.get(object_type)
        if type_text is None:
            type_text = self._types[object_type] = _canonical(object_type)
        canonical = (
            f"{self._head}{after_text}{self._middle}{_json_string(object_id)},"
            f'"object_repr":{_json_string(object_repr)},"object_type":{type_text}'
            f'{self._tail}"{self.previous}"{self._reason}{self.sequence}}}'
        )
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        at, actor_id, username, organization_id, action = self._constant
        self._rows.add(
            (
                self.sequence, at, actor_id, username, organization_id, action, object_type,
                object_id, object_repr, None, after_text, self._reason_text, self.previous,
                digest,
            )
        )  # fmt: skip
        self.previous = digest
        self.count += 1

    def flush(self) -> None:
        """Send the rows still held (to the session's writer, when there is one)."""
        self._rows.flush()

    def close(self) -> int:
        """Write what is left and move the chain head past this batch (after the session, if
        any, has drained)."""
        self._rows.close()
        if self.count:
            AuditChainHead.objects.filter(pk=1).update(sequence=self.sequence, hash=self.previous)
        return self.count
