"""TD-01: deadlines on the Taiwan calendar (行政程序法 §48)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from biobank.core import services
from biobank.core.calendar import add_working_days, is_working_day, legal_deadline

NO_OVERRIDES: dict[date, bool] = {}


def test_td01_lunar_new_year_2025_days_off():
    # 2025-01-25 .. 2025-02-02: nine days off (27th is a bridge day made up on 8 Feb)
    for offset in range(9):
        day = date(2025, 1, 25) + timedelta(days=offset)
        assert not is_working_day(day, overrides=NO_OVERRIDES), day
    assert is_working_day(date(2025, 2, 3), overrides=NO_OVERRIDES)


def test_td01_make_up_saturday_2025_02_08_is_a_working_day():
    assert date(2025, 2, 8).weekday() == 5
    assert is_working_day(date(2025, 2, 8), overrides=NO_OVERRIDES)


def test_td01_lunar_new_year_2026_days_off():
    # 2026-02-14 (Sat) .. 2026-02-22 (Sun)
    for offset in range(9):
        day = date(2026, 2, 14) + timedelta(days=offset)
        assert not is_working_day(day, overrides=NO_OVERRIDES), day
    assert is_working_day(date(2026, 2, 23), overrides=NO_OVERRIDES)


def test_td01_add_working_days_skips_the_new_year_holidays():
    # Friday 2026-02-13 + 1 working day: the next working day is Monday 23 February
    assert add_working_days(date(2026, 2, 13), 1, overrides=NO_OVERRIDES) == date(2026, 2, 23)


def test_td01_add_working_days_does_not_count_the_start_day():
    monday = date(2026, 3, 2)
    assert add_working_days(monday, 1, overrides=NO_OVERRIDES) == date(2026, 3, 3)
    assert add_working_days(monday, 0, overrides=NO_OVERRIDES) == monday


def test_td01_add_working_days_counts_the_make_up_saturday():
    # Thursday 2025-02-06 + 2 working days: Friday 7th, then make-up Saturday 8th
    assert add_working_days(date(2025, 2, 6), 2, overrides=NO_OVERRIDES) == date(2025, 2, 8)


def test_td01_fourteen_working_days_over_new_year_2025():
    # EC-09 style: a decision on 2025-01-20 is notified within 14 working days:
    # 21-24 Jan (4), 3-7 Feb (9), make-up Saturday 8 Feb (10), 10-13 Feb (14)
    assert add_working_days(date(2025, 1, 20), 14, overrides=NO_OVERRIDES) == date(2025, 2, 13)


def test_td01_legal_deadline_moves_off_a_sunday():
    # 2026-03-01 + 7 days = Sunday 8 March -> Monday 9 March
    assert legal_deadline(date(2026, 3, 1), 7, overrides=NO_OVERRIDES) == date(2026, 3, 9)


def test_td01_legal_deadline_moves_past_the_holidays():
    # 2026-02-10 + 5 days = Sunday 15 February, inside the New Year break -> Monday 23
    assert legal_deadline(date(2026, 2, 10), 5, overrides=NO_OVERRIDES) == date(2026, 2, 23)


def test_td01_legal_deadline_on_a_working_day_stays():
    assert legal_deadline(date(2026, 3, 2), 3, overrides=NO_OVERRIDES) == date(2026, 3, 5)


def test_td01_typhoon_override_passed_in():
    typhoon = {date(2024, 7, 25): False}
    assert is_working_day(date(2024, 7, 25), overrides=NO_OVERRIDES)
    assert not is_working_day(date(2024, 7, 25), overrides=typhoon)
    # a deadline landing on the typhoon day moves to the next working day
    assert legal_deadline(date(2024, 7, 18), 7, overrides=typhoon) == date(2024, 7, 26)
    assert add_working_days(date(2024, 7, 24), 1, overrides=typhoon) == date(2024, 7, 26)


def test_td01_typhoon_override_from_the_table(cast):
    # given the manager declares a typhoon day off
    services.calendar_override_set(
        actor=cast.manager,
        organization=cast.demo,
        day=date(2024, 7, 25),
        is_working_day=False,
        reason="凱米颱風停止上班",
    )
    # then the calendar, without explicit overrides, follows the table
    assert not is_working_day(date(2024, 7, 25))
    assert add_working_days(date(2024, 7, 24), 1) == date(2024, 7, 26)


def test_td01_only_calendar_managers_declare_overrides(cast):
    import pytest

    from biobank.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.calendar_override_set(
            actor=cast.technician,
            organization=cast.demo,
            day=date(2024, 7, 25),
            is_working_day=False,
            reason="typhoon",
        )


days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


@settings(max_examples=200, deadline=None)
@given(start=days, n=st.integers(min_value=0, max_value=40))
def test_td01_add_working_days_lands_on_the_nth_working_day(start, n):
    result = add_working_days(start, n, overrides=NO_OVERRIDES)
    between = [
        start + timedelta(days=i)
        for i in range(1, (result - start).days + 1)
        if is_working_day(start + timedelta(days=i), overrides=NO_OVERRIDES)
    ]
    assert len(between) == n
    if n:
        assert is_working_day(result, overrides=NO_OVERRIDES)


@settings(max_examples=200, deadline=None)
@given(start=days, n=st.integers(min_value=0, max_value=60))
def test_td01_legal_deadline_is_the_first_working_day_on_or_after_start_plus_days(start, n):
    result = legal_deadline(start, n, overrides=NO_OVERRIDES)
    assert result >= start + timedelta(days=n)
    assert is_working_day(result, overrides=NO_OVERRIDES)
    day = start + timedelta(days=n)
    while day < result:
        assert not is_working_day(day, overrides=NO_OVERRIDES)
        day += timedelta(days=1)
