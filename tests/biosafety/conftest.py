"""Shared set-up for biosafety tests: a BSL2 lab next to the cast's BSL3 lab, an ABSL2
animal room, and a few registered materials."""

from __future__ import annotations

from decimal import Decimal

import pytest

from biobank.biosafety import services
from biobank.biosafety.models import Agent, InfectiousMaterial
from biobank.core import services as core_services
from biobank.core.models import Site


def agent(code: str) -> Agent:
    return Agent.objects.get(organization__isnull=True, code=code)


@pytest.fixture
def bsl2(cast) -> Site:
    return core_services.site_create(
        actor=None,
        organization=cast.demo,
        code="LAB-BSL2",
        name="檢體處理實驗室",
        kind="lab",
        containment="BSL2",
    )


@pytest.fixture
def absl2(cast) -> Site:
    return core_services.site_create(
        actor=None,
        organization=cast.demo,
        code="ABSL2-ROOM",
        name="動物房",
        kind="animal_room",
        containment="ABSL2",
    )


def register(cast, site: Site, code: str, agent_code: str, **extra) -> InfectiousMaterial:
    arguments = {
        "material_class": 1,
        "regime": "human",
        "form": "stock",
        "quantity": Decimal("5"),
        "unit": "vial",
        **extra,
    }
    return services.material_register(
        actor=cast.biosafety,
        organization=cast.demo,
        code=code,
        agent=agent(agent_code),
        site=site,
        **arguments,
    )


@pytest.fixture
def tb_stock(cast) -> InfectiousMaterial:
    return register(cast, cast.demo_site, "MTB-001", "m-tuberculosis")
