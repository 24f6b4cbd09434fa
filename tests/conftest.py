"""The named cast of users every test can ask for, in organization DEMO, plus an outsider."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from biobank.core import services
from biobank.core.models import Organization, Site, User
from biobank.core.roles import Role
from tests.factories import TEST_PASSWORD, UserFactory

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_path(*parts: str) -> Path:
    """A file under ../shared; skips with a reason when absent, fails under CI=true."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"{path} is absent (../shared is not beside this clone)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(autouse=True)
def english_messages() -> object:
    """Service messages in English, so tests can match them (pages follow the request)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def reference_data(request: pytest.FixtureRequest) -> None:
    """Reference data the migrations load (rules, DUO terms, material types …).

    A transactional test empties every table when it ends; serialized_rollback should bring
    the migration data back, but does not for every ordering of tests. Loading it again
    through the migrations' own functions, when a table is empty, makes each test whole.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and marker.kwargs.get("transaction", False)
    if not transactional and not {"transactional_db", "live_server"} & set(request.fixturenames):
        return
    request.getfixturevalue("transactional_db")
    import importlib

    from django.apps import apps

    from biobank.core.models import Rule
    from biobank.participants.models import DuoTerm
    from biobank.specimens.models import MaterialType

    loaders = [
        (Rule, "biobank.core.migrations.0002_load_rules", "load_rules"),
        (DuoTerm, "biobank.participants.migrations.0002_load_duo_terms", "load"),
        (MaterialType, "biobank.specimens.migrations.0002_load_reference_data", "load"),
    ]
    for model, module, function in loaders:
        if not model.objects.exists():
            getattr(importlib.import_module(module), function)(apps, None)


@dataclass
class Cast:
    demo: Organization
    other: Organization
    manager: User
    technician: User
    qa: User
    biosafety: User
    irb_admin: User
    irb_member: User
    researcher: User
    auditor: User
    platform_admin: User
    outsider: User
    demo_site: Site
    other_site: Site
    password: str = TEST_PASSWORD


def _person(username: str, organization: Organization, role: Role) -> User:
    user = UserFactory(username=username)
    services.membership_add(actor=None, organization=organization, user=user, role=role)
    return user


@pytest.fixture
def cast(db: None) -> Cast:
    demo = services.organization_create(
        actor=None, code="DEMO", name_zh="示範生物資料庫", name_en="Demo biobank", kind="hospital"
    )
    other = services.organization_create(
        actor=None, code="OTHER", name_zh="他院", name_en="Other biobank", kind="biobank"
    )
    platform = services.organization_create(
        actor=None, code="PLATFORM", name_zh="平台", name_en="Platform", kind="platform"
    )
    return Cast(
        demo=demo,
        other=other,
        manager=_person("lin", demo, Role.BIOBANK_MANAGER),
        technician=_person("chen", demo, Role.TECHNICIAN),
        qa=_person("wang", demo, Role.QA_OFFICER),
        biosafety=_person("chang", demo, Role.BIOSAFETY_OFFICER),
        irb_admin=_person("lee", demo, Role.IRB_ADMIN),
        irb_member=_person("chao", demo, Role.IRB_MEMBER),
        researcher=_person("huang", demo, Role.RESEARCHER),
        auditor=_person("wu", demo, Role.AUDITOR),
        platform_admin=_person("admin", platform, Role.PLATFORM_ADMIN),
        outsider=_person("outsider", other, Role.BIOBANK_MANAGER),
        demo_site=services.site_create(
            actor=None,
            organization=demo,
            code="LAB-BSL3",
            name="結核菌實驗室",
            kind="lab",
            containment="BSL3",
        ),
        other_site=services.site_create(
            actor=None,
            organization=other,
            code="OTHER-LAB",
            name="他院實驗室",
            kind="lab",
            containment="BSL2",
        ),
    )
