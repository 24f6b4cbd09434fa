"""Load the rule registry from core/data/rules.json (data, not code)."""

import json
from pathlib import Path

from django.db import migrations

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "rules.json"


def load_rules(apps, schema_editor):
    Rule = apps.get_model("core", "Rule")
    for row in json.loads(RULES_FILE.read_text(encoding="utf-8")):
        Rule.objects.update_or_create(
            id=row["id"],
            defaults={
                "title_zh": row["title_zh"],
                "title_en": row["title_en"],
                "source": row["source"],
                "article": row.get("article", ""),
                "area": row["area"],
            },
        )


def unload_rules(apps, schema_editor):
    Rule = apps.get_model("core", "Rule")
    ids = [row["id"] for row in json.loads(RULES_FILE.read_text(encoding="utf-8"))]
    Rule.objects.filter(id__in=ids).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(load_rules, unload_rules)]
