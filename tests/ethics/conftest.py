"""An IRB with a lawful roster, shared by the ethics tests."""

from __future__ import annotations

from datetime import date

import pytest

from biobank.core import services as core_services
from biobank.core.roles import Role
from biobank.ethics import rules, services
from tests.factories import UserFactory

ROSTER = [
    ("陳主委", "M", False, "chair", True, False),
    ("林委員", "F", False, "member", True, False),
    ("黃委員", "M", True, "member", True, False),
    ("張律師", "F", True, "member", False, True),
    ("王委員", "M", False, "member", True, False),
    ("李社區", "F", True, "member", False, False),
    ("趙秘書", "F", False, "staff", True, False),
]


@pytest.fixture
def committee(cast):
    irb = services.irb_create(
        actor=cast.irb_admin,
        organization=cast.demo,
        code="DEMO-IRB",
        name="示範醫院人體試驗委員會",
        kind="institution",
        previously_passed=True,
    )
    for name, gender, external, role, scientist, legal in ROSTER:
        services.irb_member_add(
            actor=cast.irb_admin,
            irb=irb,
            name=name,
            gender=gender,
            external=external,
            role=role,
            scientist=scientist,
            legal_expert=legal,
            term_start=date(2025, 1, 1),
        )
    return irb


def member(irb, name):
    return irb.members.get(name=name)


@pytest.fixture
def body(cast):
    """MOHW's commissioned organization, with its administrator and two auditors."""
    mohw = core_services.organization_create(
        actor=None, code="MOHW", name_zh="衛生福利部", kind="authority"
    )
    people = {}
    for name, role in [
        ("officer", Role.IRB_ADMIN),
        ("a1", Role.IRB_MEMBER),
        ("a2", Role.IRB_MEMBER),
    ]:
        people[name] = UserFactory(username=name)
        core_services.membership_add(actor=None, organization=mohw, user=people[name], role=role)
    return mohw, people


def all_rated(rating, **overrides):
    """A sheet rating every criterion ``rating``, but for ``overrides`` ("2.6"=...)."""
    ratings = {c.number: rating for c in rules.load_criteria()}
    ratings.update(overrides)
    return ratings
