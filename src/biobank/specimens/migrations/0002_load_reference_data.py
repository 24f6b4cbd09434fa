"""Load material categories, material types and storage temperature classes (BB-03) from
specimens/data/*.csv: data, not code."""

import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data"


def _rows(name):
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load(apps, schema_editor):
    Category = apps.get_model("specimens", "MaterialCategory")
    MaterialType = apps.get_model("specimens", "MaterialType")
    Temperature = apps.get_model("specimens", "StorageTemperature")
    for row in _rows("categories.csv"):
        Category.objects.update_or_create(
            code=row["code"], defaults={"label_en": row["label_en"], "label_zh": row["label_zh"]}
        )
    for row in _rows("storage_temperatures.csv"):
        Temperature.objects.update_or_create(
            code=row["code"],
            defaults={
                "label_en": row["label_en"],
                "label_zh": row["label_zh"],
                "min_c": row["min_c"] or None,
                "max_c": row["max_c"] or None,
                "standard_code": row["standard_code"],
            },
        )
    rows = _rows("material_types.csv")
    by_code = {}
    for row in rows:
        by_code[row["code"]], _ = MaterialType.objects.update_or_create(
            code=row["code"],
            organization=None,
            defaults={
                "label_en": row["label_en"],
                "label_zh": row["label_zh"],
                "category_id": row["category"],
                "standard": row["standard"],
                "standard_code": row["standard_code"],
                "miabis_code": row["miabis_code"],
                "sprec_code": row["sprec_code"],
                "snomed_code": row["snomed_code"],
                "acquired_form_ok": row["acquired_form_ok"] == "1",
            },
        )
    for row in rows:
        material_type = by_code[row["code"]]
        if row["parent"]:
            material_type.parent = by_code[row["parent"]]
            material_type.save(update_fields=["parent"])
        sources = [by_code[code] for code in row["derivable_from"].split() if code]
        material_type.derivable_from.set(sources)


def unload(apps, schema_editor):
    apps.get_model("specimens", "MaterialType").objects.filter(organization=None).delete()
    apps.get_model("specimens", "StorageTemperature").objects.all().delete()
    apps.get_model("specimens", "MaterialCategory").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("specimens", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
