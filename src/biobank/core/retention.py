"""What may be purged: each area lists its records whose retention period has ended.

Areas register a lister in their ``AppConfig.ready`` (as importers do); ``biobank retention``
prints what every lister finds. Nothing is deleted here: a person purges through the area's own
service, which refuses before the end of the period with the rule that sets it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from biobank.core.models import Organization


@dataclass(frozen=True)
class Purgeable:
    """A record whose retention period ended before the day asked about."""

    organization: str  # its organization's code
    kind: str  # app label and model, e.g. ``biosafety.incident``
    id: str
    label: str
    kept_until: date
    rule: str  # the rule that sets the period


Lister = Callable[[date, Organization | None], Iterable[Purgeable]]

_LISTERS: dict[str, Lister] = {}


def register_retention(area: str, lister: Lister) -> None:
    """Let ``biobank retention`` ask ``lister(as_of, organization)`` for ``area``'s records."""
    _LISTERS[area] = lister


def purgeable(as_of: date, organization: Organization | None = None) -> list[Purgeable]:
    """Every area's records that may be purged on ``as_of``, oldest end of retention first."""
    found = [
        row for _area, lister in sorted(_LISTERS.items()) for row in lister(as_of, organization)
    ]
    return sorted(found, key=lambda row: (row.kept_until, row.organization, row.kind, row.id))
