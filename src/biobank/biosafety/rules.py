"""Biosafety rules as pure functions (BS-01 … BS-15, HP-01 … HP-05, TD-01). No database.

Two regimes share one design: ``"animal"`` (動物感染性生物材料管理辦法, seed 001, BS rules) and
``"human"`` (感染性生物材料管理辦法 L0050029, HP rules). The numbers that differ between them
(intervals, clocks, thresholds, retention) are data in ``data/regimes.json``, each with its rule
ID and article; this module holds the logic. Rules the seed states for the animal regime only
(BS-04's exceptions, the responsible person, signage, spills in transport) read the animal data.

Clocks: hours run on the clock; days are counted by ``legal_deadline`` (the first day is not
counted, a deadline on a day off moves to the next working day, TD-01); months end on the same
day number (or the month's last day) and, for a report to an authority, move off a day off too.
Calendar dates are Taiwan dates (Asia/Taipei).
"""

from __future__ import annotations

import calendar as _gregorian
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from biobank.core.calendar import Overrides, add_working_days, legal_deadline
from biobank.core.rule_registry import implements

REGIMES_FILE = Path(__file__).resolve().parent / "data" / "regimes.json"
TAIPEI = ZoneInfo("Asia/Taipei")

Regime = Literal["animal", "human"]
TrainingKind = Literal["course", "operating_test"]
Number = Decimal | int | float

# rule: BS-08 — what §6 asks the entrance sign to show.
SIGNAGE_FIELDS = (
    "biosafety_level",
    "biohazard_sign",
    "supervisor_name",
    "manager_name",
    "phone",
    "emergency_contact",
    "emergency_measures",
)

# rule: BS-02 — transport classes (UN Model Regulations, as in IATA DGR and ADR): category A
# affecting humans (zoonotic agents included) → UN2814, affecting animals only → UN2900, both in
# P620; category B → UN3373 in P650; risk group 1 and exempt specimens → not subject to the UN
# numbers (triple packaging marked "exempt"). Annex 1 of seed 001 is not in the seed.
PACKAGING = {
    "exempt": (None, "Exempt specimen", None),
    "UN3373": ("UN3373", "Biological substance, Category B", "P650"),
    "UN2814": ("UN2814", "Infectious substance, affecting humans", "P620"),
    "UN2900": ("UN2900", "Infectious substance, affecting animals only", "P620"),
}


@dataclass(frozen=True)
class Figure:
    """One number of regimes.json with where it comes from."""

    value: int
    unit: str
    rule: str
    article: str


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    rule: str
    missing: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class LabLevel:
    minimum: str
    needs_reassessment: bool
    needs_committee_approval: bool
    reason: str
    rule: str
    reassess_up_to: str | None = None


@dataclass(frozen=True)
class ApprovalRoute:
    approvers: tuple[str, ...]
    committee_mandatory: bool
    reason: str
    rule: str


@dataclass(frozen=True)
class CommitteeDecision:
    required: bool
    alternative: str | None
    reason: str
    rule: str

    def __bool__(self) -> bool:
        return self.required


@dataclass(frozen=True)
class MaterialClass:
    material_class: int | None
    reason: str
    rule: str


@dataclass(frozen=True)
class Packaging:
    category: str
    un_number: str | None
    shipping_name: str
    packing_instruction: str | None
    reason: str
    rule: str


@dataclass(frozen=True)
class Deadline:
    """An obligation's clock. ``provisional``: counted from another deadline, not a fact yet."""

    key: str
    due: datetime | date
    rule: str
    article: str
    reason: str
    provisional: bool = False


@dataclass(frozen=True)
class DrillDue:
    """``due`` is None when no such drill is on record: it is due now."""

    key: str
    due: date | None
    rule: str
    article: str
    reason: str


@dataclass(frozen=True)
class TrainingRecord:
    """A course attended (``hours``, ``recognised`` by the central authority) or an operating
    test (``passed``). A course with ``passed=False`` was not completed and does not count."""

    on: date
    hours: Decimal
    recognised: bool = False
    kind: TrainingKind = "course"
    passed: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "hours", _decimal(self.hours))
        if self.hours < 0:
            raise ValueError(f"training hours cannot be negative, not {self.hours}")
        if self.kind not in get_args(TrainingKind):
            raise ValueError(f"unknown training record kind {self.kind!r}")


