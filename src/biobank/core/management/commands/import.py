from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from biobank.core.importing import MAX_ERRORS_SHOWN, importers
from biobank.core.tabular import TabularError


class Command(BaseCommand):
    help = (
        "Import a CSV or XLSX file, all-or-nothing: 'import participants FILE --organization CODE'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(importers()), help="what the file holds")
        parser.add_argument("file", type=Path)
        parser.add_argument("--organization", required=True, help="organization code")
        parser.add_argument("--dry-run", action="store_true", help="validate only, write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        # records created here (obligation titles) are written in the platform's language
        with translation.override(settings.LANGUAGE_CODE):
            self._handle(**options)

    def _handle(self, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        started = time.monotonic()

        phase_started: dict[str, float] = {}

        def progress(rows: int, fraction: float | None = None, phase: str = "") -> None:
            if phase not in phase_started:
                if phase_started:
                    sys.stderr.write("\n")
                phase_started[phase] = time.monotonic()
            seconds = time.monotonic() - phase_started[phase]
            line = f"\r{phase or 'checking'}: {rows:,} rows"
            if seconds > 0:
                line += f", {rows / seconds:,.0f} rows/s"
            if fraction:
                line += f", {fraction:.0%}"
                line += f", ETA {seconds * (1 - fraction) / fraction:,.0f} s"
            sys.stderr.write(line.ljust(72))
            sys.stderr.flush()

        try:
            report = importers()[options["kind"]](
                path,
                organization_code=options["organization"],
                dry_run=options["dry_run"],
                progress=progress,
            )
        except TabularError as exc:
            raise CommandError(str(exc)) from exc
        sys.stderr.write("\n")
        elapsed = time.monotonic() - started
        if not report.ok:
            for error in report.errors:
                self.stderr.write(str(error))
            shown = min(report.error_count, MAX_ERRORS_SHOWN)
            raise CommandError(
                f"{report.error_count} error(s) in {report.rows} rows "
                f"(first {shown} shown); nothing was written"
            )
        verb = "would import" if report.dry_run else "imported"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {report.created} {report.kind} from {report.rows} rows in {elapsed:.1f} s"
            )
        )
