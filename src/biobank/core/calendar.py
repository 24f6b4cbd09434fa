"""The Taiwan working-day calendar (rule TD-01, 行政程序法 §48).

Weekends and national holidays are days off, make-up Saturdays (補行上班日) are working days,
both from the ``holidays`` package's Taiwan calendar; local overrides (a typhoon day off, an
extra workday) come from the ``CalendarOverride`` table, or from an ``overrides`` mapping passed
in by the caller (date → is working day), which keeps the functions usable without a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache

import holidays

from biobank.core.rule_registry import implements

Overrides = Mapping[date, bool]


@lru_cache(maxsize=64)
def _taiwan_year(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("TW", years=year)


def _overrides_between(first: date, last: date) -> dict[date, bool]:
    from biobank.core.models import CalendarOverride

    rows = CalendarOverride.objects.filter(date__range=(first, last)).values_list(
        "date", "is_working_day"
    )
    return dict(rows)


class _OverrideWindow:
    """Overrides for a growing date window, fetched from the table a year at a time."""

    def __init__(self, given: Overrides | None) -> None:
        self._given = given
        self._years: dict[int, dict[date, bool]] = {}

    def get(self, day: date) -> bool | None:
        if self._given is not None:
            return self._given.get(day)
        if day.year not in self._years:
            self._years[day.year] = _overrides_between(date(day.year, 1, 1), date(day.year, 12, 31))
        return self._years[day.year].get(day)


def _is_working_day(day: date, window: _OverrideWindow) -> bool:
    override = window.get(day)
    if override is not None:
        return override
    return bool(_taiwan_year(day.year).is_working_day(day))


@implements("TD-01")
def is_working_day(d: date, *, overrides: Overrides | None = None) -> bool:
    """Whether ``d`` is a working day in Taiwan, local overrides included."""
    return _is_working_day(d, _OverrideWindow(overrides))


@implements("TD-01")
def add_working_days(start: date, n: int, *, overrides: Overrides | None = None) -> date:
    """The ``n``-th working day after ``start`` (``start`` itself is not counted)."""
    if n < 0:
        raise ValueError("n must not be negative")
    window = _OverrideWindow(overrides)
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        if _is_working_day(day, window):
            counted += 1
    return day


@implements("TD-01")
def legal_deadline(start: date, days: int, *, overrides: Overrides | None = None) -> date:
    """``start`` + ``days`` calendar days, moved to the next working day if that is a day off.

    The first day is not counted (行政程序法 §48), which ``start + days`` already does.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    window = _OverrideWindow(overrides)
    day = start + timedelta(days=days)
    while not _is_working_day(day, window):
        day += timedelta(days=1)
    return day
