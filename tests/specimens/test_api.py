"""The specimens API (/api/v1/specimens, /api/v1/collections): keyset pages, filters,
registration (BB-03, HB-02), events (BB-02), lineage, aliquots and derivatives (BB-04)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from biobank.core import services as core_services
from biobank.core.models import AuditEvent
from biobank.participants import rules as consent_rules
from biobank.participants import services as participant_services
from biobank.participants.models import Participant
from biobank.specimens.models import Collection, Lineage, Specimen, SpecimenEvent
from biobank.specimens.services import collections as collection_services
from biobank.specimens.services import specimens as specimen_services
from tests.participants.conftest import general_form  # noqa: F401 (fixture)

D = Decimal
TAIPEI = timezone.get_default_timezone()


class Api:
    """A test client speaking to /api/v1 with one user's bearer token."""

    def __init__(self, client, user) -> None:
        _, plain = core_services.token_create(user=user)
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {plain}"}

    def get(self, path: str, **params):
        return self.client.get(f"/api/v1{path}", params, **self.headers)

    def post(self, path: str, payload: dict | list):
        return self.client.post(
            f"/api/v1{path}", payload, content_type="application/json", **self.headers
        )


def taipei(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TAIPEI)


def refresh(specimen: Specimen) -> Specimen:
    return Specimen.objects.get(pk=specimen.pk)


def consenting(cast, form, code: str) -> Participant:
    participant = participant_services.participant_register(
        actor=cast.manager, organization=cast.demo, code=code, birth_year=1975
    )
    participant_services.consent_record(
        actor=cast.manager,
        participant=participant,
        form=form,
        signed_on=date(2024, 5, 1),
        capacity="adult",
        signed_by="participant",
        permissions=[consent_rules.GRU],
    )
    return participant


def register(cast, participant: Participant | None, code: str = "WHOLE_BLOOD", **kwargs):
    kwargs.setdefault("quantity", D("10"))
    kwargs.setdefault("unit", "mL")
    if participant is None:
        kwargs.setdefault("source_organism", "Mus musculus")
    return specimen_services.specimen_register(
        actor=cast.manager,
        organization=cast.demo,
        material_type=code,
        participant=participant,
        **kwargs,
    )


@pytest.fixture
def person(cast, general_form) -> Participant:  # noqa: F811
    return consenting(cast, general_form, "P-0001")


@pytest.fixture
def collection(cast) -> Collection:
    return collection_services.collection_create(
        actor=cast.manager,
        organization=cast.demo,
        code="TWDM",
        name="第二型糖尿病世代研究",
        principal_investigator="陳建志 醫師",
        irb_reference="DEMO-IRB-2023-117",
        irb_valid_from=date(2023, 1, 1),
        irb_valid_until=date(2027, 12, 31),
    )


@pytest.fixture
def blood(cast, person, collection) -> Specimen:
    return register(cast, person, collection=collection, collected_at=taipei(date(2025, 1, 10)))


@pytest.fixture
def api(cast, client) -> Api:
    return Api(client, cast.technician)


# Lists ---------------------------------------------------------------------------------------


def test_requests_without_credentials_get_401(client, blood):
    assert client.get("/api/v1/specimens").status_code == 401
    assert client.get(f"/api/v1/specimens/{blood.barcode}").status_code == 401


def test_list_pages_by_keyset(cast, client, person):
    made = [register(cast, person, quantity=D("1")) for _ in range(7)]
    made += [register(cast, None, "ANIMAL_TISSUE", quantity=D("1"), unit="g") for _ in range(5)]
    api = Api(client, cast.auditor)
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        params = {"limit": 5} if after is None else {"limit": 5, "after": after}
        response = api.get("/specimens", **params)
        assert response.status_code == 200
        page = response.json()
        assert len(page["items"]) <= 5
        seen += [item["barcode"] for item in page["items"]]
        pages += 1
        after = page["next_after"]
        if after is None:
            break
        assert after == Specimen.objects.get(barcode=seen[-1]).pk
    assert pages == 3
    assert seen == [s.barcode for s in sorted(made, key=lambda s: s.pk)]


