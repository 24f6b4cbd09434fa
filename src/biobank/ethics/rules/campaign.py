"""The auditing body's side of the MOHW audit (EC-01, EC-06 … EC-08, EC-12). No database.

作業程序 四 (who is audited, EC-01), 五 (application, EC-08), 七 and 十二 … 十三 (audit types,
follow-up draw and mandatory follow-up, EC-06), annex 6 note 2 (follow-up scope, EC-07) and
annexes 4-6 (agendas, EC-12).
"""

from __future__ import annotations

import csv
import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from functools import cache
from pathlib import Path

from biobank.core.calendar import Overrides, legal_deadline
from biobank.core.rule_registry import implements
from biobank.ethics.rules.audit import COMPLIANT, EXCELLENT, NA, NON_COMPLIANT, number_key
from biobank.ethics.rules.review import Decision

AGENDAS_FILE = Path(__file__).resolve().parents[1] / "data" / "agendas.csv"

# Who is audited (作業程序 四), rule: EC-01.
IRB_KINDS = ("foundation", "institution", "agency", "joint")

# Audit types (作業程序 七), rule: EC-06.
PERIODIC = "video"  # periodic: written review with a video interview (annex 4)
ONSITE = "onsite"  # periodic on-site (annex 5): auditors' call, or a new IRB's next year
FOLLOWUP = "followup"  # unscheduled on-site follow-up (annex 6)
AUDIT_TYPES = (PERIODIC, ONSITE, FOLLOWUP)

COMPLETION_DAYS = 5  # rule: EC-08, 作業程序 五(二) 「應於截止日起五日內完成補件」
FOLLOWUP_COMMON_SHARE = Fraction(3, 10)  # rule: EC-07, annex 6 note 2 ③ 「前30%」, exact
FOLLOWUP_COMMON_YEARS = 4  # rule: EC-07, annex 6 note 2 ③ 「近4年」
FOLLOWUP_MAX_SAMPLED = 4  # rule: EC-07, annex 6 note 2 ④
MANDATORY_ITEM = "1.4"

# Strictest first: a tie between auditors settles on the stricter rating.
_STRICTNESS = (NON_COMPLIANT, COMPLIANT, EXCELLENT, NA)

# Annex 1 fields (人體研究倫理審查委員會暨受試者保護查核申請書).
APPLICATION_FIELDS = (
    "institution_name",  # 申請審查會所屬機構名稱（全銜）
    "irb_name",  # 申請審查會名稱（全銜）
    "institution_type",  # 一、所屬機構類型：醫療機構 / 非醫療機構
    "category",  # 二、申請類別 (EC-01 kinds)
    "last_result",  # 三、最近一次查核結果: passed / failed / new
    "last_audit_year",  # 查核年度 (for passed / failed)
    "chair",  # 主任委員
    "contact",  # 聯絡人（職稱）
    "address",  # 地址
    "phone",  # 電話
    "fax",  # 傳真
    "email",  # 電子郵件帳號
)
APPLICATION_OPTIONAL = frozenset({"fax", "last_audit_year"})


@implements("EC-08")
def application_completion_due(window_closes: date, *, overrides: Overrides | None = None) -> date:
    """The last day to complete an incomplete application (EC-08): 5 days after the deadline,
    the first not counted, moved off a day off (TD-01)."""
    return legal_deadline(window_closes, COMPLETION_DAYS, overrides=overrides)


@implements("EC-08")
def application_missing(application: Mapping[str, str]) -> tuple[str, ...]:
    """The annex 1 fields still empty (EC-08); a passed or failed last audit needs its year."""
    missing = [
        name
        for name in APPLICATION_FIELDS
        if name not in APPLICATION_OPTIONAL and not str(application.get(name, "")).strip()
    ]
    if (
        application.get("last_result") in {"passed", "failed"}
        and not str(application.get("last_audit_year", "")).strip()
    ):
        missing.append("last_audit_year")
    if application.get("category") and application["category"] not in IRB_KINDS:
        missing.append("category")
    return tuple(missing)


@implements("EC-06")
def next_audit_type(*, passed: bool, newly_established: bool) -> str | None:
    """A newly established IRB that passes its periodic audit gets an on-site audit the next
    year (EC-06, 作業程序 七(四)); otherwise nothing is scheduled by the result itself."""
    return ONSITE if passed and newly_established else None


@dataclass(frozen=True)
class Draw:
    """A follow-up draw (EC-06): the seed and candidates reproduce ``drawn`` exactly."""

    seed: int
    candidates: tuple[str, ...]
    mandatory: tuple[str, ...]
    drawn: tuple[str, ...]
    rule: str = "EC-06"

    @property
    def selected(self) -> tuple[str, ...]:
        return self.mandatory + self.drawn


