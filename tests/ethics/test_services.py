"""IRB roster and self-assessment through the services and pages (HR-02, EC-02 … EC-04)."""

from __future__ import annotations

from datetime import date

import pytest

from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.ethics import rules, services
from biobank.ethics.models import AuditCriterion


@pytest.fixture
def irb(cast):
    irb = services.irb_create(
        actor=cast.irb_admin,
        organization=cast.demo,
        code="IRB-1",
        name="IRB",
        kind="institution",
        previously_passed=True,
    )
    for name, gender, external, scientist, legal in [
        ("a", "M", False, True, False),
        ("b", "F", False, True, False),
        ("c", "M", True, True, False),
        ("d", "F", True, False, True),
        ("e", "F", False, True, False),
    ]:
        services.irb_member_add(
            actor=cast.irb_admin,
            irb=irb,
            name=name,
            gender=gender,
            external=external,
            scientist=scientist,
            legal_expert=legal,
            term_start=date(2025, 1, 1),
        )
    return irb


def test_ec02_the_57_criteria_are_loaded_by_migration(db):
    assert AuditCriterion.objects.count() == 57
    assert AuditCriterion.objects.get(number="1.4").kind == "mandatory"


def test_hr02_roster_composition_answers_criterion_1_4(cast, irb):
    assert services.composition(irb)
    services.irb_member_add(
        actor=cast.irb_admin,
        irb=irb,
        name="f",
        gender="M",
        external=False,
        term_start=date(2025, 1, 1),
    )
    services.irb_member_add(
        actor=cast.irb_admin,
        irb=irb,
        name="g",
        gender="M",
        external=False,
        term_start=date(2025, 1, 1),
    )
    check = services.composition(irb)  # 3 external of 7 < 2/5? 2/7 external now
    assert not check and any("external" in r for r in check.reasons)


def test_only_irb_administrators_manage_the_roster(cast, irb):
    with pytest.raises(PermissionDenied):
        services.irb_member_add(actor=cast.manager, irb=irb, name="x", gender="F", external=True)


def test_ec03_na_is_refused_where_the_criterion_does_not_allow_it(cast, irb):
    with pytest.raises(ApplicationError) as error:
        services.self_assessment_rate(
            actor=cast.irb_admin, irb=irb, year=2026, number="1.1", rating="na"
        )
    assert error.value.rule == "EC-03"
    not_passed_before = next(
        c for c in rules.load_criteria() if c.kind == rules.OPTIONAL_IF_NOT_PASSED
    )
    with pytest.raises(ApplicationError):  # *可 after a previous pass
        services.self_assessment_rate(
            actor=cast.irb_admin, irb=irb, year=2026, number=not_passed_before.number, rating="na"
        )


def test_ec04_live_score_once_every_criterion_is_rated(cast, irb):
    for criterion in rules.load_criteria():
        services.self_assessment_rate(
            actor=cast.irb_admin, irb=irb, year=2026, number=criterion.number, rating="compliant"
        )
    assessment = irb.self_assessments.get()
    live = services.live_score(irb, assessment)
    assert live.score is not None and live.score.passed and live.needed == 0
    services.self_assessment_rate(
        actor=cast.irb_admin, irb=irb, year=2026, number="1.4", rating="non_compliant"
    )
    live = services.live_score(irb, irb.self_assessments.get())
    assert live.score is not None and not live.score.passed
    assert live.score.failed_mandatory == ("1.4",)


def test_self_assessment_page_suggests_1_4_from_the_roster_and_saves_ratings(cast, irb, client):
    client.force_login(cast.irb_admin)
    url = f"/ethics/{irb.public_id}/self-assessment/2026/"
    page = client.get(url).content.decode()
    assert page.count('name="rating"') == 57
    assert "compliant" in page
    client.post(url, {"number": "2.17", "rating": "excellent", "evidence": "97 % on time"})
    assert irb.self_assessments.get().ratings == {"2.17": "excellent"}
    client.force_login(cast.auditor)
    assert client.get(url).status_code == 200  # auditors read it
    assert 'name="rating"' not in client.get(url).content.decode()
