"""The register: the agent catalogue (seeded by migration, each with its source) and
infectious materials (BS-01 classes, BS-04 levels)."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

from biobank import biosafety
from biobank.biosafety import services
from biobank.biosafety.models import Agent, InfectiousMaterial
from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import AuditEvent
from tests.biosafety.conftest import agent, register

pytestmark = pytest.mark.django_db


def test_the_catalogue_holds_the_agents_the_issue_names_with_their_sources():
    expected = {
        "e-coli-k12": 1,
        "s-aureus": 2,
        "hbv": 2,
        "m-tuberculosis": 3,
        "hiv": 3,
        "h5n1-hpai": 3,
        "asfv": 3,
        "fmdv": 3,
        "ebola": 4,
    }
    for code, risk_group in expected.items():
        assert agent(code).risk_group == risk_group, code
    assert Agent.objects.filter(organization__isnull=True).count() >= 36
    assert not Agent.objects.filter(source="").exists()
    assert {a.risk_group for a in Agent.objects.all()} == {1, 2, 3, 4}


def test_the_catalogue_csv_is_well_formed():
    path = Path(biosafety.__file__).resolve().parent / "data" / "agents.csv"
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes))
    for row in rows:
        assert row["kind"] in Agent.Kind.values
        assert row["zoonotic"] in {"0", "1"} and row["controlled"] in {"0", "1"}


def test_an_organization_adds_its_own_agent_with_a_source(cast):
    made = services.agent_create(
        actor=cast.biosafety,
        organization=cast.demo,
        code="local-strain",
        name="Local isolate X",
        kind="bacterium",
        risk_group=2,
        source="committee decision 2026-03",
    )
    assert made.organization == cast.demo
    assert AuditEvent.objects.filter(object_type="biosafety.agent", object_id=str(made.pk))


def test_an_agent_without_a_source_or_with_a_bad_risk_group_is_refused(cast):
    base = {"organization": cast.demo, "code": "x", "name": "X", "kind": "virus"}
    with pytest.raises(ApplicationError) as refused:
        services.agent_create(actor=cast.biosafety, risk_group=2, source=" ", **base)
    assert refused.value.rule == "BS-02"
    with pytest.raises(ApplicationError):
        services.agent_create(actor=cast.biosafety, risk_group=5, source="s", **base)
    with pytest.raises(ApplicationError):  # the catalogue's code is taken
        services.agent_create(
            actor=cast.biosafety, risk_group=2, source="s", **{**base, "code": "hbv"}
        )


def test_only_biosafety_managers_add_agents(cast):
    with pytest.raises(PermissionDenied):
        services.agent_create(
            actor=cast.technician,
            organization=cast.demo,
            code="x",
            name="X",
            kind="virus",
            risk_group=2,
            source="s",
        )


def test_the_shared_catalogue_is_not_edited_by_an_organization(cast):
    with pytest.raises(ApplicationError):
        services.agent_update(actor=cast.biosafety, agent=agent("hbv"), risk_group=3)


def test_an_organizations_agent_is_edited_with_an_audit_event(cast):
    own = services.agent_create(
        actor=cast.biosafety,
        organization=cast.demo,
        code="own",
        name="Own",
        kind="virus",
        risk_group=2,
        source="s",
    )
    services.agent_update(actor=cast.biosafety, agent=own, risk_group=3, reason="reclassified")
    own.refresh_from_db()
    assert own.risk_group == 3
    event = AuditEvent.objects.filter(object_type="biosafety.agent").latest("sequence")
    assert event.before["risk_group"] == 2 and event.after["risk_group"] == 3
    with pytest.raises(ApplicationError):
        services.agent_update(actor=cast.biosafety, agent=own, colour="red")


def test_material_is_recorded_with_its_class_regime_and_audit(cast, tb_stock):
    assert tb_stock.material_class == InfectiousMaterial.MaterialClass.PATHOGEN
    assert tb_stock.status == "held"
    assert AuditEvent.objects.filter(
        object_type="biosafety.infectiousmaterial", action="create"
    ).exists()


def test_the_animal_regime_holds_only_pathogens_of_designated_animal_diseases(cast):
    with pytest.raises(ApplicationError) as refused:
        register(cast, cast.demo_site, "TB-A", "m-tuberculosis", regime="animal")
    assert refused.value.rule == "BS-01"
    held = register(cast, cast.demo_site, "ASF-1", "asfv", regime="animal")
    assert held.regimes == ("animal",)


def test_a_zoonotic_animal_pathogen_brings_the_human_regime_too(cast):
    held = register(cast, cast.demo_site, "H5-1", "h5n1-hpai", regime="animal")
    assert held.regimes == ("animal", "human")


@pytest.mark.parametrize(
    ("extra", "rule"),
    [
        ({"material_class": 4}, "BS-01"),
        ({"inactivation": "none", "inactivation_validated": True}, "BS-04"),
        ({"quantity": Decimal("-1")}, None),
        ({"form": "powder"}, None),
        ({"regime": "plant"}, None),
    ],
)
def test_material_with_bad_values_is_refused(cast, extra, rule):
    with pytest.raises(ApplicationError) as refused:
        register(cast, cast.demo_site, "BAD", "hbv", **extra)
    assert refused.value.rule == rule


def test_material_of_another_organizations_site_or_agent_is_refused(cast):
    with pytest.raises(ApplicationError):
        register(cast, cast.other_site, "X1", "hbv")
    theirs = services.agent_create(
        actor=cast.outsider,
        organization=cast.other,
        code="theirs",
        name="Theirs",
        kind="virus",
        risk_group=2,
        source="s",
    )
    with pytest.raises(ApplicationError):
        services.material_register(
            actor=cast.biosafety,
            organization=cast.demo,
            code="X2",
            agent=theirs,
            material_class=1,
            regime="human",
            form="stock",
            quantity=Decimal(1),
            unit="vial",
            site=cast.demo_site,
        )


def test_duplicate_material_code_is_refused(cast, tb_stock):
    with pytest.raises(ApplicationError):
        register(cast, cast.demo_site, "MTB-001", "m-tuberculosis")


def test_level_check_compares_the_site_with_bs04(cast, bsl2, tb_stock):
    level, sufficient = services.material_level_check(tb_stock)
    assert level.minimum == "BSL3" and sufficient.allowed
    level, sufficient = services.material_level_check(tb_stock, bsl2)
    assert not sufficient.allowed and sufficient.rule == "BS-04"
    level, sufficient = services.material_level_check(tb_stock, bsl2, propagating=False)
    assert level.minimum == "BSL2" and sufficient.allowed


def test_validly_inactivated_material_needs_committee_approval_for_a_lower_level(cast, bsl2):
    killed = register(
        cast,
        bsl2,
        "MTB-HK",
        "m-tuberculosis",
        material_class=2,
        inactivation="heat",
        inactivation_validated=True,
    )
    level, _sufficient = services.material_level_check(killed)
    assert level.needs_committee_approval


def test_material_update_records_the_change_and_refuses_a_destroyed_material(cast, tb_stock):
    services.material_update(
        actor=cast.biosafety, material=tb_stock, reason="used", quantity=Decimal("4")
    )
    tb_stock.refresh_from_db()
    assert tb_stock.quantity == 4
    with pytest.raises(ApplicationError):
        services.material_update(actor=cast.biosafety, material=tb_stock, reason="", unit="mL")
    with pytest.raises(ApplicationError):
        services.material_update(actor=cast.biosafety, material=tb_stock, reason="x", agent=1)
    InfectiousMaterial.objects.filter(pk=tb_stock.pk).update(status="destroyed")
    with pytest.raises(ApplicationError) as refused:
        services.material_update(
            actor=cast.biosafety, material=tb_stock, reason="x", quantity=Decimal(1)
        )
    assert refused.value.rule == "BS-15"


def test_pages_list_and_show_agents_and_materials(
    cast, client, tb_stock, django_assert_max_num_queries
):
    client.force_login(cast.biosafety)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("biosafety:material-list"))
    assert "MTB-001" in page.content.decode()
    detail = client.get(reverse("biosafety:material-detail", args=[tb_stock.public_id]))
    assert "BSL3" in detail.content.decode()
    with django_assert_max_num_queries(12):
        agents = client.get(reverse("biosafety:agent-list"))
    assert "Ebola" in agents.content.decode()
    hbv = client.get(reverse("biosafety:agent-detail", args=[agent("hbv").public_id]))
    assert hbv.status_code == 200 and "BSL2" in hbv.content.decode()


def test_material_is_recorded_through_the_page(cast, client):
    client.force_login(cast.biosafety)
    assert client.get(reverse("biosafety:material-create")).status_code == 200
    response = client.post(
        reverse("biosafety:material-create"),
        {
            "code": "HBV-1",
            "agent": agent("hbv").pk,
            "material_class": 3,
            "regime": "human",
            "form": "serum",
            "quantity": "2",
            "unit": "mL",
            "site": cast.demo_site.pk,
            "inactivation": "none",
        },
    )
    made = InfectiousMaterial.objects.get(code="HBV-1")
    assert response.status_code == 302 and made.material_class == 3


def test_agent_is_added_through_the_page(cast, client):
    client.force_login(cast.biosafety)
    assert client.get(reverse("biosafety:agent-create")).status_code == 200
    response = client.post(
        reverse("biosafety:agent-create"),
        {"code": "own-1", "name": "Own 1", "kind": "virus", "risk_group": 2, "source": "SOP"},
    )
    assert response.status_code == 302
    assert Agent.objects.filter(organization=cast.demo, code="own-1").exists()


def test_a_technician_cannot_open_the_create_pages(cast, client):
    client.force_login(cast.technician)
    assert client.get(reverse("biosafety:material-create")).status_code == 404


def test_api_lists_agents_and_registers_material(cast, client):
    client.force_login(cast.biosafety)
    agents = client.get("/api/v1/biosafety/agents").json()
    assert any(a["code"] == "ebola" and a["risk_group"] == 4 for a in agents)
    created = client.post(
        "/api/v1/biosafety/materials",
        {
            "organization": "DEMO",
            "code": "API-1",
            "agent": str(agent("hiv").public_id),
            "material_class": 1,
            "regime": "human",
            "form": "culture",
            "quantity": "3",
            "unit": "vial",
            "site": "LAB-BSL3",
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["risk_group"] == 3
    detail = client.get(f"/api/v1/biosafety/materials/{body['id']}")
    assert detail.json()["code"] == "API-1"
    assert [m["code"] for m in client.get("/api/v1/biosafety/materials").json()] == ["API-1"]