@implements("EC-06")
def followup_draw(
    candidates: Iterable[str], *, count: int, seed: int, mandatory: Iterable[str] = ()
) -> Draw:
    """Draw ``count`` IRBs by lot among the valid ones, besides the mandatory follow-ups
    (special events or complaints judged violations, or the rating meeting's decision).

    Candidates are sorted before the draw, so the same codes and seed always give the same
    result whatever order they come in; mandatory IRBs are not drawn again.
    """
    if count < 0:
        raise ValueError("count must not be negative (EC-06)")
    must = tuple(sorted(set(mandatory)))
    pool = tuple(sorted(set(candidates)))
    eligible = [code for code in pool if code not in must]
    # a seeded generator is the point: anyone can replay the draw (the seed comes from secrets)
    lottery = random.Random(seed)  # noqa: S311
    drawn = tuple(lottery.sample(eligible, min(count, len(eligible))))
    return Draw(seed, pool, must, drawn)


@dataclass(frozen=True)
class FollowUpScope:
    """What a follow-up audit looks at (EC-07)."""

    improvements: tuple[str, ...]  # ① findings of the last audit
    mandatory: tuple[str, ...]  # ② item 1.4, by the IRB's short self-assessment
    common: tuple[str, ...]  # ③ top 30 % of common findings over 4 years
    sampled: tuple[str, ...]  # ④ at most 4 sampled items
    rule: str = "EC-07"

    @property
    def items(self) -> tuple[str, ...]:
        return tuple(
            sorted(
                set(self.improvements + self.mandatory + self.common + self.sampled), key=number_key
            )
        )


@dataclass(frozen=True)
class PastAudit:
    """One announced audit of an earlier campaign, as plain data (EC-07)."""

    year: int
    audit_type: str
    ratings: Mapping[str, str]


@dataclass(frozen=True)
class CommonFindings:
    """Criteria by number of findings over the 4 campaign years before a follow-up (EC-07)."""

    first_year: int
    last_year: int
    audits: int  # periodic audits counted
    counts: dict[str, int]  # criterion → audits that rated it non-compliant
    common: tuple[str, ...]  # the top 30 % of the criteria with findings
    rule: str = "EC-07"


@implements("EC-07")
def findings_last_4_years(past: Iterable[PastAudit], *, year: int) -> dict[str, int]:
    """How many audited IRBs were rated non-compliant on each criterion (a finding: an
    improvement recommendation) in the periodic audits of the 4 campaign years before
    ``year`` (``year`` - 4 … ``year`` - 1; annex 6 note 2 ③ 「近4年受查審查會常見建議改善意見」).

    Follow-up audits are left out: they revisit IRBs already counted and would count the same
    finding twice. Criteria without a finding are not in the result.
    """
    counts: Counter[str] = Counter()
    for audit in past:
        if audit.audit_type == FOLLOWUP or not year - FOLLOWUP_COMMON_YEARS <= audit.year < year:
            continue
        counts.update(item for item, rating in audit.ratings.items() if rating == NON_COMPLIANT)
    return dict(sorted(counts.items(), key=lambda pair: number_key(pair[0])))


@implements("EC-07")
def common_findings(findings: Mapping[str, int]) -> tuple[str, ...]:
    """The criteria ranked in the top 30 % by number of findings (EC-07): of the criteria with
    at least one finding, the first ceil(30 %) by count, with every criterion tied at the cut
    (exact arithmetic: 10 criteria give 3, 11 give 4)."""
    ranked = sorted(
        ((item, n) for item, n in findings.items() if n > 0),
        key=lambda pair: (-pair[1], number_key(pair[0])),
    )
    cut = math.ceil(len(ranked) * FOLLOWUP_COMMON_SHARE)
    if not cut:
        return ()
    threshold = ranked[cut - 1][1]
    return tuple(sorted((item for item, n in ranked if n >= threshold), key=number_key))


@implements("EC-07")
def common_findings_for(past: Iterable[PastAudit], *, year: int) -> CommonFindings:
    """``findings_last_4_years`` and its top 30 % for a follow-up in campaign ``year``."""
    rows = list(past)
    counted = sum(
        1
        for a in rows
        if a.audit_type != FOLLOWUP and year - FOLLOWUP_COMMON_YEARS <= a.year < year
    )
    counts = findings_last_4_years(rows, year=year)
    return CommonFindings(
        first_year=year - FOLLOWUP_COMMON_YEARS,
        last_year=year - 1,
        audits=counted,
        counts=counts,
        common=common_findings(counts),
    )


