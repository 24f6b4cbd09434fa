"""The composition and quorum of a human-research ethics committee (HR-02).

人體研究法 §7: at least five members, at least two fifths from outside the institution, each
gender at least one third, and a legal expert among them (the audit's mandatory criterion 1.4
checks the same). L0020179 §6: a meeting needs two thirds of the members when there are five or
six, half when there are seven or more, with at least one external non-scientist present.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from biobank.core.rule_registry import implements

MIN_MEMBERS = 5
MIN_EXTERNAL = Fraction(2, 5)
MIN_EACH_GENDER = Fraction(1, 3)


@dataclass(frozen=True)
class Member:
    """One voting member as the rules see them."""

    gender: str  # "F", "M" or another value the committee records
    external: bool
    legal_expert: bool = False
    scientist: bool = True


@dataclass(frozen=True)
class Check:
    allowed: bool
    reasons: tuple[str, ...]
    rule: str = "HR-02"

    def __bool__(self) -> bool:
        return self.allowed


@implements("HR-02", "EC-02")
def composition_check(members: Sequence[Member]) -> Check:
    """Whether the committee's composition meets 人體研究法 §7 (criterion 1.4)."""
    count = len(members)
    reasons = []
    if count < MIN_MEMBERS:
        reasons.append(f"{count} members; at least {MIN_MEMBERS} are required")
    if count:
        external = Fraction(sum(m.external for m in members), count)
        if external < MIN_EXTERNAL:
            reasons.append(
                f"{sum(m.external for m in members)} of {count} members are external; "
                "at least two fifths are required"
            )
        for gender in ("F", "M"):
            share = Fraction(sum(m.gender == gender for m in members), count)
            if share < MIN_EACH_GENDER:
                reasons.append(
                    f"{sum(m.gender == gender for m in members)} of {count} members are "
                    f"{'women' if gender == 'F' else 'men'}; each gender needs at least one third"
                )
    if not any(m.legal_expert for m in members):
        reasons.append("no legal expert among the members")
    return Check(not reasons, tuple(reasons) or ("the composition meets the Act",))


@implements("HR-02")
def quorum_check(members: Sequence[Member], present: Sequence[Member]) -> Check:
    """Whether a meeting has its quorum (L0020179 §6)."""
    count, here = len(members), len(present)
    reasons = []
    needed = Fraction(2, 3) if count <= 6 else Fraction(1, 2)
    if count == 0 or Fraction(here, count) < needed:
        reasons.append(
            f"{here} of {count} members present; "
            f"{'two thirds' if needed == Fraction(2, 3) else 'half'} are required"
        )
    if not any(m.external and not m.scientist for m in present):
        reasons.append("no external non-scientist member present")
    return Check(not reasons, tuple(reasons) or ("quorum present",))
