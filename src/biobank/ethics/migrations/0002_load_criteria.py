"""Load the 57 audit criteria (EC-02) from ethics/data/criteria.csv: data, not code."""

import csv
from pathlib import Path

from django.db import migrations

CRITERIA = Path(__file__).resolve().parent.parent / "data" / "criteria.csv"


def load(apps, schema_editor):
    Criterion = apps.get_model("ethics", "AuditCriterion")
    with CRITERIA.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            chapter, position = (int(part) for part in row["number"].split("."))
            Criterion.objects.update_or_create(
                number=row["number"],
                defaults={
                    "chapter": chapter,
                    "position": position,
                    "kind": row["kind"],
                    "text_zh": row["text_zh"],
                    "text_en": row["text_en"],
                    "na_condition_zh": row["na_condition_zh"],
                    "na_condition_en": row["na_condition_en"],
                },
            )


def unload(apps, schema_editor):
    apps.get_model("ethics", "AuditCriterion").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("ethics", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
