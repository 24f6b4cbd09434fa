"""IRB audit rules (EC-02 … EC-05, EC-09): pure functions, no database."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biobank.ethics.rules import (
    BASIC,
    COMPLIANT,
    EXCELLENT,
    MANDATORY,
    NA,
    NON_COMPLIANT,
    OPTIONAL,
    OPTIONAL_IF_NOT_PASSED,
    Criterion,
    RatingError,
    audit_validity,
    load_criteria,
    review_notice_due,
    score_audit,
    what_would_pass,
)

CRITERIA = load_criteria()
OPTIONAL_ITEMS = [c.number for c in CRITERIA if c.kind == OPTIONAL]
IF_NOT_PASSED_ITEMS = [c.number for c in CRITERIA if c.kind == OPTIONAL_IF_NOT_PASSED]
# Basic items to rate non-compliant in the examples (never the mandatory 1.4).
BASIC_ITEMS = [c.number for c in CRITERIA if c.kind == BASIC]
NO_OVERRIDES: dict[date, bool] = {}


def all_compliant() -> dict[str, str]:
    return {criterion.number: COMPLIANT for criterion in CRITERIA}


def with_failures(count: int, **changes: str) -> dict[str, str]:
    """All compliant, ``count`` basic items non-compliant, then ``changes`` ("2_1" → "2.1")."""
    ratings = all_compliant()
    for number in BASIC_ITEMS[:count]:
        ratings[number] = NON_COMPLIANT
    ratings.update({key.replace("_", "."): value for key, value in changes.items()})
    return ratings


def basic_criteria(count: int) -> tuple[Criterion, ...]:
    """A made-up set of ``count`` basic criteria, for ratios the real 57 cannot reach."""
    return tuple(
        Criterion(number=f"1.{n}", chapter=1, kind=BASIC, text_zh="基準", text_en="criterion")
        for n in range(1, count + 1)
    )


def sheet(passing: int, failing: int) -> dict[str, str]:
    ratings = [COMPLIANT] * passing + [NON_COMPLIANT] * failing
    return {f"1.{n}": rating for n, rating in enumerate(ratings, start=1)}


# EC-02: the kinds decide where NA is allowed -------------------------------------------------


def test_ec02_kinds_decide_where_na_is_allowed():
    def criterion(kind: str) -> Criterion:
        return Criterion(number="1.1", chapter=1, kind=kind, text_zh="基準", text_en="criterion")

    assert criterion(OPTIONAL).allows_na(previously_passed=True)
    assert criterion(OPTIONAL).allows_na(previously_passed=False)
    assert criterion(OPTIONAL_IF_NOT_PASSED).allows_na(previously_passed=False)
    assert not criterion(OPTIONAL_IF_NOT_PASSED).allows_na(previously_passed=True)
    assert not criterion(BASIC).allows_na(previously_passed=False)
    assert not criterion(MANDATORY).allows_na(previously_passed=False)


def test_ec02_load_criteria_refuses_a_malformed_file(tmp_path):
    header = (
        "number,chapter,chapter_title_zh,chapter_title_en,text_zh,text_en,kind,"
        "na_condition_zh,na_condition_en\n"
    )
    good = "1.1,1,章,Chapter,基準,criterion,basic,,\n"
    cases = {
        "columns": ("number,chapter\n1.1,1\n", "columns"),
        "kind": (header + "1.1,1,章,Chapter,基準,criterion,sometimes,,\n", "unknown kind"),
        "number": (header + "1-1,1,章,Chapter,基準,criterion,basic,,\n", "item number"),
        "chapter": (header + "2.1,1,章,Chapter,基準,criterion,basic,,\n", "not in chapter"),
        "twice": (header + good + good, "appears twice"),
        "text": (header + "1.1,1,章,Chapter,,criterion,basic,,\n", "no text"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(content, encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            load_criteria(path)
    path = tmp_path / "good.csv"
    path.write_text(header + "1.10,1,章,Chapter,基準,criterion,basic,,\n" + good, encoding="utf-8")
    assert [c.number for c in load_criteria(str(path))] == ["1.1", "1.10"]


# EC-03 / EC-04: scoring ----------------------------------------------------------------------


def test_ec04_all_compliant_passes():
    score = score_audit(all_compliant(), previously_passed=True)
    assert score.passed
    assert (score.rated, score.passing, score.ratio) == (57, 57, 1.0)
    assert score.failed_mandatory == ()
    assert score.rule == "EC-04"
    assert "at least the 85 % needed" in score.reasons[0]


def test_ec04_exactly_85_percent_passes():
    # 57 rated items can never give exactly 85 % (42 to 57 are rated), so a made-up set of 20
    # criteria, and of 60: 17 of 20 and 51 of 60 are exactly 85 %.
    for passing, failing in [(17, 3), (51, 9)]:
        criteria = basic_criteria(passing + failing)
        score = score_audit(sheet(passing, failing), previously_passed=True, criteria=criteria)
        assert score.passed, (passing, failing)
        assert score.ratio == 0.85
        assert "(85.0 %)" in score.reasons[0]


def test_ec04_just_below_85_percent_fails():
    criteria = basic_criteria(60)
    score = score_audit(sheet(50, 10), previously_passed=True, criteria=criteria)  # 83.3 %
    assert not score.passed
    assert "below the 85 % needed" in score.reasons[0]


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=10))
def test_ec04_the_boundary_is_exact_for_every_multiple_of_20(times):
    rated = 20 * times
    criteria = basic_criteria(rated)
    at = 17 * times
    assert score_audit(sheet(at, rated - at), previously_passed=True, criteria=criteria).passed
    below = sheet(at - 1, rated - at + 1)
    assert not score_audit(below, previously_passed=True, criteria=criteria).passed


def test_ec04_real_criteria_pass_with_8_failures_and_fail_with_9():
    passing = score_audit(with_failures(8), previously_passed=True)
    assert passing.passed and (passing.passing, passing.rated) == (49, 57)  # 85.9 %
    failing = score_audit(with_failures(9), previously_passed=True)
    assert not failing.passed and (failing.passing, failing.rated) == (48, 57)  # 84.2 %
    assert "(84.2 %)" in failing.reasons[0]


def test_ec04_a_ratio_just_under_85_percent_never_reads_as_85():
    # 84.96 % would round to 85.0 %; the reason truncates instead.
    criteria = basic_criteria(1331)
    score = score_audit(sheet(1131, 200), previously_passed=True, criteria=criteria)
    assert not score.passed
    assert "(84.9 %)" in score.reasons[0]


def test_ec04_mandatory_1_4_non_compliant_fails_even_when_everything_else_complies():
    ratings = all_compliant() | {"1.4": NON_COMPLIANT}
    score = score_audit(ratings, previously_passed=True)
    assert not score.passed
    assert score.failed_mandatory == ("1.4",)
    assert score.ratio == pytest.approx(56 / 57)
    assert any("mandatory item 1.4" in reason for reason in score.reasons)


def test_ec03_excellent_counts_as_passing():
    ratings = {number: EXCELLENT for number in all_compliant()}
    score = score_audit(ratings | {"1.4": EXCELLENT}, previously_passed=True)
    assert score.passed and score.passing == 57


def test_ec04_na_for_an_optional_item_is_left_out_of_the_ratio():
    score = score_audit(with_failures(0, **{"2_1": NA}), previously_passed=True)
    assert (score.rated, score.passing, score.ratio) == (56, 56, 1.0)
    assert "1 item rated na is left out of the ratio (EC-04)" in score.reasons
    # 8 failures pass over 57 rated items (49/57) but not over 50 (42/50 = 84 %)
    all_optional_na = {number: NA for number in OPTIONAL_ITEMS}
    score = score_audit(with_failures(8) | all_optional_na, previously_passed=True)
    assert (score.rated, score.passing, score.passed) == (50, 42, False)
    assert "7 items rated na are left out of the ratio (EC-04)" in score.reasons
    score = score_audit(with_failures(7) | all_optional_na, previously_passed=True)
    assert (score.rated, score.passing, score.passed) == (50, 43, True)


def test_ec03_na_for_a_star_optional_item_refused_after_a_previous_pass():
    ratings = with_failures(0, **{"2_3": NA})
    with pytest.raises(RatingError, match=r"item 2\.3 may be rated na only by an IRB") as caught:
        score_audit(ratings, previously_passed=True)
    assert isinstance(caught.value, ValueError)
    assert caught.value.items == ("2.3",)
    assert caught.value.rule == "EC-03"


def test_ec03_na_for_a_star_optional_item_accepted_before_a_first_pass():
    ratings = all_compliant() | {number: NA for number in IF_NOT_PASSED_ITEMS + OPTIONAL_ITEMS}
    score = score_audit(ratings, previously_passed=False)
    assert (score.rated, score.passed) == (42, True)


def test_ec03_na_for_a_basic_or_mandatory_item_is_refused():
    with pytest.raises(ValueError, match=r"item 1\.1 is a basic item and cannot be rated na"):
        score_audit(with_failures(0, **{"1_1": NA}), previously_passed=False)
    with pytest.raises(ValueError, match=r"item 1\.4 is a mandatory item"):
        score_audit(with_failures(0, **{"1_4": NA}), previously_passed=False)


def test_ec03_a_missing_item_is_named():
    ratings = all_compliant()
    del ratings["7.2"]
    with pytest.raises(ValueError, match=r"item 7\.2 is not rated"):
        score_audit(ratings, previously_passed=True)


def test_ec03_an_unknown_item_is_named():
    with pytest.raises(ValueError, match=r"item 8\.1 is not an audit criterion"):
        score_audit(all_compliant() | {"8.1": COMPLIANT}, previously_passed=True)


def test_ec03_an_unknown_rating_is_named():
    with pytest.raises(ValueError, match=r"item 2\.2 has unknown rating 'good'"):
        score_audit(all_compliant() | {"2.2": "good"}, previously_passed=True)


def test_ec03_every_fault_is_named_at_once():
    ratings = all_compliant() | {"2.2": "good", "9.9": COMPLIANT, "1.1": NA}
    del ratings["5.2"]
    with pytest.raises(RatingError) as caught:
        score_audit(ratings, previously_passed=True)
    assert caught.value.items == ("1.1", "2.2", "5.2", "9.9")


def test_ec04_a_sheet_with_every_item_na_cannot_be_scored():
    criteria = (
        Criterion(number="1.1", chapter=1, kind=OPTIONAL, text_zh="基準", text_en="criterion"),
    )
    with pytest.raises(ValueError, match="every item is na"):
        score_audit({"1.1": NA}, previously_passed=True, criteria=criteria)


# EC-04: what would pass ----------------------------------------------------------------------


def test_ec04_what_would_pass_is_zero_when_passing():
    assert what_would_pass(with_failures(8), previously_passed=True) == 0


def test_ec04_what_would_pass_counts_the_items_short_of_85_percent():
    assert what_would_pass(with_failures(9), previously_passed=True) == 1
    assert what_would_pass(with_failures(20), previously_passed=True) == 12


def test_ec04_what_would_pass_includes_every_failed_mandatory_item():
    # 1.4 alone: fixing it is enough; with 9 more failures, 1.4 and one other.
    assert what_would_pass(all_compliant() | {"1.4": NON_COMPLIANT}, previously_passed=True) == 1
    ratings = with_failures(9) | {"1.4": NON_COMPLIANT}
    assert what_would_pass(ratings, previously_passed=True) == 2


# Properties ----------------------------------------------------------------------------------


@st.composite
def rating_sheets(draw: st.DrawFn) -> tuple[dict[str, str], bool]:
    """A valid rating sheet over the 57 criteria, and whether the IRB passed before."""
    previously_passed = draw(st.booleans())
    ratings = {}
    for criterion in CRITERIA:
        choices = [EXCELLENT, COMPLIANT, NON_COMPLIANT]
        if criterion.allows_na(previously_passed=previously_passed):
            choices.append(NA)
        # Mostly passing ratings, so that both outcomes are drawn often.
        weights = st.sampled_from([COMPLIANT] * 6 + choices)
        ratings[criterion.number] = draw(weights)
    return ratings, previously_passed


@settings(max_examples=200, deadline=None)
@given(rating_sheets(), st.data())
def test_ec04_one_more_passing_rating_never_turns_a_pass_into_a_fail(drawn, data):
    ratings, previously_passed = drawn
    before = score_audit(ratings, previously_passed=previously_passed)
    improvable = [number for number, rating in ratings.items() if rating in {NA, NON_COMPLIANT}]
    if not improvable:
        return
    number = data.draw(st.sampled_from(improvable))
    after = score_audit(ratings | {number: COMPLIANT}, previously_passed=previously_passed)
    assert after.passing == before.passing + 1
    if before.passed:
        assert after.passed


@settings(max_examples=200, deadline=None)
@given(rating_sheets())
def test_ec04_what_would_pass_is_the_fewest_fixes(drawn):
    ratings, previously_passed = drawn
    score = score_audit(ratings, previously_passed=previously_passed)
    needed = what_would_pass(ratings, previously_passed=previously_passed)
    assert (needed == 0) is score.passed
    assert score.passed is (not score.failed_mandatory and score.passing * 100 >= 85 * score.rated)
    # Fix the failed mandatory items first, then any others: `needed` fixes pass, one fewer not.
    failing = [n for n, r in ratings.items() if r == NON_COMPLIANT]
    failing.sort(key=lambda n: n not in score.failed_mandatory)

    def fixed(count: int) -> bool:
        better = ratings | {number: COMPLIANT for number in failing[:count]}
        return score_audit(better, previously_passed=previously_passed).passed

    assert fixed(needed)
    if needed:
        assert not fixed(needed - 1)


# EC-05: validity -----------------------------------------------------------------------------


def test_ec05_renewal_is_valid_six_years_from_the_next_year():
    validity = audit_validity(date(2025, 11, 20), passed=True, previously_passed=True)
    assert validity == (date(2026, 1, 1), date(2031, 12, 31))


def test_ec05_first_pass_is_valid_from_the_announcement_to_the_end_of_next_year():
    validity = audit_validity(date(2025, 11, 20), passed=True, previously_passed=False)
    assert validity == (date(2025, 11, 20), date(2026, 12, 31))


def test_ec05_a_lapse_over_a_year_gives_the_short_validity():
    validity = audit_validity(
        date(2025, 11, 20), passed=True, previously_passed=True, lapsed_over_one_year=True
    )
    assert validity == (date(2025, 11, 20), date(2026, 12, 31))


def test_ec05_no_validity_without_a_pass():
    assert audit_validity(date(2025, 11, 20), passed=False, previously_passed=True) is None
    assert audit_validity(date(2025, 11, 20), passed=False, previously_passed=False) is None


# EC-09: notifying the principal investigator -------------------------------------------------


def test_ec09_fourteen_working_days_over_lunar_new_year_2026():
    # Decided Thursday 12 February 2026: Friday 13 (1); 14-22 February off; 23-26 (5);
    # Friday 27 February off (Peace Memorial Day observed); 2-6 March (10); 9-12 March (14).
    assert review_notice_due(date(2026, 2, 12), overrides=NO_OVERRIDES) == date(2026, 3, 12)


def test_ec09_fourteen_working_days_in_plain_weeks():
    # Decided Monday 4 May 2026: 5-8 (4), 11-15 (9), 18-22 (14).
    assert review_notice_due(date(2026, 5, 4), overrides=NO_OVERRIDES) == date(2026, 5, 22)


def test_ec09_a_typhoon_day_off_moves_the_deadline():
    typhoon = {date(2026, 5, 12): False}
    assert review_notice_due(date(2026, 5, 4), overrides=typhoon) == date(2026, 5, 25)


def test_rules_page_shows_where_ec04_is_enforced(cast, client):
    client.force_login(cast.irb_admin)
    body = client.get("/rules/").content.decode()
    assert "biobank.ethics.rules.audit.score_audit" in body