def test_list_last_full_page_has_no_next(cast, client, person):
    for _ in range(5):
        register(cast, person, quantity=D("1"))
    page = Api(client, cast.auditor).get("/specimens", limit=5).json()
    assert len(page["items"]) == 5
    assert page["next_after"] is None


def test_list_limit_is_bounded(cast, client, person):
    for _ in range(3):
        register(cast, person, quantity=D("1"))
    api = Api(client, cast.auditor)
    assert len(api.get("/specimens", limit=0).json()["items"]) == 1
    assert len(api.get("/specimens", limit=10_000).json()["items"]) == 3


def test_list_filters(cast, client, general_form, collection):  # noqa: F811
    first = consenting(cast, general_form, "P-0001")
    second = consenting(cast, general_form, "P-0002")
    blood = register(cast, first, collection=collection, collected_at=taipei(date(2024, 6, 1)))
    serum = register(
        cast,
        second,
        "SERUM",
        quantity=D("2"),
        barcode="SER-1",
        collected_at=taipei(date(2024, 7, 1)),
    )
    mouse = register(
        cast, None, "ANIMAL_TISSUE", unit="g", collected_at=taipei(date(2024, 8, 1), 23, 59)
    )
    specimen_services.specimen_mark_missing(actor=cast.manager, specimen=mouse, reason="gone")
    Specimen.objects.filter(pk=serum.pk).update(sprec="SER-SST-A-D-N-A-D")
    api = Api(client, cast.technician)

    def barcodes(**params) -> list[str]:
        response = api.get("/specimens", **params)
        assert response.status_code == 200
        return [item["barcode"] for item in response.json()["items"]]

    assert barcodes() == [blood.barcode, serum.barcode, mouse.barcode]
    assert barcodes(material_type="SERUM") == [serum.barcode]
    assert barcodes(status="missing") == [mouse.barcode]
    assert barcodes(participant="P-0002") == [serum.barcode]
    assert barcodes(collection="TWDM") == [blood.barcode]
    assert barcodes(barcode="SER") == [serum.barcode]
    assert barcodes(sprec="SER-SST") == [serum.barcode]
    assert barcodes(collected_from="2024-06-15", collected_to="2024-08-01") == [
        serum.barcode,
        mouse.barcode,
    ]
    assert barcodes(collected_to="2024-06-01") == [blood.barcode]


def test_list_items_carry_codes_not_identity(cast, client, blood, person):
    (item,) = Api(client, cast.technician).get("/specimens").json()["items"]
    assert item["barcode"] == blood.barcode
    assert item["organization"] == "DEMO"
    assert item["participant"] == person.code
    assert item["collection"] == "TWDM"
    assert item["category"] == "human"
    assert item["material_type"] == item["acquired_type"] == "WHOLE_BLOOD"
    assert D(item["quantity"]) == D(item["remaining"]) == D("10")
    assert item["unit"] == "mL"
    assert item["status"] == "collected"
    assert item["consent_withdrawn"] is False


def test_list_is_scoped_to_the_users_organizations(cast, client, blood):
    specimen_services.specimen_register(
        actor=cast.outsider,
        organization=cast.other,
        material_type="SEED",
        quantity=D("100"),
        unit="pieces",
        source_organism="Oryza sativa",
    )
    outsider = Api(client, cast.outsider).get("/specimens").json()["items"]
    assert [item["organization"] for item in outsider] == ["OTHER"]
    assert Api(client, cast.researcher).get("/specimens").json()["items"] == []


# Registration --------------------------------------------------------------------------------


