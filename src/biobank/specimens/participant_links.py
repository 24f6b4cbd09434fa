"""What the specimens app tells the participants app (HB-03): the material a participant's
withdrawal concerns, and blocking it at once."""

from __future__ import annotations

from biobank.core.audit import audit_record
from biobank.core.models import AuditEvent, User
from biobank.participants.models import Participant
from biobank.participants.rules import HeldItem
from biobank.specimens.models import Specimen

HELD = [
    Specimen.Status.EXPECTED,
    Specimen.Status.COLLECTED,
    Specimen.Status.RECEIVED,
    Specimen.Status.IN_PROCESS,
    Specimen.Status.AVAILABLE,
    Specimen.Status.RESERVED,
    Specimen.Status.MISSING,
]


def held_specimens(participant: Participant) -> list[HeldItem]:
    specimens = (
        Specimen.objects.filter(participant=participant, status__in=HELD)
        .select_related("material_type")
        .order_by("barcode")
    )
    return [
        HeldItem(
            key=s.barcode, description=f"{s.barcode} {s.material_type.label}", delinked=s.delinked
        )
        for s in specimens
    ]


def block_withdrawn(participant: Participant, actor: User | None) -> None:
    """Every specimen of the participant becomes unavailable for new use (HB-03), each with its
    own audit event by the person who recorded the withdrawal."""
    _flag(
        participant, actor, "consent_withdrawn", f"participant {participant.code} withdrew (HB-03)"
    )


def mark_delinked(participant: Participant, actor: User | None) -> None:
    """Delinked material stays, marked delinked (HB-01); HB-03 keeps it after a withdrawal."""
    _flag(participant, actor, "delinked", f"participant {participant.code} delinked (HB-01)")


def _flag(participant: Participant, actor: User | None, field: str, reason: str) -> None:
    """Set ``field`` on each of the participant's specimens that lacks it: one update, and an
    audit event per specimen (a few per participant), inside the caller's transaction."""
    changed = list(
        Specimen.objects.filter(participant=participant, **{field: False})
        .select_related("organization")
        .order_by("pk")
    )
    Specimen.objects.filter(pk__in=[s.pk for s in changed]).update(**{field: True})
    for specimen in changed:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            organization=specimen.organization,
            instance=specimen,
            object_repr=specimen.barcode,
            before={field: False},
            after={field: True},
            reason=reason,
        )
