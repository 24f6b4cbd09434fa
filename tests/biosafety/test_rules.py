"""Biosafety rules (BS-01 … BS-15, HP-01 … HP-05, TD-01): pure functions and their regime data."""

from __future__ import annotations

import inspect
import json
import re
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import product
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biobank.biosafety import rules
from biobank.biosafety.rules import (
    REGIMES_FILE,
    SIGNAGE_FIELDS,
    TrainingRecord,
    anomaly_deadlines,
    approval_route,
    committee_change_report_due,
    committee_required,
    drill_due,
    figure,
    inventory_due,
    material_class,
    operating_tester_qualified,
    packaging_class,
    required_lab_level,
    responsible_person_qualified,
    resumption_allowed,
    retention_until,
    signage_fields_missing,
    site_level_sufficient,
    spill_report_due,
    training_status,
    transfer_report_due,
)
from biobank.core.calendar import is_working_day
from biobank.core.rule_registry import enforced_by
from tests.conftest import shared_path

TAIPEI = ZoneInfo("Asia/Taipei")
NO_OVERRIDES: dict[date, bool] = {}
REGIMES = ("animal", "human")
LEVELS = [f"{family}{n}" for family in ("BSL", "ABSL") for n in range(1, 5)]
SEED = "001_0380b063f3b83ff7.txt"
# Friday 2026-02-13, the last working day before the Lunar New Year break (14-22 February);
# Friday 27 and Saturday 28 February are the Peace Memorial Day holiday.
FRIDAY_BEFORE_NEW_YEAR = datetime(2026, 2, 13, 17, 0, tzinfo=TAIPEI)


def H(hours: str | int) -> Decimal:
    return Decimal(str(hours))


def course(on: date, hours: str | int, *, recognised: bool = False) -> TrainingRecord:
    return TrainingRecord(on=on, hours=H(hours), recognised=recognised)


def operating_test(on: date, *, passed: bool = True) -> TrainingRecord:
    return TrainingRecord(on=on, hours=H(0), kind="operating_test", passed=passed)


# Regime data -------------------------------------------------------------------------------------


def _rules_md() -> dict[str, str]:
    """Rule ID → its RULES.md bullet, bold markers removed."""
    text = shared_path("domain", "RULES.md").read_text(encoding="utf-8").replace("**", "")
    return {
        match.group(1): line
        for line in text.splitlines()
        if (match := re.match(r"- ([A-Z]{2}-\d{2})\b", line))
    }


