"""HR-02: the committee's composition (人體研究法 §7, criterion 1.4) and quorum (L0020179 §6)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import AuditEvent
from biobank.ethics import services
from biobank.ethics.rules import Member, composition_check, quorum_check


def members(women: int, men: int, external: int, *, legal: bool = True) -> list[Member]:
    people = [Member("F", False) for _ in range(women)] + [Member("M", False) for _ in range(men)]
    for n in range(external):
        people[n] = Member(people[n].gender, True, scientist=n != 0)
    if legal:
        people[-1] = Member(people[-1].gender, people[-1].external, legal_expert=True)
    return people


def test_hr02_a_committee_of_five_with_two_external_and_both_genders_passes():
    assert composition_check(members(2, 3, 2))


def test_hr02_four_members_are_too_few():
    check = composition_check(members(2, 2, 2))
    assert not check and "at least 5" in check.reasons[0]


def test_hr02_two_fifths_external_is_the_boundary():
    assert composition_check(members(4, 6, 4))  # exactly 2/5
    assert not composition_check(members(4, 6, 3))


def test_hr02_each_gender_at_least_one_third():
    assert composition_check(members(3, 6, 4))  # exactly 1/3 women
    check = composition_check(members(2, 7, 4))
    assert not check and any("women" in r for r in check.reasons)


def test_hr02_a_legal_expert_is_required():
    check = composition_check(members(3, 3, 3, legal=False))
    assert not check and "legal expert" in check.reasons[-1]


def test_hr02_quorum_two_thirds_for_six_half_for_seven_or_more():
    six = members(3, 3, 3)
    assert quorum_check(six, six[:4])  # 4/6 = two thirds
    assert not quorum_check(six, six[:3])
    eight = members(4, 4, 4)
    assert quorum_check(eight, eight[:4])  # half of eight
    assert not quorum_check(eight, eight[:3])


def test_hr02_quorum_needs_an_external_non_scientist():
    six = members(3, 3, 3)
    check = quorum_check(six, six[1:5])  # member 0 is the external non-scientist
    assert not check and "non-scientist" in check.reasons[0]


@given(women=st.integers(0, 12), men=st.integers(0, 12), external=st.integers(0, 12))
def test_hr02_property_the_check_is_exactly_the_law(women, men, external):
    total = women + men
    if total == 0 or external > total:
        return
    check = composition_check(members(women, men, external))
    lawful = total >= 5 and 5 * external >= 2 * total and 3 * women >= total and 3 * men >= total
    assert bool(check) == lawful


def test_hr02_ending_a_term_keeps_the_member_and_drops_them_from_the_check(cast, committee):
    lawyer = committee.members.get(name="張律師")
    with pytest.raises(ApplicationError):
        services.irb_member_end(actor=cast.irb_admin, member=lawyer, term_end=date(2024, 12, 31))
    with pytest.raises(PermissionDenied):
        services.irb_member_end(actor=cast.irb_member, member=lawyer, term_end=date(2026, 1, 1))
    assert services.composition(committee).allowed
    services.irb_member_end(
        actor=cast.irb_admin, member=lawyer, term_end=date(2026, 1, 1), reason="辭任"
    )
    lawyer.refresh_from_db()
    assert lawyer.term_end == date(2026, 1, 1)
    assert not services.composition(committee).allowed  # no legal expert sitting (HR-02)
    assert AuditEvent.objects.filter(object_id=str(lawyer.pk), reason="辭任").exists()
