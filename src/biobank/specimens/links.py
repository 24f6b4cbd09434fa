"""What other apps learn from the specimens app without it importing them.

Storage registers a release handler: when a specimen leaves the stock (destroyed, depleted,
missing, distributed), its position is freed in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from biobank.core.models import User
    from biobank.specimens.models import Specimen

ReleaseHandler = Callable[["Specimen", "User | None", str], None]
_release_handlers: list[ReleaseHandler] = []


def register_release_handler(handler: ReleaseHandler) -> None:
    if handler not in _release_handlers:
        _release_handlers.append(handler)


def released(specimen: Specimen, actor: User | None, reason: str) -> None:
    for handler in _release_handlers:
        handler(specimen, actor, reason)
