"""``biobank retention`` asks every area that keeps records for a fixed period."""

from __future__ import annotations

from datetime import date
from io import StringIO

from django.core.management import call_command

from biobank.core import retention


def test_biosafety_and_ethics_register_their_listers():
    assert {"biosafety", "ethics"} <= set(retention._LISTERS)


def test_rows_come_sorted_by_end_of_retention(monkeypatch):
    row = retention.Purgeable
    monkeypatch.setattr(
        retention,
        "_LISTERS",
        {
            "b": lambda as_of, org: [row("X", "b.thing", "2", "late", date(2020, 5, 1), "R-2")],
            "a": lambda as_of, org: [row("X", "a.thing", "1", "early", date(2020, 1, 1), "R-1")],
        },
    )
    assert [r.id for r in retention.purgeable(date(2026, 1, 1))] == ["1", "2"]
    out = StringIO()
    call_command("retention", "--as-of", "2026-01-01", stdout=out)
    lines = out.getvalue().splitlines()
    assert "kept until 2020-01-01  R-1  early" in lines[0]
    assert lines[-1] == "2 record(s) may be purged"


def test_a_wrong_day_or_organization_is_refused(db):
    import pytest
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--as-of"):
        call_command("retention", "--as-of", "2026-13-01")
    with pytest.raises(CommandError, match="no organization"):
        call_command("retention", "--organization", "NOPE")
