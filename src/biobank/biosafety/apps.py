from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BiosafetyConfig(AppConfig):
    name = "biobank.biosafety"
    label = "biosafety"
    verbose_name = _("Biosafety")

    def ready(self) -> None:
        from biobank.biosafety.services.retention import retention_rows
        from biobank.core.retention import register_retention

        register_retention("biosafety", retention_rows)
