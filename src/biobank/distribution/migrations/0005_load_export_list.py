"""Load the standard export list (HB-05) from distribution/data/export_derivatives.csv: the
derivatives that may go abroad with the central authority's approval. Data, not code; each
biobank adds to it or strikes types off on the export list page."""

import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "export_derivatives.csv"


def load(apps, schema_editor):
    MaterialType = apps.get_model("specimens", "MaterialType")
    Entry = apps.get_model("distribution", "ExportListEntry")
    with DATA.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        material_type = MaterialType.objects.filter(
            organization__isnull=True, code=row["code"]
        ).first()
        if material_type is None:
            continue
        if Entry.objects.filter(
            organization__isnull=True, material_type=material_type, retired_at__isnull=True
        ).exists():
            continue
        Entry.objects.create(
            organization=None, material_type=material_type, listed=True, note=row["note"]
        )


def unload(apps, schema_editor):
    apps.get_model("distribution", "ExportListEntry").objects.filter(
        organization__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("distribution", "0004_export_list_entry"),
        ("specimens", "0002_load_reference_data"),
    ]
    operations = [migrations.RunPython(load, unload)]
