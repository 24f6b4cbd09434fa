"""Bulk imports: the shared report and the registry behind ``biobank import KIND FILE``.

Each app registers its importers in its ``AppConfig.ready``. Imports are all-or-nothing:
every row is validated first, every problem reported with row, column and reason, and nothing
is written unless every row is valid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

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


Progress = Callable[[int], None]


class Importer(Protocol):
    def __call__(
        self,
        path: Path,
        *,
        organization_code: str,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> ImportReport: ...


_IMPORTERS: dict[str, Importer] = {}


def register_importer(kind: str, importer: Importer) -> None:
    _IMPORTERS[kind] = importer


def importers() -> dict[str, Importer]:
    return dict(sorted(_IMPORTERS.items()))
