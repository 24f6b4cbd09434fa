"""What other apps hold of a participant, for the withdrawal preview (HB-03).

The specimens app registers a source of held material, distribution a source of recipients;
participants does not import them (apps depend on participants, not the other way round).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from biobank.participants.rules import HeldItem, Recipient

if TYPE_CHECKING:
    from biobank.participants.models import Participant

MaterialSource = Callable[["Participant"], list[HeldItem]]
RecipientSource = Callable[["Participant"], list[Recipient]]

_material_sources: list[MaterialSource] = []
_recipient_sources: list[RecipientSource] = []


def register_material_source(source: MaterialSource) -> None:
    if source not in _material_sources:
        _material_sources.append(source)


def register_recipient_source(source: RecipientSource) -> None:
    if source not in _recipient_sources:
        _recipient_sources.append(source)


def held_items(participant: Participant) -> list[HeldItem]:
    return [item for source in _material_sources for item in source(participant)]


def recipients(participant: Participant) -> list[Recipient]:
    return [item for source in _recipient_sources for item in source(participant)]
