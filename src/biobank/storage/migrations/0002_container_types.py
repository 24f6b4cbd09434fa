"""Standard container types with their default geometry (editable: data, not code)."""

from django.db import migrations

TYPES = [
    ("BOX-9X9", "冷凍盒 9 × 9 (81)", "box", 9, 9, "alpha", "row"),
    ("BOX-10X10", "冷凍盒 10 × 10 (100)", "box", 10, 10, "alpha", "row"),
    ("BOX-12X12", "冷凍盒 12 × 12 (144)", "box", 12, 12, "alpha", "row"),
    ("BOX-5X5", "冷凍盒 5 × 5 (25, 5 mL)", "box", 5, 5, "alpha", "row"),
    ("PLATE-96", "96 孔盤 8 × 12", "plate", 8, 12, "alpha", "column"),
    ("PLATE-384", "384 孔盤 16 × 24", "plate", 16, 24, "alpha", "column"),
    ("RACK-4X5", "冷凍架 (20 盒)", "rack", None, None, "alpha", "row"),
    ("FREEZER-80", "-80 °C 超低溫冷凍櫃", "freezer", None, None, "alpha", "row"),
    ("LN2-TANK", "液態氮桶", "ln2_tank", None, None, "alpha", "row"),
]


def load(apps, schema_editor):
    ContainerType = apps.get_model("storage", "ContainerType")
    for code, name, kind, rows, columns, scheme, order in TYPES:
        ContainerType.objects.update_or_create(
            organization=None,
            code=code,
            defaults={"name": name, "kind": kind, "rows": rows, "columns": columns,
                      "scheme": scheme, "order": order},
        )


def unload(apps, schema_editor):
    apps.get_model("storage", "ContainerType").objects.filter(
        organization=None, code__in=[t[0] for t in TYPES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("storage", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
