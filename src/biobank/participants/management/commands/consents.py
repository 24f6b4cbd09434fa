from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from biobank.participants.services import consents_expire


class Command(BaseCommand):
    help = "Consents: 'expire' marks consents past their period as expired (HR-04); run daily."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["expire"])

    def handle(self, *args: Any, **options: Any) -> None:
        count = consents_expire()
        self.stdout.write(self.style.SUCCESS(f"{count} consent(s) expired"))
