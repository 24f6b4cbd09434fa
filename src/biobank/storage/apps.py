from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StorageConfig(AppConfig):
    name = "biobank.storage"
    label = "storage"
    verbose_name = _("Storage")

    def ready(self) -> None:
        from biobank.core.importing import register_importer
        from biobank.specimens import links
        from biobank.storage import services
        from biobank.storage.imports import import_readings, import_storage

        links.register_release_handler(services.release_position)
        register_importer("storage", import_storage, permission="storage.manage")
        register_importer("temperatures", import_readings, permission="storage.manage")