def _numbered(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every object of the JSON that holds a number directly, with its path."""
    found = []
    if isinstance(node, dict):
        if any(isinstance(v, int | float) and not isinstance(v, bool) for v in node.values()):
            found.append((path, node))
        for key, value in node.items():
            found += _numbered(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _numbered(value, f"{path}[{index}]")
    return found


def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(REGIMES_FILE.read_text(encoding="utf-8"))
    return data


def _no_space(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_bs_hp_every_number_in_regimes_json_carries_a_rule_id_of_rules_md_and_its_article():
    by_id = _rules_md()
    numbered = _numbered(_data())
    assert len(numbered) > 40
    for path, entry in numbered:
        assert entry.get("rule") in by_id, path
        prefix = "BS-" if path.startswith("/animal") else "HP-"
        assert entry["rule"].startswith(prefix), path
        article = entry.get("article", "")
        assert article, path
        # the article cited in RULES.md's bullet for the rule, when it cites one
        heading = by_id[entry["rule"]].split(".")[0] if prefix == "BS-" else by_id[entry["rule"]]
        cited = set(re.findall(r"§(\d+)", heading))
        if cited:
            assert re.match(r"§(\d+)", article)[1] in cited, (path, article, cited)  # type: ignore[index]
        else:
            assert "not cited" in article, path


def test_bs_hp_quotes_come_from_the_seed_article_or_the_rules_md_bullet():
    seed = shared_path("seeds", SEED).read_text(encoding="utf-8")
    articles = dict(re.findall(r"第 (\d+) 條\s*(.*?)(?=第 \d+ 條|\Z)", seed, flags=re.S))
    by_id = _rules_md()
    for regime in REGIMES:
        for path, entry in _numbered(_data()[regime]):
            if regime == "animal":
                number = re.match(r"§(\d+)", entry["article"])[1]  # type: ignore[index]
                assert _no_space(entry["quote"]) in _no_space(articles[number]), path
            elif "quote" in entry:
                assert entry["quote"] in by_id[entry["rule"]], path
            else:
                assert entry["note"], path  # a number RULES.md does not give says why


@pytest.mark.parametrize(
    ("regime", "path", "value", "unit", "rule"),
    [
        ("animal", ("inventory", "interval"), 6, "months", "BS-11"),
        ("human", ("inventory", "interval"), 3, "months", "HP-02"),
        ("animal", ("committee", "required_from_staff"), 5, "staff", "BS-06"),
        ("human", ("committee", "required_from_staff"), 30, "staff", "HP-01"),
        ("animal", ("committee", "change_report"), 1, "months", "BS-06"),
        ("animal", ("committee", "responsible_person_experience"), 3, "years", "BS-06"),
        ("animal", ("committee", "responsible_person_training"), 16, "hours", "BS-06"),
        ("animal", ("training", "new_staff_hours"), 8, "hours", "BS-09"),
        ("animal", ("training", "annual_hours"), 4, "hours", "BS-09"),
        ("animal", ("training", "operating_tester_experience"), 2, "years", "BS-09"),
        ("human", ("training", "new_staff_hours"), 8, "hours", "HP-05"),
        ("human", ("training", "annual_hours"), 4, "hours", "HP-05"),
        ("animal", ("drills", "yearly"), 12, "months", "BS-12"),
        ("human", ("drills", "full_scale"), 36, "months", "HP-05"),
        ("human", ("transfer", "authority_report"), 2, "working_days", "HP-04"),
        ("animal", ("spill_in_transport", "authority_report"), 24, "hours", "BS-14"),
        ("animal", ("retention", "work_record"), 3, "years", "BS-05"),
        ("animal", ("retention", "storage_record"), 3, "years", "BS-07"),
        ("animal", ("retention", "destruction_record"), 3, "years", "BS-15"),
        ("human", ("retention_controlled", "disposal_record"), 10, "years", "HP-04"),
    ],
)
def test_bs_hp_regime_figures(regime, path, value, unit, rule):
    found = figure(regime, *path)
    assert (found.value, found.unit, found.rule) == (value, unit, rule)


def test_bs11_hp03_anomaly_clocks_per_regime():
    clocks = {
        r: [(e["key"], e["value"], e["unit"]) for e in _data()[r]["anomaly"]] for r in REGIMES
    }
    assert clocks["animal"] == [
        ("committee_investigation", 7, "days"),
        ("authority_notice", 24, "hours"),
        ("authority_report", 3, "days"),
    ]
    assert clocks["human"] == [
        ("authority_notice", 3, "days"),
        ("committee_investigation", 30, "days"),
        ("authority_report", 7, "days"),
    ]


def test_unknown_regime_or_figure_is_an_error():
    with pytest.raises(ValueError, match="regime"):
        inventory_due(date(2026, 1, 1), regime="plant")  # type: ignore[arg-type]
    with pytest.raises(LookupError):
        figure("animal", "transfer", "authority_report")


def test_every_bs_and_hp_rule_is_enforced_by_a_biosafety_rule_function():
    where = enforced_by()
    wanted = {f"BS-{n:02d}" for n in range(1, 16)} | {f"HP-{n:02d}" for n in range(1, 6)}
    for rule_id in sorted(wanted):
        assert any(name.startswith("biobank.biosafety.rules.") for name in where[rule_id]), rule_id


def test_every_bs_and_hp_rule_is_named_by_a_test():
    named = set()
    for name, function in inspect.getmembers(sys.modules[__name__], inspect.isfunction):
        if name.startswith("test_"):
            text = name.upper().replace("_", " ") + " " + (function.__doc__ or "")
            named |= {f"{a}-{b}" for a, b in re.findall(r"\b(BS|HP)-?(\d{2})\b", text)}
    wanted = {f"BS-{n:02d}" for n in range(1, 16)} | {f"HP-{n:02d}" for n in range(1, 6)}
    assert wanted <= named, sorted(wanted - named)


# BS-01 material classes, BS-02 packaging ---------------------------------------------------------


def test_bs01_material_classes():
    assert material_class("pathogen").material_class == 1
    assert material_class("derivative").material_class == 2
    assert material_class("substance").material_class == 3
    unconfirmed = material_class("substance", confirmed=False)
    assert unconfirmed.material_class is None and unconfirmed.rule == "BS-01"
    with pytest.raises(ValueError):
        material_class("toxin")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("risk_group", "category_a", "exempt", "humans"),
    list(product(range(1, 5), (False, True), (False, True), (False, True))),
)
def test_bs02_packaging_class_exhaustive(risk_group, category_a, exempt, humans):
    if category_a and (exempt or risk_group == 1):
        with pytest.raises(ValueError):
            packaging_class(
                risk_group, category_a_pathogen=category_a, exempt=exempt, affects_humans=humans
            )
        return
    result = packaging_class(
        risk_group, category_a_pathogen=category_a, exempt=exempt, affects_humans=humans
    )
    assert result.rule == "BS-02"
    if category_a:
        assert result.category == ("UN2814" if humans else "UN2900")
        assert result.packing_instruction == "P620"
    elif exempt or risk_group == 1:
        assert (result.category, result.un_number, result.packing_instruction) == (
            "exempt",
            None,
            None,
        )
    else:
        assert (result.category, result.packing_instruction) == ("UN3373", "P650")
    assert result.un_number in {None, result.category}


def test_bs02_packaging_examples():
    assert packaging_class(2, category_a_pathogen=False, exempt=False).category == "UN3373"
    assert packaging_class(3, category_a_pathogen=True, exempt=False).category == "UN2814"
    swine_fever = packaging_class(3, category_a_pathogen=True, exempt=False, affects_humans=False)
    assert swine_fever.shipping_name == "Infectious substance, affecting animals only"


# BS-03, BS-04 containment ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("risk_group", "animal", "propagating", "large_scale", "inactivated"),
    list(product(range(1, 5), *[(False, True)] * 4)),
)
def test_bs04_required_lab_level_exhaustive(
    risk_group, animal, propagating, large_scale, inactivated
):
    call = {
        "animal": animal,
        "propagating": propagating,
        "large_scale": large_scale,
        "inactivated": inactivated,
    }
    if large_scale and not propagating:
        with pytest.raises(ValueError):
            required_lab_level(risk_group, **call)
        return
    result = required_lab_level(risk_group, **call)
    family = "ABSL" if animal else "BSL"
    level = 2 if risk_group == 3 and not propagating else risk_group
    assert result.minimum == f"{family}{level}"
    assert result.needs_reassessment is large_scale
    assert result.reassess_up_to == (f"{family}{min(level + 1, 4)}" if large_scale else None)
    assert result.needs_committee_approval is (inactivated and risk_group >= 2)
    assert result.rule == "BS-04" and result.reason
    assert site_level_sufficient(result.minimum, result.minimum)


def test_bs04_risk_group_3_without_propagation_may_use_bsl2():
    result = required_lab_level(3, propagating=False)
    assert result.minimum == "BSL2"
    assert "§3.4(2)" in result.reason
    assert required_lab_level(4, propagating=False).minimum == "BSL4"
    assert required_lab_level(3).minimum == "BSL3"


def test_bs03_bs04_animal_work_needs_absl_and_large_scale_is_reassessed():
    assert required_lab_level(2, animal=True).minimum == "ABSL2"
    result = required_lab_level(2, large_scale=True)
    assert result.needs_reassessment and result.reassess_up_to == "BSL3"
    assert required_lab_level(4, large_scale=True).reassess_up_to == "BSL4"


def test_bs04_inactivated_material_needs_committee_approval_for_a_lower_level():
    assert required_lab_level(3, inactivated=True).needs_committee_approval
    assert not required_lab_level(1, inactivated=True).needs_committee_approval


@pytest.mark.parametrize("bad", [0, 5, -1, True, "3", 2.0])
def test_bs02_risk_group_outside_1_to_4_is_refused(bad):
    with pytest.raises(ValueError):
        required_lab_level(bad)
    with pytest.raises(ValueError):
        approval_route(bad, regime="animal")


@pytest.mark.parametrize(("site", "required"), list(product(["none", *LEVELS], LEVELS)))
def test_bs03_site_level_sufficient_exhaustive(site, required):
    result = site_level_sufficient(site, required)
    need_family, need = required.rstrip("1234"), int(required[-1])
    if site == "none":
        expected = required == "BSL1"
    else:
        family, level = site.rstrip("1234"), int(site[-1])
        expected = (need_family == "BSL" or family == "ABSL") and level >= need
    assert result.allowed is expected
    assert result.rule in {"BS-03", "BS-04"} and result.reason


def test_bs03_animal_work_in_a_bsl_site_is_refused_under_bs03():
    result = site_level_sufficient("BSL4", "ABSL2")
    assert not result and result.rule == "BS-03"
    assert not site_level_sufficient("none", "BSL2")
    assert site_level_sufficient(" bsl-3 ", "BSL2")


@pytest.mark.parametrize(("site", "required"), [("BSL5", "BSL1"), ("BSL2", "none"), ("P3", "BSL3")])
def test_bs03_unknown_levels_are_refused(site, required):
    with pytest.raises(ValueError):
        site_level_sufficient(site, required)


# BS-10, HP-01 approval; BS-06 committee ----------------------------------------------------------


@pytest.mark.parametrize(("regime", "risk_group"), list(product(REGIMES, range(1, 5))))
def test_bs10_hp01_approval_route(regime, risk_group):
    route = approval_route(risk_group, regime=regime)
    if risk_group >= 3:
        assert route.approvers == ("committee", "central_authority")
    else:
        assert route.approvers == ("committee",)
    assert route.committee_mandatory is (regime == "human" and risk_group >= 3)
    assert route.rule == ("BS-10" if regime == "animal" else "HP-01")


@pytest.mark.parametrize(
    ("regime", "staff", "required", "alternative"),
    [
        ("animal", 4, False, "responsible_person"),
        ("animal", 5, True, None),
        ("animal", 0, False, "responsible_person"),
        ("human", 29, False, "biosafety_officer"),
        ("human", 30, True, None),
    ],
)
def test_bs06_hp01_committee_threshold_boundaries(regime, staff, required, alternative):
    decision = committee_required(staff, regime=regime)
    assert bool(decision) is required
    assert decision.alternative == alternative
    assert decision.rule == ("BS-06" if regime == "animal" else "HP-01")


def test_hp01_risk_group_3_needs_a_committee_whatever_the_staff_count():
    assert committee_required(10, regime="human", risk_group=3).required
    assert not committee_required(10, regime="human", risk_group=2).required
    # the animal regime lets a responsible person approve even risk group 3 (§4.1)
    assert not committee_required(4, regime="animal", risk_group=3).required


@settings(max_examples=100, deadline=None)
@given(staff=st.integers(0, 10_000), regime=st.sampled_from(REGIMES))
def test_bs06_hp01_property_committee_iff_staff_reach_threshold(staff, regime):
    threshold = 5 if regime == "animal" else 30
    assert committee_required(staff, regime=regime).required is (staff >= threshold)


@pytest.mark.parametrize("bad", [-1, True, 4.5])
def test_bs06_staff_count_must_be_a_whole_number(bad):
    with pytest.raises(ValueError):
        committee_required(bad, regime="animal")


@pytest.mark.parametrize(
    ("years", "hours", "allowed", "missing"),
    [
        (3, 16, True, 0),
        (Decimal("2.99"), 16, False, 1),
        (2.99, 16, False, 1),
        (Decimal("3.00"), Decimal("15.5"), False, 1),
        (2, 8, False, 2),
        (10, 40, True, 0),
    ],
)
def test_bs06_responsible_person_needs_3_years_and_16_hours(years, hours, allowed, missing):
    decision = responsible_person_qualified(years, hours)
    assert decision.allowed is allowed
    assert len(decision.missing) == missing and decision.rule == "BS-06"


@pytest.mark.parametrize(
    ("changed_on", "due"),
    [
        (date(2026, 3, 10), date(2026, 4, 10)),  # Friday
        (date(2026, 1, 15), date(2026, 2, 23)),  # 15 February: Sunday, Lunar New Year break
        (date(2026, 1, 31), date(2026, 3, 2)),  # no 31 February → 28th, a holiday, → Monday
    ],
)
def test_bs06_td01_committee_change_reported_within_one_month(changed_on, due):
    deadline = committee_change_report_due(changed_on, overrides=NO_OVERRIDES)
    assert deadline.due == due
    assert (deadline.rule, deadline.article) == ("BS-06", "§4.5")


# BS-08 signage, BS-13 resumption -----------------------------------------------------------------


def test_bs08_signage_lists_missing_fields():
    complete = dict.fromkeys(SIGNAGE_FIELDS, "x")
    assert signage_fields_missing(complete)
    partial = {**complete, "phone": "", "emergency_measures": None}
    decision = signage_fields_missing(partial)
    assert not decision and decision.missing == ("phone", "emergency_measures")
    assert decision.rule == "BS-08"


@pytest.mark.parametrize(("committee", "authority"), list(product((False, True), repeat=2)))
def test_bs13_resuming_use_after_an_incident_needs_committee_and_authority(committee, authority):
    decision = resumption_allowed(committee_confirmed=committee, authority_consented=authority)
    assert decision.allowed is (committee and authority)
    assert len(decision.missing) == (not committee) + (not authority)
    assert decision.rule == "BS-13"


# Records -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "rule"),
    [
        ("work_record", "BS-05"),
        ("committee_record", "BS-06"),
        ("incident_record", "BS-06"),
        ("storage_record", "BS-07"),
        ("training_record", "BS-09"),
        ("drill_record", "BS-12"),
        ("destruction_record", "BS-15"),
    ],
)
def test_bs05_bs06_bs07_bs09_bs12_bs15_records_kept_three_years(kind, rule):
    assert figure("animal", "retention", kind).rule == rule
    assert retention_until(kind, date(2026, 2, 13), regime="animal") == date(2029, 2, 13)
    # the animal regime has no controlled-pathogen category: still 3 years
    assert retention_until(kind, date(2026, 2, 13), regime="animal", controlled=True) == date(
        2029, 2, 13
    )


def test_hp04_controlled_pathogen_disposal_and_incident_records_kept_ten_years():
    on = date(2026, 5, 4)
    for kind in ("disposal_record", "destruction_record", "incident_record"):
        assert retention_until(kind, on, regime="human", controlled=True) == date(2036, 5, 4)
        assert retention_until(kind, on, regime="human") == date(2029, 5, 4)
    assert retention_until("work_record", on, regime="human", controlled=True) == date(2029, 5, 4)


def test_bs05_retention_from_a_leap_day_and_unknown_kinds():
    assert retention_until("work_record", date(2024, 2, 29), regime="animal") == date(2027, 2, 28)
    with pytest.raises(ValueError):
        retention_until("disposal_record", date(2026, 1, 1), regime="animal")
    with pytest.raises(ValueError):
        retention_until("diary", date(2026, 1, 1), regime="human")


# BS-09, HP-05 training ---------------------------------------------------------------------------

START = date(2026, 3, 2)


def test_bs09_exactly_8_hours_before_starting_suffices_at_bsl2():
    records = [course(date(2026, 2, 20), 5), course(START, 3), operating_test(START)]
    status = training_status(records, started_on=START, lab_level="BSL2", as_of=START)
    assert status.compliant and status.pre_start_hours == 8 and status.rule == "BS-09"


def test_bs09_seven_and_a_half_hours_before_starting_is_not_enough():
    records = [course(date(2026, 2, 20), "7.5"), operating_test(START)]
    status = training_status(records, started_on=START, lab_level="BSL2", as_of=START)
    assert not status.compliant
    assert status.missing == ("8 hours of training before starting work (7.5 on record)",)


def test_bs09_course_after_starting_does_not_count_as_new_staff_training():
    records = [course(date(2026, 2, 20), 4), course(date(2026, 3, 3), 4), operating_test(START)]
    status = training_status(records, started_on=START, lab_level="BSL2", as_of=date(2026, 3, 5))
    assert not status and status.pre_start_hours == 4


@pytest.mark.parametrize("level", ["BSL3", "ABSL3", "BSL4"])
def test_bs09_at_level_3_and_above_only_recognised_courses_count(level):
    # Scenario 5: 6 of 8 hours, from a course that is not centrally recognised.
    unrecognised = [course(date(2026, 2, 20), 6), operating_test(START)]
    status = training_status(unrecognised, started_on=START, lab_level=level, as_of=START)
    assert not status and "centrally recognised" in status.missing[0]
    assert status.pre_start_hours == 0
    mixed = [course(date(2026, 2, 20), 6, recognised=True), course(date(2026, 2, 21), 2)]
    status = training_status(
        [*mixed, operating_test(START)], started_on=START, lab_level=level, as_of=START
    )
    assert not status and status.pre_start_hours == 6
    recognised = [course(date(2026, 2, 20), 8, recognised=True), operating_test(START)]
    assert training_status(recognised, started_on=START, lab_level=level, as_of=START)


def test_bs09_unrecognised_course_counts_below_level_3():
    records = [course(date(2026, 2, 20), 8), operating_test(START)]
    assert training_status(records, started_on=START, lab_level="ABSL2", as_of=START)


def test_bs09_four_hours_in_each_year_in_post():
    started = date(2024, 3, 1)
    base = [course(date(2024, 2, 1), 8), operating_test(started)]
    year_one = course(date(2024, 9, 1), 4)  # exactly 4 hours
    year_two = course(date(2026, 3, 1), "3.5")  # on the anniversary: counts for year two
    status = training_status(
        [*base, year_one, year_two], started_on=started, lab_level="BSL2", as_of=date(2026, 3, 10)
    )
    assert not status
    assert status.missing == ("4 hours in the year to 2026-03-01 (3.5 on record)",)
    assert status.next_annual_due == date(2027, 3, 1)
    top_up = course(date(2025, 12, 1), "0.5")
    assert training_status(
        [*base, year_one, year_two, top_up],
        started_on=started,
        lab_level="BSL2",
        as_of=date(2026, 3, 10),
    )


def test_bs09_the_current_year_is_not_judged_before_it_ends():
    started = date(2025, 6, 1)
    records = [course(date(2025, 5, 1), 8), operating_test(started)]
    status = training_status(records, started_on=started, lab_level="BSL2", as_of=date(2026, 5, 31))
    assert status and status.next_annual_due == date(2026, 6, 1)
    status = training_status(records, started_on=started, lab_level="BSL2", as_of=date(2026, 6, 1))
    assert not status and "year to 2026-06-01" in status.missing[0]


@pytest.mark.parametrize(
    ("tests", "ok"),
    [([], False), ([operating_test(START, passed=False)], False), ([operating_test(START)], True)],
)
def test_bs09_a_passed_operating_test_is_required(tests, ok):
    records = [course(date(2026, 2, 20), 8), *tests]
    status = training_status(records, started_on=START, lab_level="BSL2", as_of=START)
    assert status.compliant is ok
    assert ok or status.missing == ("a passed operating test (§7.3)",)


def test_hp05_human_regime_training_hours_without_an_operating_test():
    records = [course(date(2026, 2, 20), 8, recognised=True)]
    status = training_status(
        records, started_on=START, lab_level="BSL3", as_of=START, regime="human"
    )
    assert status and status.rule == "HP-05"
    assert not training_status(
        [course(date(2026, 2, 20), 8)],
        started_on=START,
        lab_level="BSL3",
        as_of=START,
        regime="human",
    )


def test_bs09_records_after_as_of_are_not_counted():
    records = [course(date(2026, 2, 20), 8), operating_test(date(2026, 4, 1))]
    status = training_status(records, started_on=START, lab_level="BSL2", as_of=START)
    assert not status and status.missing == ("a passed operating test (§7.3)",)


def test_bs09_training_record_checks_its_values():
    assert TrainingRecord(START, 2.5).hours == Decimal("2.5")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        TrainingRecord(START, H(-1))
    with pytest.raises(ValueError):
        TrainingRecord(START, H(1), kind="lecture")  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(
    records=st.lists(
        st.builds(
            TrainingRecord,
            on=st.dates(date(2023, 1, 1), date(2026, 12, 31)),
            hours=st.decimals(0, 12, places=1),
            recognised=st.booleans(),
            kind=st.sampled_from(["course", "operating_test"]),
            passed=st.booleans(),
        ),
        max_size=8,
    ),
    extra=st.builds(
        TrainingRecord,
        on=st.dates(date(2023, 1, 1), date(2026, 12, 31)),
        hours=st.decimals(0, 12, places=1),
        recognised=st.booleans(),
    ),
    level=st.sampled_from(["none", *LEVELS]),
)
def test_bs09_property_more_training_never_adds_a_gap(records, extra, level):
    when = {"started_on": date(2024, 3, 1), "lab_level": level, "as_of": date(2026, 6, 30)}
    before = training_status(records, **when)
    after = training_status([*records, extra], **when)
    assert len(after.missing) <= len(before.missing)
    assert after.pre_start_hours >= before.pre_start_hours
    assert before.compliant is (not before.missing)


@pytest.mark.parametrize(
    ("supervisor", "years", "ok"),
    [(True, 0, True), (False, 2, True), (False, Decimal("1.99"), False), (False, 1.99, False)],
)
def test_bs09_operating_tester_is_the_supervisor_or_has_two_years(supervisor, years, ok):
    decision = operating_tester_qualified(is_lab_supervisor=supervisor, years_experience=years)
    assert decision.allowed is ok and decision.rule == "BS-09"


# BS-11, HP-02 inventory; BS-11, HP-03 anomalies --------------------------------------------------


@pytest.mark.parametrize(
    ("regime", "last", "due", "rule"),
    [
        ("animal", date(2026, 1, 15), date(2026, 7, 15), "BS-11"),
        ("human", date(2026, 1, 15), date(2026, 4, 15), "HP-02"),
        ("animal", date(2025, 8, 31), date(2026, 2, 28), "BS-11"),
        ("human", date(2025, 11, 30), date(2026, 2, 28), "HP-02"),
    ],
)
def test_bs11_hp02_inventory_every_6_or_3_months(regime, last, due, rule):
    deadline = inventory_due(last, regime=regime)
    assert (deadline.due, deadline.rule) == (due, rule)


@settings(max_examples=100, deadline=None)
@given(last=st.dates(date(2000, 1, 1), date(2090, 12, 31)), regime=st.sampled_from(REGIMES))
def test_bs11_hp02_property_inventory_interval_in_days(last, regime):
    days = (inventory_due(last, regime=regime).due - last).days
    assert (181 <= days <= 184) if regime == "animal" else (89 <= days <= 92)


def _dues(deadlines):
    return {d.key: (d.due, d.provisional) for d in deadlines}


def test_bs11_td01_animal_anomaly_noticed_on_the_friday_before_new_year():
    deadlines = anomaly_deadlines(
        FRIDAY_BEFORE_NEW_YEAR,
        regime="animal",
        risk_group=3,
        material_class=1,
        overrides=NO_OVERRIDES,
    )
    assert _dues(deadlines) == {
        # 24 hours on the clock: Saturday evening, holiday or not
        "authority_notice": (datetime(2026, 2, 14, 17, 0, tzinfo=TAIPEI), False),
        # 13 + 7 = Friday 20th, a holiday → Monday 23rd
        "committee_investigation": (date(2026, 2, 23), False),
        # counted from the investigation's deadline until it closes: 23 + 3 = Thursday 26th
        "authority_report": (date(2026, 2, 26), True),
    }
    assert {d.rule for d in deadlines} == {"BS-11"}


def test_bs11_td01_report_counted_from_the_investigation_close():
    deadlines = anomaly_deadlines(
        FRIDAY_BEFORE_NEW_YEAR,
        regime="animal",
        risk_group=4,
        material_class=1,
        investigation_closed_on=date(2026, 2, 24),
        overrides=NO_OVERRIDES,
    )
    # 24 + 3 = Friday 27th (Peace Memorial Day observed), Saturday 28th, Sunday → Monday 2 March
    assert _dues(deadlines)["authority_report"] == (date(2026, 3, 2), False)


@pytest.mark.parametrize(
    ("risk_group", "klass", "major", "keys"),
    [
        (2, 1, False, {"committee_investigation"}),
        (3, 2, False, {"committee_investigation"}),
        (3, 3, False, {"committee_investigation"}),
        (1, 2, True, {"committee_investigation", "authority_notice", "authority_report"}),
        (3, 1, False, {"committee_investigation", "authority_notice", "authority_report"}),
    ],
)
def test_bs11_only_risk_group_3_class_1_or_major_anomalies_go_to_the_authorities(
    risk_group, klass, major, keys
):
    deadlines = anomaly_deadlines(
        FRIDAY_BEFORE_NEW_YEAR,
        regime="animal",
        risk_group=risk_group,
        material_class=klass,
        major=major,
        overrides=NO_OVERRIDES,
    )
    assert {d.key for d in deadlines} == keys


def test_hp03_td01_human_anomaly_noticed_on_the_friday_before_new_year():
    deadlines = anomaly_deadlines(
        FRIDAY_BEFORE_NEW_YEAR,
        regime="human",
        risk_group=3,
        material_class=None,
        overrides=NO_OVERRIDES,
    )
    assert _dues(deadlines) == {
        "authority_notice": (date(2026, 2, 23), False),  # 13 + 3 = 16th, in the break
        "committee_investigation": (date(2026, 3, 16), False),  # 13 + 30 = Sunday 15 March
        "authority_report": (date(2026, 3, 23), True),  # 7 days after the investigation
    }
    assert {d.rule for d in deadlines} == {"HP-03"}


def test_hp03_risk_group_2_mismatch_has_no_statutory_clock():
    assert (
        anomaly_deadlines(FRIDAY_BEFORE_NEW_YEAR, regime="human", risk_group=2, material_class=None)
        == []
    )


def test_bs11_td01_days_count_from_the_taiwan_date_and_honour_overrides():
    # 20:00 UTC on Sunday 1 March is 04:00 on Monday 2 March in Taipei
    noticed = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    plain = anomaly_deadlines(
        noticed, regime="animal", risk_group=2, material_class=1, overrides=NO_OVERRIDES
    )
    assert plain[0].due == date(2026, 3, 9)
    typhoon = anomaly_deadlines(
        noticed,
        regime="animal",
        risk_group=2,
        material_class=1,
        overrides={date(2026, 3, 9): False},
    )
    assert typhoon[0].due == date(2026, 3, 10)


def test_bs11_anomaly_inputs_are_checked():
    with pytest.raises(ValueError, match="timezone"):
        anomaly_deadlines(datetime(2026, 3, 2, 9), regime="animal", risk_group=3, material_class=1)
    with pytest.raises(ValueError, match="material class"):
        anomaly_deadlines(
            FRIDAY_BEFORE_NEW_YEAR, regime="animal", risk_group=3, material_class=None
        )
    with pytest.raises(ValueError):
        anomaly_deadlines(FRIDAY_BEFORE_NEW_YEAR, regime="animal", risk_group=3, material_class=4)
    with pytest.raises(ValueError, match="before"):
        anomaly_deadlines(
            FRIDAY_BEFORE_NEW_YEAR,
            regime="animal",
            risk_group=3,
            material_class=1,
            investigation_closed_on=date(2026, 2, 12),
        )


@settings(max_examples=150, deadline=None)
@given(
    noticed=st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 20), timezones=st.just(TAIPEI)),
    regime=st.sampled_from(REGIMES),
    risk_group=st.integers(1, 4),
    klass=st.integers(1, 3),
    major=st.booleans(),
)
def test_bs11_hp03_td01_property_every_clock_is_on_time(noticed, regime, risk_group, klass, major):
    deadlines = anomaly_deadlines(
        noticed,
        regime=regime,
        risk_group=risk_group,
        material_class=klass,
        major=major,
        overrides=NO_OVERRIDES,
    )
    entries = {e["key"]: e for e in _data()[regime]["anomaly"]}
    for deadline in deadlines:
        entry = entries[deadline.key]
        if entry["unit"] == "hours":
            assert deadline.due - noticed == timedelta(hours=entry["value"])
        else:
            assert isinstance(deadline.due, date) and not isinstance(deadline.due, datetime)
            assert is_working_day(deadline.due, overrides=NO_OVERRIDES)
            assert deadline.due >= noticed.date() + timedelta(days=entry["value"])
            assert deadline.due < noticed.date() + timedelta(days=entry["value"] + 60)


# BS-12, HP-05 drills; BS-14 spills; HP-04 transfers ----------------------------------------------


def test_bs12_field_drill_every_year():
    (yearly,) = drill_due(date(2025, 5, 10), None, regime="animal")
    assert (yearly.key, yearly.due, yearly.rule) == ("yearly", date(2026, 5, 10), "BS-12")
    (never,) = drill_due(None, None, regime="animal")
    assert never.due is None and "due now" in never.reason


def test_hp05_yearly_and_full_scale_drills():
    yearly, full = drill_due(date(2025, 5, 10), date(2024, 9, 1), regime="human")
    assert (yearly.due, full.due) == (date(2026, 5, 10), date(2027, 9, 1))
    assert {yearly.rule, full.rule} == {"HP-05"}
    # a full-scale drill is also the year's drill
    yearly, full = drill_due(date(2025, 5, 10), date(2025, 11, 1), regime="human")
    assert (yearly.due, full.due) == (date(2026, 11, 1), date(2028, 11, 1))
    yearly, full = drill_due(date(2025, 5, 10), None, regime="human")
    assert full.due is None


def test_bs14_spill_in_transport_committee_at_once_authorities_within_24_hours():
    notice, report = spill_report_due(FRIDAY_BEFORE_NEW_YEAR)
    assert (notice.key, notice.due) == ("committee_notice", FRIDAY_BEFORE_NEW_YEAR)
    assert report.due == datetime(2026, 2, 14, 17, 0, tzinfo=TAIPEI)
    assert "immediately" in notice.reason and {notice.rule, report.rule} == {"BS-14"}


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2026, 2, 13), date(2026, 2, 24)),  # Friday before New Year: 23rd, 24th
        (date(2026, 3, 2), date(2026, 3, 4)),
        (date(2026, 2, 26), date(2026, 3, 3)),  # 27th, 28th off: Monday 2nd, Tuesday 3rd
    ],
)
def test_hp04_td01_transfer_reported_within_two_working_days(received, due):
    deadline = transfer_report_due(received, overrides=NO_OVERRIDES)
    assert (deadline.due, deadline.rule, deadline.article) == (due, "HP-04", "§36")


def test_rules_module_stays_pure():
    source = inspect.getsource(rules)
    assert "django" not in source.replace("biobank.core", "")
    assert "import biobank.core.models" not in source and "objects." not in source


def test_rules_page_shows_where_bs10_is_enforced(cast, client):
    client.force_login(cast.biosafety)
    body = client.get("/rules/").content.decode()
    assert "biobank.biosafety.rules.approval_route" in body
