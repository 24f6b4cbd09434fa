"""Seed the shared agent catalogue from data/agents.csv (each row names its source)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.db import migrations

AGENTS_CSV = Path(__file__).resolve().parents[1] / "data" / "agents.csv"


def rows() -> list[dict[str, str]]:
    with AGENTS_CSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load(apps: Any, schema_editor: Any) -> None:
    agent = apps.get_model("biosafety", "Agent")
    for row in rows():
        if agent.objects.filter(organization__isnull=True, code=row["code"]).exists():
            continue
        agent.objects.create(
            organization=None,
            code=row["code"],
            name=row["name"],
            name_zh=row["name_zh"],
            kind=row["kind"],
            taxonomy=row["taxonomy"],
            risk_group=int(row["risk_group"]),
            zoonotic=row["zoonotic"] == "1",
            controlled=row["controlled"] == "1",
            designated_animal_disease=row["designated_animal_disease"] == "1",
            disease=row["disease"],
            source=row["source"],
        )


def unload(apps: Any, schema_editor: Any) -> None:
    codes = [row["code"] for row in rows()]
    apps.get_model("biosafety", "Agent").objects.filter(
        organization__isnull=True, code__in=codes, materials__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("biosafety", "0001_register")]

    operations = [migrations.RunPython(load, unload)]
