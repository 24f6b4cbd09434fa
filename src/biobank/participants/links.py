"""What other apps hold of a participant, for the withdrawal preview (HB-03).

The specimens app registers a source of held material, distribution a source of recipients;
participants does not import them (apps depend on participants, not the other way round).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from biobank.participants.rules import HeldItem, Recipient

if TYPE_CHECKING:
    from biobank.core.models import User
    from biobank.participants.models import Participant

MaterialSource = Callable[["Participant"], list[HeldItem]]
RecipientSource = Callable[["Participant"], list[Recipient]]
# called with the participant and the person who recorded the change (None: the system)
WithdrawalHandler = Callable[["Participant", "User | None"], None]

_material_sources: list[MaterialSource] = []
_recipient_sources: list[RecipientSource] = []
_withdrawal_handlers: list[WithdrawalHandler] = []
_delink_handlers: list[WithdrawalHandler] = []


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


def register_withdrawal_handler(handler: WithdrawalHandler) -> None:
    """Called inside the withdrawal's transaction: block the participant's material at once."""
    if handler not in _withdrawal_handlers:
        _withdrawal_handlers.append(handler)


def withdrawn(participant: Participant, actor: User | None) -> None:
    for handler in _withdrawal_handlers:
        handler(participant, actor)


def register_delink_handler(handler: WithdrawalHandler) -> None:
    """Called inside the delinking's transaction: mark the participant's material delinked."""
    if handler not in _delink_handlers:
        _delink_handlers.append(handler)


def delinked(participant: Participant, actor: User | None) -> None:
    for handler in _delink_handlers:
        handler(participant, actor)
