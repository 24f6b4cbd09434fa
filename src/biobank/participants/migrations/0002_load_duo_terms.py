"""Load the DUO terms from participants/data/duo_terms.csv (data, not code)."""

import csv
from pathlib import Path

from django.db import migrations

DUO_FILE = Path(__file__).resolve().parent.parent / "data" / "duo_terms.csv"


def load(apps, schema_editor):
    DuoTerm = apps.get_model("participants", "DuoTerm")
    with DUO_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # parents first: create every row without its parent, then link
    for row in rows:
        DuoTerm.objects.update_or_create(
            id=row["id"],
            defaults={
                "shorthand": row["shorthand"],
                "kind": row["kind"],
                "label_en": row["label_en"],
                "label_zh": row["label_zh"],
                "parent": None,
            },
        )
    for row in rows:
        if row["parent"]:
            DuoTerm.objects.filter(id=row["id"]).update(parent_id=row["parent"])


def unload(apps, schema_editor):
    apps.get_model("participants", "DuoTerm").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("participants", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
