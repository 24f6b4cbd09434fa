from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParticipantsConfig(AppConfig):
    name = "biobank.participants"
    label = "participants"
    verbose_name = _("Participants and consent")

    def ready(self) -> None:
        from biobank.core.importing import register_importer
        from biobank.participants.imports import import_participants

        register_importer("participants", import_participants, permission="participant.manage")
