from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EthicsConfig(AppConfig):
    name = "biobank.ethics"
    label = "ethics"
    verbose_name = _("Research ethics")

    def ready(self) -> None:
        from biobank.core.retention import register_retention
        from biobank.ethics.selectors import ethics_purgeable

        register_retention("ethics", ethics_purgeable)
