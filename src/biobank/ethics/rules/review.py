"""Rules of the review itself (HR-01, HR-03, EC-09, EC-10). No database, no request.

人體研究法 §5 and §8 set three review types (exempt, expedited, full board); MOHW's lists of
research that may be exempted (得免倫理審查委員會審查之人體研究案件範圍) or reviewed by the
expedited procedure (得簡化倫理審查委員會審查程序之人體研究案件範圍) give the reasons, kept
here as codes the pages translate. §17 asks for a review of every approved project at least once
a year; criterion 3.2 lets the IRB review more often by risk. L0020179 §14: the grounds of a
suspension or termination are notified within 14 days. Criterion 5.2: files are kept until 3
years after the project ends (EC-10).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from biobank.core.calendar import Overrides, legal_deadline
from biobank.core.rule_registry import implements

# Kinds of submission.
NEW = "new"
AMENDMENT = "amendment"
CONTINUING = "continuing"
SAE = "sae"
DEVIATION = "deviation"
SUSPENSION = "suspension"  # suspension or termination
CLOSURE = "closure"
SUBMISSION_KINDS = (NEW, AMENDMENT, CONTINUING, SAE, DEVIATION, SUSPENSION, CLOSURE)

# Review types, rule: HR-01.
EXEMPT = "exempt"
EXPEDITED = "expedited"
FULL = "full"
REVIEW_TYPES = (EXEMPT, EXPEDITED, FULL)

# Risk of a protocol (criterion 2.9, 3.2).
MINIMAL = "minimal"
MORE_THAN_MINIMAL = "more_than_minimal"
HIGH = "high"
RISKS = (MINIMAL, MORE_THAN_MINIMAL, HIGH)

# Reasons a review type may be chosen (HR-01). Codes; the English text is for the pages.
REVIEW_TYPE_REASONS: dict[str, dict[str, str]] = {
    EXEMPT: {
        "public_non_interactive": "non-interactive, non-invasive research in public places that "
        "cannot identify anyone",
        "public_information": "uses only lawfully public information",
        "policy_evaluation": "public-policy evaluation by a public agency in its legal duties",
        "education_evaluation": "educational assessment or teaching evaluation in a normal "
        "teaching setting",
        "anonymous_minimal_risk": "minimal-risk, non-interactive research on adults that cannot "
        "identify anyone",
    },
    EXPEDITED: {
        "minimal_risk": "no more than minimal risk to participants",
        "minor_amendment": "a minor change to an approved protocol",
        "continuing_no_new_risk": "continuing review with no new risk and no new enrolment",
        "existing_records": "data or specimens already collected for other purposes",
        "small_blood_draw": "small-volume blood collection from healthy adults",
        "voice_image_records": "voice, video or image recordings for research",
    },
    FULL: {
        "more_than_minimal_risk": "more than minimal risk to participants",
        "vulnerable_participants": "includes vulnerable participants",
        "new_medical_technology": "a new medical technology, drug or device trial",
        "committee_decision": "the committee or a reviewer asked for full-board review",
        "serious_event": "a serious adverse event, deviation, suspension or termination that "
        "needs the full board",
    },
}

# How often an approved project is reviewed again, by risk (HR-03: at least once a year).
MAX_CONTINUING_REVIEW_MONTHS = 12
CONTINUING_REVIEW_MONTHS = {MINIMAL: 12, MORE_THAN_MINIMAL: 6, HIGH: 3}
SUSPENSION_NOTICE_DAYS = 14  # rule: HR-03, L0020179 §14
RETENTION_YEARS = 3  # rule: EC-10, criterion 5.2


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    rule: str

    def __bool__(self) -> bool:
        return self.allowed


@implements("HR-01")
def review_type_check(
    *, kind: str, review_type: str, reasons: Sequence[str], risk: str
) -> Decision:
    """Whether ``review_type`` may be used for a submission of ``kind`` on a protocol of
    ``risk``, with the reasons given (HR-01).

    At least one reason from the type's list; exempt only for a new protocol of minimal risk; a
    protocol of more than minimal risk gets a full-board review of its new submission.
    """
    if kind not in SUBMISSION_KINDS:
        return Decision(False, f"unknown kind of submission {kind!r}", "HR-01")
    if review_type not in REVIEW_TYPES:
        return Decision(False, f"unknown review type {review_type!r}", "HR-01")
    if risk not in RISKS:
        return Decision(False, f"unknown risk {risk!r}", "HR-01")
    allowed = REVIEW_TYPE_REASONS[review_type]
    if not reasons:
        return Decision(False, f"a {review_type} review needs at least one reason", "HR-01")
    unknown = [r for r in reasons if r not in allowed]
    if unknown:
        return Decision(
            False, f"{', '.join(unknown)} is not a reason for a {review_type} review", "HR-01"
        )
    if review_type == EXEMPT and (kind != NEW or risk != MINIMAL):
        return Decision(
            False, "only a new protocol of minimal risk may be exempted from review", "HR-01"
        )
    if kind == NEW and risk != MINIMAL and review_type != FULL:
        return Decision(
            False, "a new protocol of more than minimal risk needs a full-board review", "HR-01"
        )
    return Decision(
        True, f"{review_type} review: {'; '.join(allowed[r] for r in reasons)}", "HR-01"
    )


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


@implements("HR-03")
def continuing_review_due(approved_on: date, *, risk: str, months: int | None = None) -> date:
    """The day the next continuing review is due (HR-03): at most a year after the approval,
    sooner by risk (criterion 3.2) or when the committee sets a shorter interval."""
    interval = CONTINUING_REVIEW_MONTHS[risk] if months is None else months
    if not 1 <= interval <= MAX_CONTINUING_REVIEW_MONTHS:
        raise ValueError(
            f"a continuing review interval of {interval} months is not between 1 and "
            f"{MAX_CONTINUING_REVIEW_MONTHS} (HR-03)"
        )
    return _add_months(approved_on, interval)


@implements("HR-03")
def suspension_notice_due(decided_on: date, *, overrides: Overrides | None = None) -> date:
    """The last day to notify the grounds of a suspension or termination (HR-03, L0020179 §14):
    14 days, the first not counted, moved off a day off (TD-01)."""
    return legal_deadline(decided_on, SUSPENSION_NOTICE_DAYS, overrides=overrides)


@implements("EC-10")
def retention_until(ended_on: date) -> date:
    """The last day a project's files must be kept (EC-10, criterion 5.2): 3 years after the
    project ends. After it the files may be purged, which the system lists but never does."""
    try:
        return ended_on.replace(year=ended_on.year + RETENTION_YEARS)
    except ValueError:  # 29 February
        return date(ended_on.year + RETENTION_YEARS, 2, 28)


@implements("EC-10")
def purgeable(ended: Iterable[tuple[str, date]], *, today: date) -> list[str]:
    """The projects (code, end date) whose retention has passed on ``today`` (EC-10)."""
    return sorted(code for code, end in ended if retention_until(end) < today)


@dataclass(frozen=True)
class NoticeShare:
    """Criterion 2.17: how many decisions were notified within 14 working days (EC-09)."""

    decided: int
    on_time: int
    late: int
    pending: int

    @property
    def ratio(self) -> float | None:
        done = self.on_time + self.late
        return self.on_time / done if done else None


@implements("EC-09")
def notice_share(notices: Iterable[tuple[date, date | None]], *, today: date) -> NoticeShare:
    """From (due, notified_on) pairs: on time, late, still pending (EC-09). A
    pending notice already past its due day counts as late."""
    decided = on_time = late = pending = 0
    for due, notified in notices:
        decided += 1
        if notified is None:
            if today > due:
                late += 1
            else:
                pending += 1
        elif notified <= due:
            on_time += 1
        else:
            late += 1
    return NoticeShare(decided, on_time, late, pending)
