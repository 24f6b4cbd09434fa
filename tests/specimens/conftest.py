"""Shared set-up for specimen tests: a consenting participant and a helper to register."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from biobank.participants import rules as consent_rules
from biobank.participants import services as participant_services
from biobank.participants.models import Participant
from biobank.specimens.models import Specimen
from biobank.specimens.services import specimens as specimen_services
from tests.participants.conftest import general_form  # noqa: F401 (fixture)


@pytest.fixture
def consenting(cast, general_form) -> Participant:  # noqa: F811
    participant = participant_services.participant_register(
        actor=cast.technician, organization=cast.demo, code="DM0001", birth_year=1970
    )
    participant_services.consent_record(
        actor=cast.technician,
        participant=participant,
        form=general_form,
        signed_on=date(2024, 4, 2),
        capacity="adult",
        signed_by="participant",
        permissions=[consent_rules.GRU],
    )
    return participant


def blood(cast, participant: Participant, quantity: str = "10", **kwargs) -> Specimen:
    return specimen_services.specimen_register(
        actor=cast.technician,
        organization=cast.demo,
        material_type="WHOLE_BLOOD",
        quantity=Decimal(quantity),
        unit="mL",
        participant=participant,
        **kwargs,
    )
