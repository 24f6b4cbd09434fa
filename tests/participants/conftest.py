"""Shared set-up for participant tests: a consent form like the demo's GEN v3."""

from __future__ import annotations

from datetime import date

import pytest

from biobank.participants import rules, services
from biobank.participants.identity_numbers import is_valid_national_id
from biobank.participants.models import ConsentForm


def national_id(letter: str = "A", sex_digit: str = "1", serial: int = 1234567) -> str:
    body = f"{letter}{sex_digit}{serial:07d}"
    return next(body + str(d) for d in range(10) if is_valid_national_id(body + str(d)))


@pytest.fixture
def general_form(cast) -> ConsentForm:
    return services.consent_form_create(
        actor=cast.manager,
        organization=cast.demo,
        code="GEN",
        version="3",
        title="General research use",
        committee_reference="DEMO-IRB-2024-031",
        approved_on=date(2024, 3, 1),
        permissions=[rules.GRU, rules.HMB, rules.DS],
        modifiers=[rules.NCU],
        offers_nhi_linkage=True,
        offers_after_death=True,
        offers_recontact=True,
        duration_years=20,
    )
