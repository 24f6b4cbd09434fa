from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from biobank.core.models import Obligation
from biobank.core.services import obligation_notify


class Command(BaseCommand):
    help = "Obligations overdue or due within 7 days; 'notify' e-mails the responsible people."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", choices=["list", "notify"], default="list")
        parser.add_argument("--days", type=int, default=7, help="horizon in days (default 7)")
        parser.add_argument("--organization", help="only this organization code")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "notify":
            sent = obligation_notify(within_days=options["days"])
            for address, count in sent:
                self.stdout.write(f"notified {address}: {count} obligation(s)")
            self.stdout.write(self.style.SUCCESS(f"{len(sent)} message(s) sent"))
            return
        now = timezone.now()
        obligations = Obligation.objects.filter(
            state=Obligation.State.OPEN, due_at__lte=now + timedelta(days=options["days"])
        ).select_related("organization")
        if options["organization"]:
            obligations = obligations.filter(organization__code=options["organization"])
        rows = list(obligations.order_by("due_at"))
        for item in rows:
            flag = "OVERDUE" if item.due_at < now else "due    "
            when = timezone.localtime(item.due_at).strftime("%Y-%m-%d %H:%M")
            self.stdout.write(
                f"{flag} {when} {item.organization.code:<8} {item.rule_id}  {item.title}"
            )
        self.stdout.write(f"{len(rows)} obligation(s)")
