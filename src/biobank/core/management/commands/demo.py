from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import translation

from biobank.core.demo import DemoContext


class Command(BaseCommand):
    help = "Load the demo data (organization DEMO, its sites, one user per role); idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        # records created here (obligation titles) are written in the platform's language
        with translation.override(settings.LANGUAGE_CODE):
            self._handle(**options)

    def _handle(self, **options: Any) -> None:
        context = DemoContext()
        with transaction.atomic():
            # core first, then every other app that ships a demo module, in INSTALLED_APPS order
            for config in apps.get_app_configs():
                if not config.name.startswith("biobank."):
                    continue
                try:
                    module = importlib.import_module(f"{config.name}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name == f"{config.name}.demo":
                        continue
                    raise
                module.load(context)
        self.stdout.write(self.style.SUCCESS("Demo data loaded. Demo users (user / password):"))
        for username, password, name, org, role in context.credentials:
            self.stdout.write(f"  {username:<9} {password:<22} {org:<9} {name} ({role})")