@implements("EC-07")
def followup_scope(
    *,
    last_findings: Iterable[str],
    findings_last_4_years: Mapping[str, int],
    sampled: Sequence[str] = (),
) -> FollowUpScope:
    """The follow-up scope (EC-07, annex 6 note 2): the last audit's findings, item 1.4, the
    criteria ranked in the top 30 % by number of findings over the last 4 years (ties at the
    cut included), and at most 4 criteria sampled by the auditors."""
    if len(set(sampled)) > FOLLOWUP_MAX_SAMPLED:
        raise ValueError(f"at most {FOLLOWUP_MAX_SAMPLED} criteria may be sampled (EC-07)")
    return FollowUpScope(
        improvements=tuple(sorted(set(last_findings), key=number_key)),
        mandatory=(MANDATORY_ITEM,),
        common=common_findings(findings_last_4_years),
        sampled=tuple(sorted(set(sampled), key=number_key)),
    )


@implements("EC-06")
def mandatory_followup_check(*, mandatory: bool, grounds: str) -> Decision:
    """A mandatory follow-up needs its ground (作業程序 十二): a special event, news or complaint
    judged a violation, or the rating meeting's decision."""
    if mandatory and not grounds.strip():
        return Decision(False, "a mandatory follow-up states its grounds", "EC-06")
    return Decision(True, "", "EC-06")


@implements("EC-06")
def improvement_review_check(
    *,
    needs_improvement: bool,
    doubts_remain: bool,
    priority_followup: bool,
    shorten_to: date | None,
    valid_from: date | None,
    valid_until: date | None,
    reviewed_on: date,
) -> Decision:
    """The auditing body's review of an IRB's improvement after a follow-up rated "needs
    improvement" (作業程序 十三): with no doubt left nothing follows; if doubts remain, the IRB
    gets a priority follow-up next year or a shortened validity (or both). The procedure
    sets no length: a shortened validity ends on a day the body chooses, before the current
    end and not before the review."""
    if not needs_improvement:
        return Decision(False, "only a follow-up rated needs improvement is reviewed", "EC-06")
    if not doubts_remain:
        if priority_followup or shorten_to is not None:
            return Decision(
                False, "a priority follow-up or shorter validity needs remaining doubts", "EC-06"
            )
        return Decision(True, "improvement accepted", "EC-06")
    if not priority_followup and shorten_to is None:
        return Decision(
            False, "with doubts left, choose a priority follow-up or a shorter validity", "EC-06"
        )
    if shorten_to is not None:
        if valid_until is None or valid_from is None:
            return Decision(False, "the IRB has no validity to shorten", "EC-06")
        if not shorten_to < valid_until:
            return Decision(False, "a shortened validity ends before the current end", "EC-06")
        if shorten_to < max(reviewed_on, valid_from):
            return Decision(
                False, "a shortened validity cannot end before the review or its start", "EC-06"
            )
    return Decision(True, "doubts remain", "EC-06")


def consolidate_ratings(sheets: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """One rating per item from the auditors' sheets: the most common, a tie going to the
    stricter rating (the rating meeting confirms the result, 作業程序 九)."""
    if not sheets:
        raise ValueError("no auditor has rated yet")
    items = set().union(*sheets)
    consolidated = {}
    for item in items:
        votes = Counter(sheet[item] for sheet in sheets if item in sheet)
        top = max(votes.values())
        consolidated[item] = next(r for r in _STRICTNESS if votes.get(r) == top)
    return consolidated


@dataclass(frozen=True)
class AgendaStep:
    position: int
    step_zh: str
    step_en: str
    minutes: tuple[int, int]
    in_total: bool


@cache
def _agenda_rows() -> tuple[dict[str, str], ...]:
    with AGENDAS_FILE.open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


@implements("EC-12")
def agenda(audit_type: str, irb_count: int) -> tuple[tuple[AgendaStep, ...], tuple[int, int]]:
    """The schedule of annex 4 (video), 5 (on-site) or 6 (follow-up) for an institution with
    ``irb_count`` IRBs, and its total minutes (min, max) as the annex counts them (EC-12)."""
    if audit_type not in AUDIT_TYPES:
        raise ValueError(f"unknown audit type {audit_type!r} (EC-12)")
    if irb_count < 1:
        raise ValueError("an audit covers at least one IRB (EC-12)")
    column = "single" if irb_count == 1 else "multi"
    steps = tuple(
        AgendaStep(
            int(row["position"]),
            row["step_zh"],
            row["step_en"],
            (int(row[f"{column}_min"]), int(row[f"{column}_max"])),
            row["in_total"] == "1",
        )
        for row in _agenda_rows()
        if row["audit_type"] == audit_type
    )
    counted = [s.minutes for s in steps if s.in_total]
    return steps, (sum(m[0] for m in counted), sum(m[1] for m in counted))
