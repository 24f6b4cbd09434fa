from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BiosafetyConfig(AppConfig):
    name = "biobank.biosafety"
    label = "biosafety"
    verbose_name = _("Biosafety")