@dataclass(frozen=True)
class TrainingStatus:
    compliant: bool
    missing: tuple[str, ...]
    reason: str
    rule: str
    pre_start_hours: Decimal
    next_annual_due: date | None

    def __bool__(self) -> bool:
        return self.compliant


# Data ----------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def regimes() -> dict[str, Any]:
    with REGIMES_FILE.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def regime_data(regime: str) -> dict[str, Any]:
    if regime not in get_args(Regime):
        raise ValueError(f"unknown regime {regime!r}; expected 'animal' or 'human'")
    data: dict[str, Any] = regimes()[regime]
    return data


def figure(regime: str, *path: str) -> Figure:
    """The number at ``path`` in a regime, e.g. ``figure("human", "inventory", "interval")``."""
    node: Any = regime_data(regime)
    for key in path:
        if not isinstance(node, dict) or key not in node:
            raise LookupError(f"regime {regime!r} has no figure {'/'.join(path)}")
        node = node[key]
    return Figure(node["value"], node["unit"], node["rule"], node["article"])


def _decimal(value: Number) -> Decimal:
    # str() first: Decimal(2.99) would carry the float's binary error into a boundary check.
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _risk_group(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
        raise ValueError(f"risk group must be 1 to 4, not {value!r}")
    return value


def _level(text: str, *, allow_none: bool = False) -> tuple[str, int]:
    """``"ABSL3"`` → ``("ABSL", 3)``; ``"none"`` → ``("none", 0)`` where allowed."""
    cleaned = text.strip().upper().replace("-", "")
    if cleaned == "NONE" and allow_none:
        return "none", 0
    for family in ("ABSL", "BSL"):
        rest = cleaned.removeprefix(family)
        if rest != cleaned and rest in {"1", "2", "3", "4"}:
            return family, int(rest)
    raise ValueError(f"{text!r} is not a containment level (BSL1-4, ABSL1-4)")


def add_months(day: date, months: int) -> date:
    """Same day number ``months`` later; the month's last day when it has no such day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = _gregorian.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _local_date(moment: datetime) -> date:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("use a timezone-aware datetime")
    return moment.astimezone(TAIPEI).date()


def _after_hours(moment: datetime, hours: int) -> datetime:
    _local_date(moment)
    return (moment.astimezone(UTC) + timedelta(hours=hours)).astimezone(TAIPEI)


# Materials, levels, approval -----------------------------------------------------------------


@implements("BS-01")
def material_class(
    kind: Literal["pathogen", "derivative", "substance"], *, confirmed: bool = True
) -> MaterialClass:
    """§2: class 1 pathogen, class 2 derivative, class 3 substance *confirmed* to contain either.

    An unconfirmed substance is not infectious material yet (a suspected-positive specimen
    follows BS-04 through §3.5)."""
    if kind == "pathogen":
        return MaterialClass(1, "the pathogen of a designated disease is class 1 (§2)", "BS-01")
    if kind == "derivative":
        return MaterialClass(2, "a derivative of such a pathogen is class 2 (§2)", "BS-01")
    if kind != "substance":
        raise ValueError(f"unknown material kind {kind!r}")
    if confirmed:
        return MaterialClass(3, "a substance confirmed to contain class 1 or 2 (§2)", "BS-01")
    return MaterialClass(None, "not confirmed to contain class 1 or 2: not classed", "BS-01")


@implements("BS-02")
def packaging_class(
    risk_group: int, *, category_a_pathogen: bool, exempt: bool, affects_humans: bool = True
) -> Packaging:
    """Transport class by risk group (§3.2): see ``PACKAGING`` for the mapping used."""
    _risk_group(risk_group)
    if category_a_pathogen and (exempt or risk_group == 1):
        raise ValueError("a category A pathogen is neither exempt nor risk group 1")
    if category_a_pathogen:
        category = "UN2814" if affects_humans else "UN2900"
        why = "category A, affecting humans" if affects_humans else "category A, animals only"
    elif exempt or risk_group == 1:
        category, why = "exempt", "exempt specimen or risk group 1 material"
    else:
        category, why = "UN3373", f"risk group {risk_group} material that is not category A"
    un_number, name, instruction = PACKAGING[category]
    return Packaging(category, un_number, name, instruction, why, "BS-02")


@implements("BS-04", "BS-03", "HP-01")
def required_lab_level(
    risk_group: int,
    *,
    animal: bool = False,
    propagating: bool = True,
    large_scale: bool = False,
    inactivated: bool = False,
) -> LabLevel:
    """The lowest containment level for work with material of ``risk_group`` (§3.4).

    Risk group n → level n, BSL for in-vitro work and ABSL for animal work (BS-03); risk group 3
    work that does not propagate the pathogen → level 2 or above; large-scale propagation →
    reassess, possibly one level higher or level 4; validly inactivated material of risk group
    ≥2 → a lower level only with committee approval (the minimum stays; the law sets no floor).
    Suspected-positive specimens follow the same rules (§3.5). HP-01 keeps these levels."""
    _risk_group(risk_group)
    if large_scale and not propagating:
        raise ValueError("large-scale propagation is propagating work")
    data = regime_data("animal")["lab_level"]
    family = "ABSL" if animal else "BSL"
    level, reasons = risk_group, [f"risk group {risk_group} → level {risk_group} (§3.4)"]
    exception = data["non_propagating"]
    if risk_group == exception["risk_group"] and not propagating:
        level = exception["minimum_level"]
        reasons = [
            f"risk group {risk_group} work that does not propagate the pathogen may be done at "
            f"{family}{level} or above ({exception['article']})"
        ]
    reassess_up_to = None
    if large_scale:
        scale = data["large_scale"]
        reassess_up_to = f"{family}{min(level + scale['levels_up'], scale['highest_level'])}"
        reasons.append(f"large-scale propagation: reassess, up to {reassess_up_to} if needed")
    approval = inactivated and risk_group >= data["inactivated"]["from_risk_group"]
    if approval:
        reasons.append("inactivated: a lower level needs committee approval (§3.4(3))")
    return LabLevel(
        minimum=f"{family}{level}",
        needs_reassessment=large_scale,
        needs_committee_approval=approval,
        reason="; ".join(reasons),
        rule="BS-04",
        reassess_up_to=reassess_up_to,
    )


@implements("BS-03", "BS-04")
def site_level_sufficient(site_level: str, required: str) -> Decision:
    """Whether a site of ``site_level`` may host work needing ``required``.

    Animal work (ABSL) needs an ABSL site; in-vitro work (BSL) may use a BSL or ABSL site of the
    level or above. A site without a level ("none") hosts only BSL1 work (risk group 1)."""
    site_family, site_number = _level(site_level, allow_none=True)
    need_family, need_number = _level(required)
    if site_family == "none":
        if (need_family, need_number) == ("BSL", 1):
            return Decision(True, "risk group 1 in-vitro work needs no containment", "BS-04")
        return Decision(False, f"a site without containment cannot host {required}", "BS-04")
    if need_family == "ABSL" and site_family != "ABSL":
        return Decision(False, f"animal work needs an ABSL site, not {site_level}", "BS-03")
    if site_number < need_number:
        return Decision(False, f"{site_level} is below the required {required}", "BS-04")
    return Decision(True, f"{site_level} meets {required}", "BS-04")


@implements("BS-10", "HP-01")
def approval_route(risk_group: int, *, regime: Regime) -> ApprovalRoute:
    """Who approves holding, using or changing material: the committee (or the responsible
    person), and for risk group 3-4 the central authority too (§8; HP-01). In the human regime
    risk group 3-4 also needs a committee, whatever the staff count (HP-01)."""
    _risk_group(risk_group)
    central = figure(regime, "approval", "central_from_risk_group")
    if risk_group < central.value:
        return ApprovalRoute(
            ("committee",), False, f"risk group {risk_group}: committee approval", central.rule
        )
    return ApprovalRoute(
        ("committee", "central_authority"),
        regime == "human",
        f"risk group {risk_group}: committee and central authority approval ({central.article})",
        central.rule,
    )


# Committee and responsible person ------------------------------------------------------------


@implements("BS-06", "HP-01")
def committee_required(
    staff_count: int, *, regime: Regime, risk_group: int | None = None
) -> CommitteeDecision:
    """A biosafety committee, or may a responsible person (animal, fewer than 5 staff, §4.1) or
    biosafety officer (human, fewer than 30 staff, HP-01) serve instead? Pass the highest
    ``risk_group`` held: in the human regime risk group 3-4 needs a committee (HP-01)."""
    if isinstance(staff_count, bool) or not isinstance(staff_count, int) or staff_count < 0:
        raise ValueError(f"staff count must be a whole number ≥ 0, not {staff_count!r}")
    threshold = figure(regime, "committee", "required_from_staff")
    alternative = "responsible_person" if regime == "animal" else "biosafety_officer"
    if regime == "human" and risk_group is not None:
        by_risk = figure(regime, "committee", "required_from_risk_group")
        if _risk_group(risk_group) >= by_risk.value:
            reason = f"risk group {risk_group} is held only where a committee exists"
            return CommitteeDecision(True, None, reason, by_risk.rule)
    if staff_count >= threshold.value:
        reason = f"{staff_count} staff: a committee is required from {threshold.value}"
        return CommitteeDecision(True, None, reason, threshold.rule)
    reason = f"{staff_count} staff (fewer than {threshold.value}): a {alternative} may serve"
    return CommitteeDecision(False, alternative, reason, threshold.rule)


@implements("BS-06")
def responsible_person_qualified(years_lab_experience: Number, training_hours: Number) -> Decision:
    """§4.4: ≥3 years of lab work and ≥16 hours of centrally run or recognised biosafety
    training (biosafety knowledge is for the committee to judge)."""
    years = figure("animal", "committee", "responsible_person_experience")
    hours = figure("animal", "committee", "responsible_person_training")
    missing = []
    if _decimal(years_lab_experience) < years.value:
        missing.append(f"{years.value} years of lab experience ({years_lab_experience} given)")
    if _decimal(training_hours) < hours.value:
        missing.append(f"{hours.value} hours of recognised training ({training_hours} given)")
    if missing:
        return Decision(False, "needs " + " and ".join(missing), "BS-06", tuple(missing))
    return Decision(True, "experience and training suffice (§4.4)", "BS-06")


@implements("BS-06", "TD-01")
def committee_change_report_due(
    changed_on: date, *, overrides: Overrides | None = None
) -> Deadline:
    """Forming or changing the committee (or responsible person) is reported to the central
    authority within one month (§4.5), moved off a day off (TD-01)."""
    months = figure("animal", "committee", "change_report")
    due = legal_deadline(add_months(changed_on, months.value), 0, overrides=overrides)
    reason = f"report to the central authority within {months.value} month"
    return Deadline("committee_change_report", due, months.rule, months.article, reason)


# Sites, records, training --------------------------------------------------------------------


@implements("BS-08")
def signage_fields_missing(sign: Mapping[str, object]) -> Decision:
    """§6: the entrance sign shows every field of ``SIGNAGE_FIELDS``."""
    missing = tuple(name for name in SIGNAGE_FIELDS if not sign.get(name))
    if missing:
        return Decision(False, "the sign lacks " + ", ".join(missing), "BS-08", missing)
    return Decision(True, "the sign shows everything §6 asks for", "BS-08")


@implements("BS-05", "BS-06", "BS-07", "BS-09", "BS-12", "BS-15", "HP-04")
def retention_until(
    record_kind: str, recorded_on: date, *, regime: Regime, controlled: bool = False
) -> date:
    """The last day a record must be kept. Kinds are the keys of the regime's ``retention``;
    ``controlled`` (human regime: a controlled pathogen's disposal or incident record) selects
    ``retention_controlled`` where it has the kind. A zoonotic pathogen falls under both
    regimes (§3.1): keep the record until the later date."""
    data = regime_data(regime)
    if record_kind not in data["retention"]:
        raise ValueError(f"unknown record kind {record_kind!r} in the {regime} regime")
    special = controlled and record_kind in data["retention_controlled"]
    years = figure(regime, "retention_controlled" if special else "retention", record_kind)
    return add_months(recorded_on, 12 * years.value)


@implements("BS-09")
def operating_tester_qualified(*, is_lab_supervisor: bool, years_experience: Number) -> Decision:
    """§7.3: the operating test is given by the lab supervisor or someone with ≥2 years of
    relevant experience."""
    needed = figure("animal", "training", "operating_tester_experience")
    if is_lab_supervisor:
        return Decision(True, "the lab supervisor may test", needed.rule)
    if _decimal(years_experience) >= needed.value:
        return Decision(True, f"{years_experience} years of experience", needed.rule)
    reason = f"a tester needs {needed.value} years of experience ({years_experience} given)"
    return Decision(False, reason, needed.rule, ("tester experience",))


@implements("BS-09", "HP-05")
def training_status(
    records: Iterable[TrainingRecord],
    *,
    started_on: date,
    lab_level: str,
    as_of: date,
    regime: Regime = "animal",
) -> TrainingStatus:
    """Whether a lab worker's training is complete as of ``as_of`` (§7; HP-05).

    Before starting work (on or before ``started_on``): ≥8 course hours, all from centrally
    recognised courses at level 3 and above. Each full year in post, counted from
    ``started_on`` (the day after it to the anniversary): ≥4 hours. A passed operating test on
    record (animal regime, §7.3; RULES.md gives no such test for the human regime)."""
    new_staff = figure(regime, "training", "new_staff_hours")
    recognised_from = figure(regime, "training", "recognised_from_level")
    annual = figure(regime, "training", "annual_hours")
    _family, level = _level(lab_level, allow_none=True)
    known = [record for record in records if record.on <= as_of and record.passed]
    courses = [record for record in known if record.kind == "course"]
    must_be_recognised = level >= recognised_from.value
    pre_start = sum(
        (
            c.hours
            for c in courses
            if c.on <= started_on and (c.recognised or not must_be_recognised)
        ),
        Decimal(0),
    )
    missing = []
    if pre_start < new_staff.value:
        kind = "centrally recognised " if must_be_recognised else ""
        missing.append(
            f"{new_staff.value} hours of {kind}training before starting work "
            f"({pre_start} on record)"
        )
    year, next_due = 0, None
    while True:
        begins, ends = add_months(started_on, 12 * year), add_months(started_on, 12 * (year + 1))
        if ends > as_of:
            next_due = ends if as_of >= started_on else None
            break
        hours = sum((c.hours for c in courses if begins < c.on <= ends), Decimal(0))
        if hours < annual.value:
            missing.append(f"{annual.value} hours in the year to {ends} ({hours} on record)")
        year += 1
    tested = any(record.kind == "operating_test" for record in known)
    if "operating_tester_experience" in regime_data(regime)["training"] and not tested:
        missing.append("a passed operating test (§7.3)")
    reason = "training complete" if not missing else "missing: " + "; ".join(missing)
    return TrainingStatus(not missing, tuple(missing), reason, new_staff.rule, pre_start, next_due)


# Periodic duties and clocks ------------------------------------------------------------------


@implements("BS-11", "HP-02")
def inventory_due(last_done: date, *, regime: Regime) -> Deadline:
    """The next inventory (盤點): 6 months after the last (animal, §9.1), 3 months (human,
    HP-02). A duty of the unit, not a filing: the date is not moved off days off."""
    interval = figure(regime, "inventory", "interval")
    due = add_months(last_done, interval.value)
    reason = f"inventory every {interval.value} months"
    return Deadline("inventory", due, interval.rule, interval.article, reason)


@implements("BS-11", "HP-03", "TD-01")
def anomaly_deadlines(
    noticed_at: datetime,
    *,
    regime: Regime,
    risk_group: int,
    material_class: int | None,
    major: bool = False,
    investigation_closed_on: date | None = None,
    overrides: Overrides | None = None,
) -> list[Deadline]:
    """The clocks an inventory anomaly starts, from the regime's ``anomaly`` list.

    An entry applies when ``risk_group`` reaches its ``min_risk_group`` and ``material_class``
    matches its ``material_class``, or when ``major`` and the entry counts major anomalies too
    (animal §9.2: "或其他重大異常情形"). Hours run on the clock from ``noticed_at``; days are
    counted from its Taiwan date by ``legal_deadline``. A report counted from the investigation
    (its completion, animal; its committee approval, human) uses ``investigation_closed_on``
    when known, else the investigation's own deadline, and is then ``provisional``."""
    _risk_group(risk_group)
    if material_class is not None and material_class not in {1, 2, 3}:
        raise ValueError(f"material class must be 1, 2 or 3, not {material_class!r}")
    if regime == "animal" and material_class is None:
        raise ValueError("the animal regime needs the material class (BS-01)")
    noticed_on = _local_date(noticed_at)
    if investigation_closed_on is not None and investigation_closed_on < noticed_on:
        raise ValueError("the investigation cannot close before the anomaly was noticed")
    found: dict[str, Deadline] = {}
    days: dict[str, date] = {}  # day deadlines by key, for entries counted from another
    for entry in regime_data(regime)["anomaly"]:
        fits = (
            risk_group >= entry.get("min_risk_group", 1)
            and entry.get("material_class", material_class) == material_class
        )
        if not (fits or (major and entry.get("major_too", False))):
            continue
        amount, unit, provisional = entry["value"], entry["unit"], False
        due: date | datetime
        if unit == "hours":
            due = _after_hours(noticed_at, amount)
        elif entry["from"] == "notice":
            due = days[entry["key"]] = legal_deadline(noticed_on, amount, overrides=overrides)
        else:
            start = investigation_closed_on
            if start is None:
                start, provisional = days[entry["from"]], True
            due = days[entry["key"]] = legal_deadline(start, amount, overrides=overrides)
        reason = f"{entry['key'].replace('_', ' ')} within {amount} {unit}"
        found[entry["key"]] = Deadline(
            entry["key"], due, entry["rule"], entry["article"], reason, provisional
        )
    return list(found.values())


@implements("BS-12", "HP-05")
def drill_due(
    last_yearly: date | None, last_full_scale: date | None, *, regime: Regime
) -> list[DrillDue]:
    """Drills due next: a field drill every year (animal §10.2; HP-05), and in the human regime a
    full-scale drill every 3 years. A full-scale drill also counts as the year's drill."""
    data = regime_data(regime)["drills"]
    held = [day for day in (last_yearly, last_full_scale) if day is not None]
    plan = [("yearly", max(held) if held else None)]
    if "full_scale" in data:
        plan.append(("full_scale", last_full_scale))
    dues = []
    for key, last in plan:
        every = figure(regime, "drills", key)
        due = add_months(last, every.value) if last is not None else None
        label = key.replace("_", "-")
        reason = (
            f"a {label} drill every {every.value} months"
            if last is not None
            else f"no {label} drill on record: due now"
        )
        dues.append(DrillDue(key, due, every.rule, every.article, reason))
    return dues


@implements("BS-13")
def resumption_allowed(*, committee_confirmed: bool, authority_consented: bool) -> Decision:
    """§11.2: material suspended after an incident is used again only once the committee has
    confirmed it is safe and the local and central authorities have consented."""
    missing = tuple(
        name
        for name, done in (
            ("committee confirmation", committee_confirmed),
            ("authority consent", authority_consented),
        )
        if not done
    )
    if missing:
        return Decision(False, "resuming needs " + " and ".join(missing), "BS-13", missing)
    return Decision(True, "confirmed by the committee and consented by the authorities", "BS-13")


@implements("BS-14")
def spill_report_due(notified_at: datetime) -> list[Deadline]:
    """§12: on notice of a spill in transport the unit acts and tells the committee at once,
    and reports to the local and central authorities within 24 hours (on the clock)."""
    dues = []
    for key in ("committee_notice", "authority_report"):
        clock = figure("animal", "spill_in_transport", key)
        due = _after_hours(notified_at, clock.value)
        when = "immediately" if clock.value == 0 else f"within {clock.value} hours"
        reason = f"{key.replace('_', ' ')} {when}"
        dues.append(Deadline(key, due, clock.rule, clock.article, reason))
    return dues


@implements("HP-04", "TD-01")
def transfer_report_due(received_on: date, *, overrides: Overrides | None = None) -> Deadline:
    """A controlled pathogen received by transfer is reported within 2 working days (§36)."""
    clock = figure("human", "transfer", "authority_report")
    due = add_working_days(received_on, clock.value, overrides=overrides)
    reason = f"report the transfer within {clock.value} working days"
    return Deadline("transfer_report", due, clock.rule, clock.article, reason)


@implements("BS-11", "HP-03", "TD-01")
def investigation_report_due(
    completed_on: date, *, regime: Regime, overrides: Overrides | None = None
) -> Deadline:
    """The investigation report to the authorities, counted from the day the investigation
    completed (animal: 3 days, §9.2) or the committee approved it (human: 7 days, §24)."""
    for entry in regime_data(regime)["anomaly"]:
        if entry["from"] != "notice" and entry["unit"] == "days":
            due = legal_deadline(completed_on, entry["value"], overrides=overrides)
            reason = f"investigation report within {entry['value']} days after the investigation"
            return Deadline(entry["key"], due, entry["rule"], entry["article"], reason)
    raise LookupError(f"the {regime} regime has no investigation report clock")


# Incidents, emergency plan, assignments ------------------------------------------------------

# rule: BS-13 — incident levels 1-4 (作業場所生物安全意外事件等級, annex 4 of seed 001). The
# annex is not in the seed: the labels below are a working grading, not the annex's text.
INCIDENT_LEVELS = {
    1: "contained in the lab, nobody exposed",
    2: "people possibly exposed, or material outside primary containment",
    3: "people exposed or infected, or material released outside the lab",
    4: "material released outside the facility",
}
# From this level an incident counts as a "major" anomaly of §9.2 and starts the authorities'
# 24-hour clock (see ``incident_deadlines``).
INCIDENT_MAJOR_FROM_LEVEL = 2

# rule: BS-12 — the eight parts of the emergency plan (§10.1 items 1-8).
EMERGENCY_PLAN_PARTS = (
    "response_team",  # 緊急應變小組及任務
    "grading_and_risk_assessment",  # 意外事件等級鑑定及風險評估
    "alert_handling_reporting",  # 意外事件之警示、處理及通報機制
    "supplies_inventory",  # 緊急應變物資庫存管理
    "medical_procedure",  # 緊急醫療救護程序
    "responder_protection",  # 應變人員之安全防護措施
    "evacuation",  # 緊急應變疏散程序及其他因應措施
    "cleanup_and_investigation",  # 災害區域清潔、消毒、整治…善後處理措施及調查報告
)


@implements("BS-12")
def emergency_plan_complete(parts: Mapping[str, object]) -> Decision:
    """§10.1: the plan covers all eight parts of ``EMERGENCY_PLAN_PARTS``."""
    missing = tuple(name for name in EMERGENCY_PLAN_PARTS if not str(parts.get(name) or "").strip())
    if missing:
        return Decision(False, "the plan lacks " + ", ".join(missing), "BS-12", missing)
    return Decision(True, "the plan covers the eight parts of §10.1", "BS-12")


def _incident_level(level: int) -> int:
    if isinstance(level, bool) or not isinstance(level, int) or level not in INCIDENT_LEVELS:
        raise ValueError(f"an incident level is 1 to 4, not {level!r}")
    return level


@implements("BS-13", "BS-14", "BS-11", "TD-01")
def incident_deadlines(
    noticed_at: datetime,
    *,
    level: int,
    in_transport: bool = False,
    infectious: bool = True,
    investigation_closed_on: date | None = None,
    overrides: Overrides | None = None,
) -> list[Deadline]:
    """The clocks an incident starts (§11: handled "per annex 4", which the seed lacks).

    A spill in transport of infectious material: the committee at once and the authorities
    within 24 hours (§12, ``spill_report_due``); of other material, none. An incident at a
    site: the committee's investigation within 7 days (§9.2, BS-06 duty), and from level
    ``INCIDENT_MAJOR_FROM_LEVEL`` it is a major anomaly of §9.2 too: the authorities within 24
    hours and the investigation report within 3 days of the investigation (``anomaly_deadlines``
    with ``major=True``)."""
    _incident_level(level)
    if in_transport:
        return spill_report_due(noticed_at) if infectious else []
    return anomaly_deadlines(
        noticed_at,
        regime="animal",
        risk_group=1,
        material_class=1,
        major=level >= INCIDENT_MAJOR_FROM_LEVEL,
        investigation_closed_on=investigation_closed_on,
        overrides=overrides,
    )


@implements("BS-09")
def assignment_allowed(site_level: str, status: TrainingStatus | None) -> Decision:
    """A person works at a BSL2/ABSL2 site or above only with complete training (§7)."""
    _family, number = _level(site_level, allow_none=True)
    if number < 2:
        return Decision(True, f"{site_level}: no training check below level 2", "BS-09")
    if status is None:
        return Decision(False, "no training on record", "BS-09", ("training records",))
    if not status.compliant:
        return Decision(False, status.reason, status.rule, status.missing)
    return Decision(True, "training complete", status.rule)
