"""What the specimens app tells the participants app (HB-03): the material a participant's
withdrawal concerns, and blocking it at once."""

from __future__ import annotations

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


def block_withdrawn(participant: Participant) -> None:
    """Every specimen of the participant becomes unavailable for new use (HB-03)."""
    Specimen.objects.filter(participant=participant).update(consent_withdrawn=True)


def mark_delinked(participant: Participant) -> None:
    """Delinked material stays, marked delinked (HB-01); HB-03 keeps it after a withdrawal."""
    Specimen.objects.filter(participant=participant).update(delinked=True)
