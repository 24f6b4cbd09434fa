"""``biobank retention [--as-of DAY] [--organization CODE]``: what may be purged."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from biobank.core.models import Organization
from biobank.core.retention import purgeable


class Command(BaseCommand):
    help = (
        "List the records whose retention period has ended and that may be purged "
        "(biosafety BS-05 … BS-15, HP-04; research ethics EC-10). Nothing is deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organization", help="only this organization code")
        parser.add_argument("--as-of", help="the day to judge on (YYYY-MM-DD; default today)")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = None
        if options["organization"]:
            organization = Organization.objects.filter(code=options["organization"]).first()
            if organization is None:
                raise CommandError(f"no organization {options['organization']!r}")
        try:
            as_of = (
                date.fromisoformat(options["as_of"]) if options["as_of"] else timezone.localdate()
            )
        except ValueError as exc:
            raise CommandError(f"--as-of: {exc}") from exc
        rows = purgeable(as_of, organization)
        for row in rows:
            self.stdout.write(
                f"{row.organization:<8} {row.kind:<28} {row.id:>8}  kept until {row.kept_until}"
                f"  {row.rule}  {row.label}"
            )
        self.stdout.write(f"{len(rows)} record(s) may be purged")
