"""The IRB's own records against the audit criteria: the 26 SOP topics (EC-11, criterion
1.1), declarations (1.5, 1.10) and training (1.11, 1.12). No database, no request."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from biobank.core.rule_registry import implements
from biobank.ethics.rules.review import _add_months

SOP_TOPICS_FILE = Path(__file__).resolve().parents[1] / "data" / "sop_topics.csv"
SOP_TOPIC_COUNT = 26  # rule: EC-11, annex 2 item 10
# Criterion 1.1 asks for SOPs "reviewed regularly, with records" and sets no period: this is
# the interval after which the register flags an SOP as stale; an IRB with a shorter cycle
# passes ``review_months``.
SOP_REVIEW_MONTHS = 24
TRAINING_WINDOW_MONTHS = 12  # criteria 1.11, 1.12: "regularly" — looked at over a year


@dataclass(frozen=True)
class SopTopic:
    topic: int
    title_zh: str
    title_en: str


@implements("EC-11")
@cache
def sop_topics() -> tuple[SopTopic, ...]:
    """The 26 SOP topics of annex 2 item 10 (EC-11), from ``data/sop_topics.csv``."""
    with SOP_TOPICS_FILE.open(encoding="utf-8", newline="") as handle:
        topics = tuple(
            SopTopic(int(row["topic"]), row["title_zh"], row["title_en"])
            for row in csv.DictReader(handle)
        )
    if [t.topic for t in topics] != list(range(1, SOP_TOPIC_COUNT + 1)):
        raise ValueError(f"{SOP_TOPICS_FILE.name} must list topics 1 to {SOP_TOPIC_COUNT}")
    return topics


@implements("EC-11")
def sop_stale(
    approved_on: date,
    reviewed_on: date | None,
    *,
    today: date,
    review_months: int = SOP_REVIEW_MONTHS,
) -> bool:
    """Whether an SOP is overdue for its periodic review (criterion 1.1, EC-11)."""
    last = max(approved_on, reviewed_on or approved_on)
    return _add_months(last, review_months) < today


@dataclass(frozen=True)
class SopCoverage:
    present: int
    missing: tuple[int, ...]
    stale: tuple[int, ...]

    @property
    def complete(self) -> bool:
        return not self.missing and not self.stale


@implements("EC-11")
def sop_coverage(
    documents: Iterable[tuple[int, date, date | None]],
    *,
    today: date,
    review_months: int = SOP_REVIEW_MONTHS,
) -> SopCoverage:
    """From (topic, approved_on, reviewed_on): which of the 26 topics are missing or stale."""
    have = {topic: (approved, reviewed) for topic, approved, reviewed in documents}
    missing = tuple(t.topic for t in sop_topics() if t.topic not in have)
    stale = tuple(
        sorted(
            topic
            for topic, (approved, reviewed) in have.items()
            if sop_stale(approved, reviewed, today=today, review_months=review_months)
        )
    )
    return SopCoverage(len(have), missing, stale)


def training_window_start(today: date) -> date:
    return _add_months(today, -TRAINING_WINDOW_MONTHS)


@dataclass(frozen=True)
class TrainingStatus:
    name: str
    hours: Decimal
    needs_induction: bool

    @property
    def trained(self) -> bool:
        return self.hours > 0 and not self.needs_induction


def training_status(
    name: str, hours: Iterable[Decimal], *, new_member: bool, had_induction: bool
) -> TrainingStatus:
    """Training of one person over the last year (1.11, 1.12): a new member needs an induction
    (職前教育); everyone needs some regular training."""
    return TrainingStatus(name, sum(hours, Decimal(0)), new_member and not had_induction)
