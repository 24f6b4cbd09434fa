"""The rule registry: every rule of RULES.md as data, and the /rules/ page."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from biobank.core import services
from biobank.core.models import Rule
from biobank.core.rule_registry import enforced_by, implements
from tests.conftest import shared_path

RULES_JSON = Path(__file__).resolve().parents[2] / "src/biobank/core/data/rules.json"


def test_rules_file_has_every_rule_id_of_rules_md():
    text = shared_path("domain", "RULES.md").read_text(encoding="utf-8")
    wanted = sorted(set(re.findall(r"\*\*([A-Z]{2}-\d{2})", text)))
    rows = json.loads(RULES_JSON.read_text(encoding="utf-8"))
    assert [row["id"] for row in rows] == wanted


def test_every_rule_has_titles_in_both_languages_and_a_source():
    for row in json.loads(RULES_JSON.read_text(encoding="utf-8")):
        assert row["title_zh"] and row["title_en"] and row["source"], row["id"]


def test_migration_loaded_the_registry(db):
    rows = json.loads(RULES_JSON.read_text(encoding="utf-8"))
    assert Rule.objects.count() == len(rows)
    assert Rule.objects.get(id="TD-01").source.startswith("行政程序法")


def test_registry_knows_where_td01_is_enforced():
    where = enforced_by()["TD-01"]
    assert "biobank.core.calendar.add_working_days" in where
    assert "biobank.core.calendar.legal_deadline" in where


def test_implements_refuses_a_malformed_rule_id():
    import pytest

    with pytest.raises(ValueError):
        implements("BS9")


def test_rules_page_lists_rules_enforcement_and_open_obligations(cast, client):
    services.obligation_open(
        organization=cast.demo,
        rule_id="BS-11",
        title="Inventory",
        due_at=timezone.now() + timedelta(days=1),
    )
    services.obligation_open(
        organization=cast.other,
        rule_id="BS-11",
        title="Theirs",
        due_at=timezone.now() + timedelta(days=1),
    )
    client.force_login(cast.technician)
    response = client.get("/rules/")
    rows = {row.rule.id: row for row in response.context["rows"]}
    assert len(rows) == Rule.objects.count()
    assert rows["BS-11"].open_obligations == 1  # the other organization's is not counted
    assert "biobank.core.calendar.legal_deadline" in response.content.decode()