def test_register_a_human_specimen(cast, api, person, collection):
    response = api.post(
        "/specimens",
        {
            "organization": "DEMO",
            "material_type": "WHOLE_BLOOD",
            "quantity": "10",
            "unit": "mL",
            "participant": person.code,
            "collection": "TWDM",
            "collected_at": "2025-01-10T09:30:00+08:00",
            "container_type": "EDTA tube",
        },
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    specimen = Specimen.objects.get(barcode=data["barcode"])
    assert data["participant"] == person.code
    assert data["collection"] == "TWDM"
    assert data["status"] == "collected"
    assert specimen.collected_at == taipei(date(2025, 1, 10), 9, 30)
    assert specimen.events.get().activity == "collection"
    assert specimen.events.get().by == cast.technician


def test_register_a_non_human_specimen(cast, api):
    response = api.post(
        "/specimens",
        {
            "organization": "DEMO",
            "material_type": "BACTERIAL_ISOLATE",
            "quantity": "1",
            "unit": "pieces",
            "barcode": "TB-ISO-0007",
            "source_organism": "Mycobacterium tuberculosis",
            "source_strain": "H37Rv",
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["barcode"] == "TB-ISO-0007"
    assert response.json()["category"] == "microorganism"
    assert response.json()["participant"] is None


def test_register_human_material_without_participant_is_400_bb03(cast, api):
    response = api.post(
        "/specimens",
        {"organization": "DEMO", "material_type": "SERUM", "quantity": "1", "unit": "mL"},
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["rule"] == "BB-03"
    assert response.json()["message"]
    assert not Specimen.objects.exists()


def test_register_without_consent_is_400_hb02(cast, api):
    participant_services.participant_register(
        actor=cast.manager, organization=cast.demo, code="NO-CONSENT"
    )
    response = api.post(
        "/specimens",
        {
            "organization": "DEMO",
            "material_type": "SERUM",
            "quantity": "1",
            "unit": "mL",
            "participant": "NO-CONSENT",
        },
    )
    assert response.status_code == 400
    assert response.json()["rule"] == "HB-02"


def test_register_non_human_without_source_organism_is_400_bb03(cast, api):
    response = api.post(
        "/specimens",
        {"organization": "DEMO", "material_type": "SEED", "quantity": "10", "unit": "pieces"},
    )
    assert response.status_code == 400
    assert response.json()["rule"] == "BB-03"


def test_register_unknown_material_type_is_400_bb03(cast, api):
    response = api.post(
        "/specimens",
        {
            "organization": "DEMO",
            "material_type": "UNOBTAINIUM",
            "quantity": "1",
            "unit": "mL",
            "source_organism": "x",
        },
    )
    assert response.status_code == 400
    assert response.json()["rule"] == "BB-03"


def test_register_a_negative_quantity_is_400_bb04(cast, api):
    response = api.post(
        "/specimens",
        {
            "organization": "DEMO",
            "material_type": "SEED",
            "quantity": "-1",
            "unit": "pieces",
            "source_organism": "Oryza sativa",
        },
    )
    assert response.status_code == 400
    assert response.json()["rule"] == "BB-04"
    assert not Specimen.objects.exists()


def test_register_collected_in_the_future_is_400_bb02(cast, api):
    later = (timezone.now() + timedelta(hours=2)).isoformat()
    response = api.post(
        "/specimens",
        {
            "organization": "DEMO",
            "material_type": "SEED",
            "quantity": "1",
            "unit": "pieces",
            "source_organism": "Oryza sativa",
            "collected_at": later,
        },
    )
    assert response.status_code == 400
    assert response.json()["rule"] == "BB-02"


def test_register_in_another_organization_is_404(cast, client):
    response = Api(client, cast.outsider).post(
        "/specimens",
        {
            "organization": "DEMO",
            "material_type": "SEED",
            "quantity": "1",
            "unit": "pieces",
            "source_organism": "Oryza sativa",
        },
    )
    assert response.status_code == 404
    assert not Specimen.objects.exists()


def test_register_needs_specimen_manage(cast, client):
    response = Api(client, cast.auditor).post(
        "/specimens",
        {
            "organization": "DEMO",
            "material_type": "SEED",
            "quantity": "1",
            "unit": "pieces",
            "source_organism": "Oryza sativa",
        },
    )
    assert response.status_code == 403
    assert not Specimen.objects.exists()


def test_register_with_an_unknown_collection_is_refused(cast, api):
    """A mistyped collection code must not register the specimen outside any collection."""
    response = api.post(
        "/specimens",
        {
            "organization": "DEMO",
            "material_type": "SEED",
            "quantity": "10",
            "unit": "pieces",
            "source_organism": "Oryza sativa",
            "collection": "NO-SUCH-COLLECTION",
        },
    )
    assert response.status_code in {400, 404}, response.json()
    assert not Specimen.objects.exists()


def test_register_with_an_unknown_participant_is_refused_as_such(cast, api):
    """A mistyped participant code is reported as an unknown participant, not as BB-03."""
    response = api.post(
        "/specimens",
        {
            "organization": "DEMO",
            "material_type": "SERUM",
            "quantity": "1",
            "unit": "mL",
            "participant": "P-TYPO",
        },
    )
    assert response.status_code in {400, 404}
    assert response.json()["rule"] != "BB-03", response.json()
    assert not Specimen.objects.exists()


def test_register_with_a_time_without_offset_is_not_a_server_error(cast, api):
    """A datetime without a UTC offset is read as Taiwan time, as the pages do, or refused."""
    response = api.post(
        "/specimens",
        {
            "organization": "DEMO",
            "material_type": "SEED",
            "quantity": "10",
            "unit": "pieces",
            "source_organism": "Oryza sativa",
            "collected_at": "2025-01-10T09:30:00",
        },
    )
    assert response.status_code in {201, 400, 422}
    if response.status_code == 201:
        specimen = Specimen.objects.get(barcode=response.json()["barcode"])
        assert specimen.collected_at == taipei(date(2025, 1, 10), 9, 30)


# Detail and events ---------------------------------------------------------------------------


def test_detail(cast, api, blood):
    response = api.get(f"/specimens/{blood.barcode}")
    assert response.status_code == 200
    data = response.json()
    assert data["barcode"] == blood.barcode
    assert data["participant"] == "P-0001"
    assert datetime.fromisoformat(data["collected_at"]) == taipei(date(2025, 1, 10))


def test_detail_is_404_elsewhere(cast, client, blood):
    assert Api(client, cast.outsider).get(f"/specimens/{blood.barcode}").status_code == 404
    assert Api(client, cast.researcher).get(f"/specimens/{blood.barcode}").status_code == 404
    response = Api(client, cast.manager).get("/specimens/NO-SUCH-CODE")
    assert response.status_code == 404
    assert response.json() == {"message": "Not found", "rule": None}


def test_events_list_and_record(cast, api, blood):
    response = api.post(
        f"/specimens/{blood.barcode}/events",
        {
            "activity": "reception",
            "at": "2025-01-10T11:00:00+08:00",
            "parameters": {"condition": "intact", "temperature_c": 4},
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["activity"] == "reception"
    assert response.json()["by"] == cast.technician.username
    assert response.json()["parameters"] == {"condition": "intact", "temperature_c": 4.0}
    specimen = refresh(blood)
    assert specimen.status == "received"
    assert specimen.received_at == taipei(date(2025, 1, 10), 11)
    assert specimen.receipt_condition == "intact"

    response = api.post(
        f"/specimens/{blood.barcode}/events",
        {"activity": "thaw", "at": "2025-01-11T08:00:00+08:00"},
    )
    assert response.status_code == 201
    assert refresh(blood).freeze_thaw_count == 1

    events = api.get(f"/specimens/{blood.barcode}/events").json()
    assert [e["activity"] for e in events] == ["collection", "reception", "thaw"]
    assert events[0]["by"] == cast.manager.username
    assert set(events[0]) == {"activity", "at", "by", "sop", "sop_version", "parameters", "result"}


def test_events_of_the_system_have_no_author(cast, api, person):
    specimen = specimen_services.specimen_register(
        actor=None,
        organization=cast.demo,
        material_type="SERUM",
        quantity=D("1"),
        unit="mL",
        participant=person,
    )
    events = api.get(f"/specimens/{specimen.barcode}/events")
    assert events.status_code == 200
    assert events.json()[0]["by"] is None


@pytest.mark.parametrize(
    "payload",
    [
        {"activity": "teleport", "at": "2025-01-11T08:00:00+08:00"},
        {"activity": "storage", "at": "2025-01-11T08:00:00+08:00", "parameters": {}},
        {
            "activity": "storage",
            "at": "2025-01-11T08:00:00+08:00",
            "parameters": {"temperature_c": -80, "colour": "blue"},
        },
    ],
)
def test_bad_events_are_400_bb02(cast, api, blood, payload):
    response = api.post(f"/specimens/{blood.barcode}/events", payload)
    assert response.status_code == 400
    assert response.json()["rule"] == "BB-02"
    assert blood.events.count() == 1


def test_event_in_the_future_is_400_bb02(cast, api, blood):
    later = (timezone.now() + timedelta(days=1)).isoformat()
    response = api.post(f"/specimens/{blood.barcode}/events", {"activity": "thaw", "at": later})
    assert response.status_code == 400
    assert response.json()["rule"] == "BB-02"
    assert refresh(blood).freeze_thaw_count == 0


def test_event_needs_specimen_manage(cast, client, blood):
    response = Api(client, cast.auditor).post(
        f"/specimens/{blood.barcode}/events",
        {"activity": "thaw", "at": "2025-01-11T08:00:00+08:00"},
    )
    assert response.status_code == 403
    assert refresh(blood).freeze_thaw_count == 0


def test_event_with_a_time_without_offset_is_not_a_server_error(cast, api, blood):
    response = api.post(
        f"/specimens/{blood.barcode}/events", {"activity": "thaw", "at": "2025-01-11T08:00:00"}
    )
    assert response.status_code in {201, 400, 422}
    if response.status_code == 201:
        assert blood.events.get(activity="thaw").at == taipei(date(2025, 1, 11), 8)


# Lineage, aliquots, derivatives --------------------------------------------------------------


def test_aliquots(cast, api, blood):
    response = api.post(f"/specimens/{blood.barcode}/aliquots", {"count": 3, "quantity_each": "2"})
    assert response.status_code == 201, response.json()
    made = response.json()
    assert len(made) == 3
    assert {item["material_type"] for item in made} == {"WHOLE_BLOOD"}
    assert {D(item["quantity"]) for item in made} == {D("2")}
    assert {item["participant"] for item in made} == {"P-0001"}
    assert {item["collection"] for item in made} == {"TWDM"}
    assert refresh(blood).remaining == D("4")
    assert Lineage.objects.filter(parent=blood, kind="aliquot").count() == 3


def test_aliquots_taking_everything_deplete_the_parent(cast, api, blood):
    assert (
        api.post(
            f"/specimens/{blood.barcode}/aliquots", {"count": 2, "quantity_each": "5"}
        ).status_code
        == 201
    )
    assert refresh(blood).status == "depleted"
    assert refresh(blood).remaining == 0


def test_aliquots_taking_too_much_are_400_bb04(cast, api, blood):
    specimens, events = Specimen.objects.count(), SpecimenEvent.objects.count()
    audits = AuditEvent.objects.count()
    response = api.post(f"/specimens/{blood.barcode}/aliquots", {"count": 3, "quantity_each": "4"})
    assert response.status_code == 400
    assert response.json()["rule"] == "BB-04"
    assert "12" in response.json()["message"] and "10" in response.json()["message"]
    assert refresh(blood).remaining == D("10")
    assert (Specimen.objects.count(), SpecimenEvent.objects.count()) == (specimens, events)
    assert AuditEvent.objects.count() == audits


def test_derivatives(cast, api, blood):
    response = api.post(
        f"/specimens/{blood.barcode}/derivatives",
        {
            "material_type": "PLASMA",
            "quantity_taken": "5",
            "quantities": ["1", "1"],
            "unit": "mL",
            "parameters": {
                "method": "centrifugation",
                "centrifugation": {"g": 2000, "minutes": 10, "temperature_c": 4},
            },
        },
    )
    assert response.status_code == 201, response.json()
    made = response.json()
    assert [D(item["quantity"]) for item in made] == [D("1"), D("1")]
    assert {(item["material_type"], item["acquired_type"]) for item in made} == {
        ("PLASMA", "WHOLE_BLOOD")
    }
    assert refresh(blood).remaining == D("5")
    child = Specimen.objects.get(barcode=made[0]["barcode"])
    assert child.events.get().parameters["centrifugation"]["g"] == 2000
    assert sum(e.quantity_taken for e in Lineage.objects.filter(parent=blood)) == D("5")


def test_derivative_lineage_edges_add_up_to_the_amount_taken(cast, api, blood):
    """BB-04: quantities are conserved in the lineage record too. 5 mL made into three tubes
    must not be recorded as 3 × 1.6667 = 5.0001 mL taken."""
    response = api.post(
        f"/specimens/{blood.barcode}/derivatives",
        {
            "material_type": "PLASMA",
            "quantity_taken": "5",
            "quantities": ["1", "1", "0.5"],
            "unit": "mL",
        },
    )
    assert response.status_code == 201, response.json()
    assert refresh(blood).remaining == D("5")
    edges = Lineage.objects.filter(parent=blood)
    assert len(edges) == 3
    assert sum(e.quantity_taken for e in edges) == D("5")


def test_derivatives_taking_too_much_are_400_bb04(cast, api, blood):
    response = api.post(
        f"/specimens/{blood.barcode}/derivatives",
        {"material_type": "PLASMA", "quantity_taken": "11", "quantities": ["1"], "unit": "mL"},
    )
    assert response.status_code == 400
    assert response.json()["rule"] == "BB-04"
    assert refresh(blood).remaining == D("10")
    assert not Lineage.objects.exists()


def test_derivative_of_the_same_material_is_400_bb04(cast, api, blood):
    response = api.post(
        f"/specimens/{blood.barcode}/derivatives",
        {"material_type": "WHOLE_BLOOD", "quantity_taken": "1", "quantities": ["1"], "unit": "mL"},
    )
    assert response.status_code == 400
    assert response.json()["rule"] == "BB-04"
    assert refresh(blood).remaining == D("10")


def test_aliquots_of_a_withdrawn_participants_material_are_400_hb03(cast, api, blood, person):
    participant_services.consent_withdraw(
        actor=cast.manager, participant=person, on=timezone.localdate()
    )
    response = api.post(f"/specimens/{blood.barcode}/aliquots", {"count": 1, "quantity_each": "1"})
    assert response.status_code == 400
    assert response.json()["rule"] == "HB-03"
    assert refresh(blood).remaining == D("10")


def test_aliquots_need_specimen_manage(cast, client, blood):
    response = Api(client, cast.auditor).post(
        f"/specimens/{blood.barcode}/aliquots", {"count": 1, "quantity_each": "1"}
    )
    assert response.status_code == 403
    response = Api(client, cast.outsider).post(
        f"/specimens/{blood.barcode}/aliquots", {"count": 1, "quantity_each": "1"}
    )
    assert response.status_code == 404
    assert refresh(blood).remaining == D("10")


def test_lineage(cast, api, blood):
    (plasma,) = specimen_services.specimen_derive(
        actor=cast.manager,
        parent=blood,
        material_type="PLASMA",
        quantity_taken=D("4"),
        quantities=[D("2")],
        unit="mL",
    )
    tubes = specimen_services.specimen_aliquot(
        actor=cast.manager, parent=plasma, count=2, quantity_each=D("0.5")
    )
    (buffy,) = specimen_services.specimen_derive(
        actor=cast.manager,
        parent=blood,
        material_type="BUFFY_COAT",
        quantity_taken=D("1"),
        quantities=[D("0.5")],
        unit="mL",
    )

    top = api.get(f"/specimens/{blood.barcode}/lineage").json()
    assert top["barcode"] == blood.barcode
    assert top["parents"] == []
    assert top["root"] == blood.barcode
    descendants = top["descendants"]
    assert [(d["barcode"], d["kind"], D(d["quantity_taken"])) for d in descendants] == [
        (plasma.barcode, "derivative", D("4")),
        (buffy.barcode, "derivative", D("1")),
    ]
    assert descendants[0]["material_type"] == "PLASMA"
    assert D(descendants[0]["remaining"]) == D("1")
    nested = descendants[0]["children"]
    assert [(n["barcode"], n["kind"], D(n["quantity_taken"])) for n in nested] == [
        (tubes[0].barcode, "aliquot", D("0.5")),
        (tubes[1].barcode, "aliquot", D("0.5")),
    ]
    assert all(n["children"] == [] for n in nested)
    assert descendants[1]["children"] == []

    leaf = api.get(f"/specimens/{tubes[1].barcode}/lineage").json()
    assert leaf["parents"] == [
        {"barcode": plasma.barcode, "kind": "aliquot", "quantity_taken": "0.5000"}
    ]
    assert leaf["root"] == blood.barcode
    assert leaf["descendants"] == []

    middle = api.get(f"/specimens/{plasma.barcode}/lineage").json()
    assert [p["barcode"] for p in middle["parents"]] == [blood.barcode]
    assert [d["barcode"] for d in middle["descendants"]] == [t.barcode for t in tubes]


def test_lineage_of_a_pool_names_every_parent(cast, api, general_form):  # noqa: F811
    first = register(cast, consenting(cast, general_form, "P-0001"), "SERUM", quantity=D("2"))
    second = register(cast, consenting(cast, general_form, "P-0002"), "SERUM", quantity=D("2"))
    pooled = specimen_services.specimen_pool(
        actor=cast.manager, parents=[(first, D("1")), (second, D("1"))], quantity=D("2")
    )
    data = api.get(f"/specimens/{pooled.barcode}/lineage").json()
    assert sorted(p["barcode"] for p in data["parents"]) == sorted([first.barcode, second.barcode])
    assert {p["kind"] for p in data["parents"]} == {"pool"}
    assert data["root"] in {first.barcode, second.barcode}
    assert api.get(f"/specimens/{pooled.barcode}").json()["participant"] is None


# Collections ---------------------------------------------------------------------------------


def test_collections(cast, client, collection):
    collection_services.collection_create(
        actor=cast.outsider,
        organization=cast.other,
        code="ELSEWHERE",
        name="他院計畫",
        principal_investigator="X",
    )
    response = Api(client, cast.technician).get("/collections")
    assert response.status_code == 200
    (item,) = response.json()
    assert item == {
        "id": str(collection.public_id),
        "organization": "DEMO",
        "code": "TWDM",
        "name": "第二型糖尿病世代研究",
        "kind": "cohort",
        "principal_investigator": "陳建志 醫師",
        "irb_reference": "DEMO-IRB-2023-117",
        "irb_valid_from": "2023-01-01",
        "irb_valid_until": "2027-12-31",
    }
    assert [c["code"] for c in Api(client, cast.outsider).get("/collections").json()] == [
        "ELSEWHERE"
    ]
    assert Api(client, cast.researcher).get("/collections").json() == []
