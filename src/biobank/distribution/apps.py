from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DistributionConfig(AppConfig):
    name = "biobank.distribution"
    label = "distribution"
    verbose_name = _("Distribution")

    def ready(self) -> None:
        from biobank.distribution import participant_links
        from biobank.participants import links

        links.register_recipient_source(participant_links.recipients_of)
        links.register_withdrawal_handler(participant_links.release_reservations)
