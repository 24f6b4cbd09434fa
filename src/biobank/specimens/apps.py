from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SpecimensConfig(AppConfig):
    name = "biobank.specimens"
    label = "specimens"
    verbose_name = _("Specimens")

    def ready(self) -> None:
        from biobank.core.importing import register_importer
        from biobank.participants import links
        from biobank.specimens import participant_links
        from biobank.specimens.imports import import_collections, import_specimens

        register_importer("collections", import_collections, permission="collection.manage")
        register_importer("specimens", import_specimens, permission="specimen.manage")

        links.register_material_source(participant_links.held_specimens)
        links.register_withdrawal_handler(participant_links.block_withdrawn)
        links.register_delink_handler(participant_links.mark_delinked)
