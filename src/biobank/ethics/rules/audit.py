"""IRB audit rules as pure functions (EC-02 … EC-05, EC-09). No database, no request.

The source is MOHW's 「人體研究倫理審查委員會暨受試者保護查核作業程序」 (衛部醫字第1111662565號,
2022-05-11): the procedure for auditing human-research ethics committees (IRBs). Its annex 3,
the audit criteria (查核基準), is data in ``data/criteria.csv``: 57 items in 7 chapters, each
item basic, mandatory 「必」, optional 「可」, or optional only for an IRB that has not passed a
periodic audit before 「*可」. Auditors rate every item excellent, compliant or non-compliant,
or not applicable (NA) where the item allows it; the IRB passes when at least 85 % of the rated
items are excellent or compliant and no mandatory item is non-compliant.

Reasons are plain English strings with the rule ID; the service that shows them translates.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from biobank.core.calendar import Overrides, add_working_days
from biobank.core.rule_registry import implements

CRITERIA_FILE = Path(__file__).resolve().parents[1] / "data" / "criteria.csv"
CRITERIA_COLUMNS = (
    "number",
    "chapter",
    "chapter_title_zh",
    "chapter_title_en",
    "text_zh",
    "text_en",
    "kind",
    "na_condition_zh",
    "na_condition_en",
)

# Kinds of criterion (查核基準使用說明 一), rule: EC-02.
BASIC = "basic"  # 基本項目
MANDATORY = "mandatory"  # 必要項目 「必」
OPTIONAL = "optional"  # 可選項目 「可」: NA where the item's condition holds
OPTIONAL_IF_NOT_PASSED = "optional_if_not_passed"  # 「*可」: NA only if never passed before
KINDS = frozenset({BASIC, MANDATORY, OPTIONAL, OPTIONAL_IF_NOT_PASSED})

# Ratings (查核基準使用說明 二), rule: EC-03.
EXCELLENT = "excellent"  # 優良
COMPLIANT = "compliant"  # 符合
NON_COMPLIANT = "non_compliant"  # 不符合
NA = "na"  # 不適用
RATINGS = frozenset({EXCELLENT, COMPLIANT, NON_COMPLIANT, NA})
PASSING_RATINGS = frozenset({EXCELLENT, COMPLIANT})

PASS_THRESHOLD = Fraction(85, 100)  # rule: EC-04, 查核基準使用說明 三 「達 85%以上」
VALIDITY_YEARS = 6  # rule: EC-05, 作業程序 十 「自公告次年度起為期 6 年」
NOTICE_WORKING_DAYS = 14  # rule: EC-09, criterion 2.17 「審查決定日起十四工作日內」

_NUMBER = re.compile(r"^([1-9]\d*)\.([1-9]\d*)$")


@dataclass(frozen=True)
class Criterion:
    """One audit criterion (查核基準項次), as the seed words it."""

    number: str
    chapter: int
    kind: str
    text_zh: str
    text_en: str
    na_condition_zh: str = ""
    na_condition_en: str = ""
    chapter_title_zh: str = ""
    chapter_title_en: str = ""

    def allows_na(self, *, previously_passed: bool) -> bool:
        """Whether this item may be rated NA (EC-03): optional items always (their condition
        is the auditors' call), 「*可」 items only for an IRB not previously passed."""
        if self.kind == OPTIONAL:
            return True
        if self.kind == OPTIONAL_IF_NOT_PASSED:
            return not previously_passed
        return False


@dataclass(frozen=True)
class AuditScore:
    """The outcome of one audit (EC-04). ``ratio`` is passing ÷ rated, NA items left out."""

    passed: bool
    ratio: float
    rated: int
    passing: int
    failed_mandatory: tuple[str, ...]
    reasons: tuple[str, ...]
    rule: str = "EC-04"


class RatingError(ValueError):
    """A rating sheet that cannot be scored; names every item at fault (EC-03, EC-04)."""

    rule = "EC-03"

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        self.items = tuple(self.problems)
        listed = "; ".join(f"item {number} {problem}" for number, problem in problems.items())
        super().__init__(f"cannot score the audit: {listed} (EC-03)")


def number_key(number: str) -> tuple[int, int]:
    """Sort key for item numbers, so that 1.10 follows 1.9."""
    match = _NUMBER.match(number)
    if match is None:
        raise ValueError(f"{number!r} is not an item number like '2.17'")
    return int(match.group(1)), int(match.group(2))


# Criteria ------------------------------------------------------------------------------------


@implements("EC-02")
def load_criteria(path: Path | str = CRITERIA_FILE) -> tuple[Criterion, ...]:
    """The audit criteria (EC-02) from a CSV with ``CRITERIA_COLUMNS``, in item order.

    Cached per path: the file is reference data that ships with the code. A malformed file
    (unknown column, kind or number; an item in the wrong chapter; a duplicate; an empty text)
    raises ``ValueError`` naming the line.
    """
    return _load_criteria(Path(path).resolve())


@lru_cache(maxsize=8)
def _load_criteria(path: Path) -> tuple[Criterion, ...]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != CRITERIA_COLUMNS:
            raise ValueError(f"{path.name}: columns must be {', '.join(CRITERIA_COLUMNS)}")
        criteria: dict[str, Criterion] = {}
        for row in reader:
            where = f"{path.name} line {reader.line_num}"
            number = row["number"]
            try:
                chapter, _ = number_key(number)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
            if row["chapter"] != str(chapter):
                raise ValueError(f"{where}: item {number} is not in chapter {row['chapter']}")
            if row["kind"] not in KINDS:
                raise ValueError(f"{where}: unknown kind {row['kind']!r}")
            if number in criteria:
                raise ValueError(f"{where}: item {number} appears twice")
            if not (row["text_zh"].strip() and row["text_en"].strip()):
                raise ValueError(f"{where}: item {number} has no text")
            criteria[number] = Criterion(
                number=number,
                chapter=chapter,
                kind=row["kind"],
                text_zh=row["text_zh"],
                text_en=row["text_en"],
                na_condition_zh=row["na_condition_zh"],
                na_condition_en=row["na_condition_en"],
                chapter_title_zh=row["chapter_title_zh"],
                chapter_title_en=row["chapter_title_en"],
            )
    return tuple(sorted(criteria.values(), key=lambda criterion: number_key(criterion.number)))


# Scoring -------------------------------------------------------------------------------------


def _na_refusal(criterion: Criterion) -> str:
    if criterion.kind == OPTIONAL_IF_NOT_PASSED:
        return "may be rated na only by an IRB that has not passed a periodic audit before"
    return f"is a {criterion.kind} item and cannot be rated na"


def _checked(
    ratings: Mapping[str, str], criteria: Sequence[Criterion], previously_passed: bool
) -> list[tuple[Criterion, str]]:
    """Every criterion with its rating, or ``RatingError`` naming each item at fault."""
    known = {criterion.number for criterion in criteria}
    problems: dict[str, str] = {}
    rated: list[tuple[Criterion, str]] = []
    for criterion in criteria:
        if criterion.number not in ratings:
            problems[criterion.number] = "is not rated"
            continue
        rating = ratings[criterion.number]
        if rating not in RATINGS:
            problems[criterion.number] = (
                f"has unknown rating {rating!r} (use excellent, compliant, non_compliant or na)"
            )
        elif rating == NA and not criterion.allows_na(previously_passed=previously_passed):
            problems[criterion.number] = _na_refusal(criterion)
        else:
            rated.append((criterion, rating))
    for number in ratings:
        if number not in known:
            problems[str(number)] = "is not an audit criterion"
    if problems:
        raise RatingError(problems)
    return rated


def _percent(value: Fraction) -> str:
    """One decimal, truncated, so that a ratio just below 85 % never reads as 85.0 %."""
    tenths = math.floor(value * 1000)
    return f"{tenths // 10}.{tenths % 10} %"


@implements("EC-03", "EC-04")
def score_audit(
    ratings: Mapping[str, str],
    *,
    previously_passed: bool,
    criteria: Sequence[Criterion] | None = None,
) -> AuditScore:
    """Score one audit (EC-03 ratings, EC-04 pass rule).

    ``ratings`` maps every item number ("1.1" … "7.2") to ``excellent``, ``compliant``,
    ``non_compliant`` or ``na``. NA is accepted for optional 「可」 items, and for 「*可」 items
    only when the IRB has not passed a periodic audit before (``previously_passed`` False). A
    missing or unknown item, an unknown rating or a refused NA raises ``RatingError`` (a
    ``ValueError``) naming every item at fault.

    The IRB passes when (excellent + compliant) ÷ rated items, NA excluded, is at least 85 %,
    compared as exact fractions so that exactly 85 % passes, and no mandatory 「必」 item is
    non-compliant.
    """
    items = _checked(ratings, load_criteria() if criteria is None else criteria, previously_passed)
    counted = [(criterion, rating) for criterion, rating in items if rating != NA]
    if not counted:
        raise ValueError("cannot score the audit: every item is na (EC-04)")
    rated = len(counted)
    passing = sum(1 for _, rating in counted if rating in PASSING_RATINGS)
    failed_mandatory = tuple(
        criterion.number
        for criterion, rating in counted
        if criterion.kind == MANDATORY and rating == NON_COMPLIANT
    )
    ratio = Fraction(passing, rated)
    enough = ratio >= PASS_THRESHOLD
    excluded = len(items) - rated

    share = f"{passing} of {rated} rated items ({_percent(ratio)}) are excellent or compliant"
    reasons = [f"{share}, {'at least' if enough else 'below'} the 85 % needed (EC-04)"]
    if excluded == 1:
        reasons.append("1 item rated na is left out of the ratio (EC-04)")
    elif excluded:
        reasons.append(f"{excluded} items rated na are left out of the ratio (EC-04)")
    reasons += [
        f"mandatory item {number} is non-compliant, which fails the audit whatever the ratio "
        "(EC-04)"
        for number in failed_mandatory
    ]
    return AuditScore(
        passed=enough and not failed_mandatory,
        ratio=float(ratio),
        rated=rated,
        passing=passing,
        failed_mandatory=failed_mandatory,
        reasons=tuple(reasons),
    )


@implements("EC-04")
def what_would_pass(
    ratings: Mapping[str, str],
    *,
    previously_passed: bool,
    criteria: Sequence[Criterion] | None = None,
) -> int:
    """How many more items must become excellent or compliant for the audit to pass (EC-04).

    For the self-assessment page: 0 when the ratings already pass. Otherwise every
    non-compliant mandatory item (``score_audit(...).failed_mandatory``) must be among them,
    so the count is those items plus however many other non-compliant items are still needed
    to reach 85 % of the rated items. NA ratings stay as they are: whether an item applies is
    a fact about the IRB, not something to improve. Validates like ``score_audit``.
    """
    score = score_audit(ratings, previously_passed=previously_passed, criteria=criteria)
    if score.passed:
        return 0
    mandatory = len(score.failed_mandatory)
    shortfall = math.ceil(PASS_THRESHOLD * score.rated - (score.passing + mandatory))
    return mandatory + max(0, shortfall)


# Validity and deadlines ----------------------------------------------------------------------


@implements("EC-05")
def audit_validity(
    announced_on: date,
    *,
    passed: bool,
    previously_passed: bool,
    lapsed_over_one_year: bool = False,
) -> tuple[date, date] | None:
    """The first and last day an audit result is valid (合格效期, EC-05; 作業程序 十).

    None when the IRB did not pass: the procedure grants no validity then. An IRB that had
    passed a periodic audit before, with no break in its validity of more than a year, is
    valid for 6 years from the year after the announcement (1 January of the next year to 31
    December of the sixth). An IRB passing for the first time (「未經定期查核通過之審查會」),
    or whose validity lapsed for more than a year, is valid from the announcement date to the
    end of the next year, when a new IRB also gets its on-site audit (EC-06).
    """
    if not passed:
        return None
    if previously_passed and not lapsed_over_one_year:
        return date(announced_on.year + 1, 1, 1), date(announced_on.year + VALIDITY_YEARS, 12, 31)
    return announced_on, date(announced_on.year + 1, 12, 31)


@implements("EC-09")
def review_notice_due(decided_on: date, *, overrides: Overrides | None = None) -> date:
    """The last day to notify the principal investigator of a review result (EC-09).

    Criterion 2.17: within 14 working days of the decision, on the Taiwan working-day calendar
    (TD-01); the decision day itself is not counted (行政程序法 §48). ``overrides`` (date →
    is working day) replaces the ``CalendarOverride`` table, keeping the call database-free.
    """
    return add_working_days(decided_on, NOTICE_WORKING_DAYS, overrides=overrides)
