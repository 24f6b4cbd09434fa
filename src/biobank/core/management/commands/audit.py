from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from biobank.core.audit import audit_verify
from biobank.core.models import AuditEvent


class Command(BaseCommand):
    help = "Audit trail: 'verify' walks the hash chain; 'tail' prints the latest events."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="check that no event was altered, inserted or removed")
        tail = sub.add_parser("tail", help="print the latest events")
        tail.add_argument("-n", type=int, default=20)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "verify":
            report = audit_verify()
            if not report.ok:
                raise CommandError(str(report))
            self.stdout.write(self.style.SUCCESS(str(report)))
            return
        events = AuditEvent.objects.select_related("organization").order_by("-sequence")
        for event in reversed(list(events[: options["n"]])):
            org = event.organization.code if event.organization else "-"
            self.stdout.write(
                f"#{event.sequence} {event.at:%Y-%m-%d %H:%M:%S} {event.actor_username or 'system'}"
                f" {org} {event.action} {event.object_type}:{event.object_id} {event.object_repr}"
            )
