"""Bulk imports: the shared report and the registry behind ``biobank import KIND FILE``.

Each app registers its importers in its ``AppConfig.ready``. Imports are all-or-nothing:
every row is validated first, every problem reported with row, column and reason, and nothing
is written unless every row is valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from biobank.core.models import User

MAX_ERRORS_SHOWN = 1000


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        if self.row == 0:
            return self.message
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    dry_run: bool = False
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add_error(self, row: int, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_SHOWN:
            self.errors.append(RowError(row, column, message))


class Progress(Protocol):
    """Told how far an import is: ``rows`` read so far, ``fraction`` of the file read (0-1,
    when known, for an ETA) and the ``phase`` (``"checking"`` or ``"writing"``)."""

    def __call__(self, rows: int, fraction: float | None = None, phase: str = "") -> None: ...


class Importer(Protocol):
    """``actor`` is the person importing (None: the system, as in ``biobank import``); the
    importer checks their permission and records them in the audit trail."""

    def __call__(
        self,
        path: Path,
        *,
        organization_code: str,
        dry_run: bool = False,
        progress: Progress | None = None,
        actor: User | None = None,
    ) -> ImportReport: ...


_IMPORTERS: dict[str, Importer] = {}
_PERMISSIONS: dict[str, str] = {}


def register_importer(kind: str, importer: Importer, *, permission: str) -> None:
    """Offer ``importer`` as ``biobank import KIND`` and on the import page, to members holding
    ``permission`` in the organization imported into."""
    _IMPORTERS[kind] = importer
    _PERMISSIONS[kind] = permission


def importers() -> dict[str, Importer]:
    return dict(sorted(_IMPORTERS.items()))


def importer_permission(kind: str) -> str:
    return _PERMISSIONS[kind]
