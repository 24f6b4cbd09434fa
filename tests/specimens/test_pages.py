"""The specimens pages: collections and their planned tree, visits, the keyset search, the
specimen page with its timeline and lineage, the actions on it (BB-02, BB-04), labels, and the
registration form (BB-03, HB-02). Pages default to zh-Hant; tests either switch to English or
match language-neutral things (barcodes, rule codes, status values)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.utils import timezone

from biobank.core.models import AuditEvent
from biobank.participants import rules as consent_rules
from biobank.participants import services as participant_services
from biobank.participants.models import Participant
from biobank.participants.vault import Identity
from biobank.specimens.models import (
    Collection,
    Lineage,
    MaterialType,
    Specimen,
    SpecimenEvent,
    SpecimenRequirement,
)
from biobank.specimens.services import collections as collection_services
from biobank.specimens.services import specimens as specimen_services
from tests.participants.conftest import general_form, national_id  # noqa: F401 (fixture)

D = Decimal
TAIPEI = timezone.get_default_timezone()
NAME = "王美玲"
SEARCH = "/specimens/"
NEW = "/specimens/new/"
LABELS = "/specimens/labels/"
COLLECTIONS = "/specimens/collections/"


# Helpers -------------------------------------------------------------------------------------


def english(client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def errors_of(response) -> list[str]:
    return [text for level, text in messages_of(response) if level == "error"]


def body(response) -> str:
    return response.content.decode()


def mtype(code: str) -> MaterialType:
    return MaterialType.objects.get(code=code, organization__isnull=True)


def taipei(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TAIPEI)


def detail(barcode: str) -> str:
    return f"/specimens/{barcode}/"


def action(barcode: str, name: str) -> str:
    return f"/specimens/{barcode}/{name}/"


def refresh(specimen: Specimen) -> Specimen:
    return Specimen.objects.get(pk=specimen.pk)


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


def consenting(cast, form, code: str, **identity) -> Participant:
    participant = participant_services.participant_register(
        actor=cast.manager,
        organization=cast.demo,
        code=code,
        sex="F",
        birth_year=1975,
        identity=Identity(**identity) if identity else None,
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


@pytest.fixture
def person(cast, general_form) -> Participant:  # noqa: F811
    return consenting(cast, general_form, "P-0001", name=NAME, national_id=national_id())


@pytest.fixture
def collection(cast) -> Collection:
    return collection_services.collection_create(
        actor=cast.manager,
        organization=cast.demo,
        code="TWDM",
        name="第二型糖尿病世代研究",
        principal_investigator="陳建志 醫師",
        irb_reference="DEMO-IRB-2023-117",
    )


@pytest.fixture
def planned(cast, collection) -> Collection:
    """Whole blood 10 mL → 2 × plasma 0.5 mL (2.5 mL each) + buffy coat 0.5 mL (1 mL)."""
    blood = collection_services.collection_plan_add(
        actor=cast.manager,
        collection=collection,
        label="EDTA whole blood",
        kind="primary",
        material_type="WHOLE_BLOOD",
        quantity=D("10"),
        unit="mL",
    )
    collection_services.collection_plan_add(
        actor=cast.manager,
        collection=collection,
        label="plasma",
        kind="derivative",
        parent=blood,
        material_type="PLASMA",
        count=2,
        quantity=D("0.5"),
        unit="mL",
        quantity_taken=D("2.5"),
    )
    collection_services.collection_plan_add(
        actor=cast.manager,
        collection=collection,
        label="buffy coat",
        kind="derivative",
        parent=blood,
        material_type="BUFFY_COAT",
        quantity=D("0.5"),
        unit="mL",
        quantity_taken=D("1"),
    )
    return collection


@pytest.fixture
def blood(cast, person) -> Specimen:
    return register(cast, person, collected_at=taipei(date(2025, 1, 10)))


# Collections ---------------------------------------------------------------------------------


def test_collection_list_shows_the_organizations_collections(cast, client, collection):
    collection_services.collection_create(
        actor=cast.outsider,
        organization=cast.other,
        code="ELSEWHERE",
        name="他院計畫",
        principal_investigator="X",
    )
    client.force_login(cast.technician)
    response = client.get(COLLECTIONS)
    assert response.status_code == 200
    text = body(response)
    assert "TWDM" in text
    assert f"/specimens/collections/{collection.public_id}/" in text
    assert "ELSEWHERE" not in text
    # a technician cannot create collections, so the page offers no form
    assert 'name="principal_investigator"' not in text


def test_manager_creates_a_collection(cast, client):
    client.force_login(cast.manager)
    assert 'name="principal_investigator"' in body(client.get(COLLECTIONS))
    response = client.post(
        COLLECTIONS,
        {
            "code": "TUMOR",
            "name": "腫瘤組織庫",
            "kind": "protocol",
            "principal_investigator": "許文華 醫師",
            "irb_reference": "DEMO-IRB-2022-045",
            "irb_valid_from": "2023-01-01",
            "irb_valid_until": "2027-12-31",
        },
    )
    made = Collection.objects.get(code="TUMOR")
    assert response.status_code == 302
    assert response["Location"] == f"/specimens/collections/{made.public_id}/"
    assert made.organization == cast.demo
    assert made.kind == "protocol"
    assert made.irb_valid_until == date(2027, 12, 31)
    assert AuditEvent.objects.filter(action="create", object_repr__contains="TUMOR").exists()
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "TUMOR" in body(page)


def test_creating_a_collection_twice_is_refused_with_a_message(cast, client, collection):
    client.force_login(cast.manager)
    response = client.post(
        COLLECTIONS,
        {"code": "TWDM", "name": "again", "kind": "cohort", "principal_investigator": "X"},
    )
    assert response.status_code == 200
    assert any("TWDM" in text for text in errors_of(response))
    assert Collection.objects.filter(code="TWDM").count() == 1


def test_technician_posting_a_collection_gets_404(cast, client):
    client.force_login(cast.technician)
    response = client.post(
        COLLECTIONS,
        {"code": "NOPE", "name": "nope", "kind": "cohort", "principal_investigator": "X"},
    )
    assert response.status_code == 404
    assert not Collection.objects.exists()


def test_collection_of_another_organization_is_404(cast, client, collection):
    client.force_login(cast.outsider)
    assert client.get(f"/specimens/collections/{collection.public_id}/").status_code == 404


def plan_post(client, collection, **fields):
    data = {
        "plan-parent": "",
        "plan-kind": "primary",
        "plan-label": "",
        "plan-count": "1",
        "plan-unit": "mL",
        "plan-quantity_taken": "",
        "plan-container_type": "",
    }
    data.update({f"plan-{key}": value for key, value in fields.items()})
    return client.post(f"/specimens/collections/{collection.public_id}/", data)


def test_plan_form_builds_the_tree_and_a_visit_follows_it(cast, client, collection, person):
    client.force_login(cast.manager)
    url = f"/specimens/collections/{collection.public_id}/"
    response = plan_post(
        client,
        collection,
        kind="primary",
        label="EDTA 全血",
        material_type=mtype("WHOLE_BLOOD").pk,
        quantity="10",
        container_type="EDTA tube 10 mL",
    )
    assert response.status_code == 302, errors_of(response)
    root = SpecimenRequirement.objects.get(collection=collection, parent=None)
    assert (
        plan_post(
            client,
            collection,
            parent=root.pk,
            kind="derivative",
            label="血漿",
            material_type=mtype("PLASMA").pk,
            count="2",
            quantity="0.5",
            quantity_taken="2.5",
        ).status_code
        == 302
    )
    assert (
        plan_post(
            client,
            collection,
            parent=root.pk,
            kind="derivative",
            label="白血球層",
            material_type=mtype("BUFFY_COAT").pk,
            quantity="0.5",
            quantity_taken="1",
        ).status_code
        == 302
    )
    plan = {r.material_type.code: r for r in collection.plan.select_related("material_type")}
    assert set(plan) == {"WHOLE_BLOOD", "PLASMA", "BUFFY_COAT"}
    assert plan["PLASMA"].parent == root and plan["PLASMA"].count == 2
    assert plan["PLASMA"].quantity_taken == D("2.5")
    assert plan["BUFFY_COAT"].parent == root and plan["BUFFY_COAT"].quantity_taken == D("1")
    page = body(client.get(url))
    assert "EDTA 全血" in page and "血漿" in page and "白血球層" in page

    response = client.post(
        url,
        {
            "visit-participant_code": person.code,
            "visit-collected_at": "2025-01-10T09:30",
            "visit-site": "",
        },
    )
    assert response.status_code == 302, errors_of(response)
    specimens = Specimen.objects.filter(collection=collection)
    assert specimens.count() == 4
    statuses = sorted(s.status for s in specimens)
    assert statuses == ["collected", "expected", "expected", "expected"]
    primary = specimens.get(status="collected")
    assert primary.material_type.code == "WHOLE_BLOOD"
    assert primary.participant == person
    assert primary.collected_at == taipei(date(2025, 1, 10), 9, 30)
    assert primary.remaining == D("10")  # nothing taken until the children are prepared
    edges = Lineage.objects.filter(parent=primary).order_by("id")
    assert [(e.child.material_type.code, e.kind, e.quantity_taken) for e in edges] == [
        ("PLASMA", "derivative", D("2.5")),
        ("PLASMA", "derivative", D("2.5")),
        ("BUFFY_COAT", "derivative", D("1")),
    ]

    # the redirect carries the new barcodes, and the page links their labels
    location = response["Location"]
    printed = parse_qs(urlparse(location).query)["printed"][0].split(",")
    assert sorted(printed) == sorted(s.barcode for s in specimens)
    page = body(client.get(location))
    links = re.findall(r'href="(/specimens/labels/\?[^"]+)"', page)
    pdf = [link for link in links if "format=zpl" not in link]
    zpl = [link for link in links if "format=zpl" in link]
    assert pdf and zpl
    for link in (pdf[0], zpl[0]):
        query = parse_qs(urlparse(link.replace("&amp;", "&")).query)
        assert sorted(query["barcodes"][0].split(",")) == sorted(printed)
    # the links work
    assert client.get(pdf[0].replace("&amp;", "&")).content.startswith(b"%PDF")
    assert "^XA" in client.get(zpl[0].replace("&amp;", "&")).content.decode()


def test_visit_for_a_participant_without_consent_is_refused(cast, client, planned):
    participant_services.participant_register(
        actor=cast.manager, organization=cast.demo, code="NO-CONSENT"
    )
    client.force_login(cast.technician)
    response = client.post(
        f"/specimens/collections/{planned.public_id}/",
        {"visit-participant_code": "NO-CONSENT", "visit-collected_at": "2025-01-10T09:30"},
    )
    assert response.status_code == 200
    assert any("(HB-02)" in text for text in errors_of(response))
    assert not Specimen.objects.exists()


def test_visit_for_an_unknown_participant_is_a_form_error(cast, client, planned):
    client.force_login(cast.manager)
    response = client.post(
        f"/specimens/collections/{planned.public_id}/",
        {"visit-participant_code": "NOBODY", "visit-collected_at": "2025-01-10T09:30"},
    )
    assert response.status_code == 200
    assert response.context["visit_form"].errors["participant_code"]
    assert not Specimen.objects.exists()


def test_technician_registers_visits_but_does_not_plan(cast, client, planned, person):
    client.force_login(cast.technician)
    url = f"/specimens/collections/{planned.public_id}/"
    page = body(client.get(url))
    assert 'name="plan-kind"' not in page
    assert 'name="visit-participant_code"' in page
    response = plan_post(
        client, planned, kind="primary", material_type=mtype("SERUM").pk, quantity="5"
    )
    assert response.status_code == 200
    assert errors_of(response)
    assert not planned.plan.filter(material_type__code="SERUM").exists()


# Search --------------------------------------------------------------------------------------


@pytest.fixture
def assorted(cast, general_form, collection):  # noqa: F811
    """Five specimens that differ in one filtered property each."""
    first = consenting(cast, general_form, "P-0001")
    second = consenting(cast, general_form, "P-0002")
    made = {
        "blood": register(
            cast, first, collection=collection, collected_at=taipei(date(2024, 6, 1))
        ),
        "serum": register(
            cast,
            second,
            "SERUM",
            quantity=D("2"),
            barcode="SER-0001",
            collected_at=taipei(date(2024, 7, 15)),
        ),
        "late": register(
            cast, second, collected_at=taipei(date(2024, 7, 31), 23, 30)
        ),  # Taipei's 31 July
        "mouse": register(
            cast,
            None,
            "ANIMAL_TISSUE",
            quantity=D("0.3"),
            unit="g",
            collected_at=taipei(date(2024, 8, 20)),
        ),
    }
    made["lost"] = specimen_services.specimen_mark_missing(
        actor=cast.manager,
        specimen=register(cast, first, collected_at=taipei(date(2024, 9, 1))),
        reason="not in its box",
    )
    Specimen.objects.filter(pk=made["serum"].pk).update(sprec="SER-SST-A-D-N-A-D")
    Specimen.objects.filter(pk=made["blood"].pk).update(sprec="BLD-PED-A-N-N-N-D")
    return made


def found(client, **params) -> list[str]:
    response = client.get(SEARCH, params)
    assert response.status_code == 200
    return [s.barcode for s in response.context["specimens"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["blood", "serum", "late", "mouse", "lost"]),
        ({"material_type": "SERUM"}, ["serum"]),
        ({"material_type": "WHOLE_BLOOD"}, ["blood", "late", "lost"]),
        ({"status": "missing"}, ["lost"]),
        ({"status": "collected", "participant": "P-0002"}, ["serum", "late"]),
        ({"participant": "P-0001"}, ["blood", "lost"]),
        ({"collection": "TWDM"}, ["blood"]),
        ({"barcode": "SER-"}, ["serum"]),
        ({"collected_from": "2024-07-01", "collected_to": "2024-07-31"}, ["serum", "late"]),
        ({"collected_from": "2024-08-01"}, ["mouse", "lost"]),
        ({"collected_to": "2024-06-30"}, ["blood"]),
        ({"sprec": "ser"}, ["serum"]),
        ({"sprec": "BLD-PED"}, ["blood"]),
        ({"sprec": "PL1"}, []),
    ],
)
def test_search_filters(cast, client, assorted, params, expected):
    client.force_login(cast.technician)
    assert found(client, **params) == [assorted[key].barcode for key in expected]


@pytest.mark.parametrize("code", ["ser", "BLD-PED", "PL1"])
def test_a_common_sprec_prefix_is_searched_in_id_order_with_the_same_result(
    cast, client, assorted, monkeypatch, code
):
    """Past ``SPREC_PROBE`` matches the search walks the id order instead of the SPREC index
    (a common prefix would otherwise sort every match); the result must not change."""
    from biobank.specimens import selectors

    client.force_login(cast.technician)
    by_index = found(client, sprec=code)
    monkeypatch.setattr(selectors, "SPREC_PROBE", 1)
    assert found(client, sprec=code) == by_index


def test_search_shows_nothing_of_other_organizations(cast, client, assorted):
    client.force_login(cast.outsider)
    assert found(client) == []
    client.force_login(cast.researcher)  # no specimen.view
    assert found(client) == []


def test_search_page_shows_rows_language_neutrally(cast, client, assorted):
    client.force_login(cast.auditor)
    text = body(client.get(SEARCH, {"participant": "P-0002"}))
    assert assorted["serum"].barcode in text
    assert "SER-SST-A-D-N-A-D" in text
    assert f'href="/specimens/{assorted["serum"].barcode}/"' in text
    assert 'class="badge collected"' in text
    assert "/specimens/new/" not in text  # the auditor cannot register


def many(cast, general_form, count: int) -> list[Specimen]:  # noqa: F811
    """``count`` specimens spread over participants, collections and material types."""
    people = [consenting(cast, general_form, f"P-{n:04d}") for n in range(3)]
    collections = [
        collection_services.collection_create(
            actor=cast.manager,
            organization=cast.demo,
            code=f"C{n}",
            name=f"collection {n}",
            principal_investigator="X",
        )
        for n in range(2)
    ]
    made = []
    for n in range(count):
        if n % 4 == 3:
            made.append(register(cast, None, "ANIMAL_TISSUE", quantity=D("1"), unit="g"))
        else:
            made.append(
                register(
                    cast,
                    people[n % 3],
                    ("WHOLE_BLOOD", "SERUM", "PLASMA")[n % 3],
                    collection=collections[n % 2],
                )
            )
    return made


def test_search_pages_by_keyset(cast, client, general_form):  # noqa: F811
    made = many(cast, general_form, 60)
    client.force_login(cast.manager)
    first = client.get(SEARCH)
    rows = [s.barcode for s in first.context["specimens"]]
    assert len(rows) == 50
    assert rows == [s.barcode for s in sorted(made, key=lambda s: s.pk)][:50]
    (link,) = re.findall(r'<nav class="pager"><a href="\?([^"]*)"', body(first))
    assert "after=" in link
    second = client.get(f"{SEARCH}?{link.replace('&amp;', '&')}")
    rest = [s.barcode for s in second.context["specimens"]]
    assert len(rest) == 10
    assert set(rows).isdisjoint(rest)
    assert set(rows) | set(rest) == {s.barcode for s in made}
    assert 'class="pager"' not in body(second)


def test_search_paging_keeps_the_filters(cast, client, general_form):  # noqa: F811
    made = many(cast, general_form, 60)
    for specimen in made[::12]:
        specimen_services.specimen_mark_missing(actor=None, specimen=specimen, reason="lost")
    client.force_login(cast.manager)
    first = client.get(SEARCH, {"status": "collected"})
    assert len(first.context["specimens"]) == 50
    (link,) = re.findall(r'<nav class="pager"><a href="\?([^"]*)"', body(first))
    query = parse_qs(link.replace("&amp;", "&"))
    assert query["status"] == ["collected"]
    assert query["after"] == [str(first.context["specimens"][-1].pk)]
    second = client.get(f"{SEARCH}?{link.replace('&amp;', '&')}")
    rest = second.context["specimens"]
    assert len(rest) == 5
    assert all(s.status == "collected" for s in rest)
    blood = client.get(SEARCH, {"material_type": "WHOLE_BLOOD", "after": "0"})
    assert len(blood.context["specimens"]) == 15


def test_search_page_numbers_of_queries_do_not_grow_with_rows(
    cast,
    client,
    general_form,  # noqa: F811
    django_assert_max_num_queries,
):
    many(cast, general_form, 60)
    client.force_login(cast.manager)
    client.get(SEARCH)  # warm the session
    with django_assert_max_num_queries(15):
        response = client.get(SEARCH)
    assert len(response.context["specimens"]) == 50
    with django_assert_max_num_queries(15):
        response = client.get(SEARCH, {"status": "collected", "collection": "C1"})
    assert response.context["specimens"]


# The specimen page ---------------------------------------------------------------------------


def derive_plasma(cast, blood: Specimen) -> Specimen:
    (plasma,) = specimen_services.specimen_derive(
        actor=cast.manager,
        parent=blood,
        material_type="PLASMA",
        quantity_taken=D("4"),
        quantities=[D("2")],
        unit="mL",
        parameters={
            "method": "centrifugation",
            "centrifugation": {"g": 2000, "minutes": 10, "temperature_c": 4},
        },
        at=taipei(date(2025, 1, 10), 10, 0),
    )
    specimen_services.specimen_event_record(
        actor=cast.manager,
        specimen=plasma,
        activity="storage",
        at=taipei(date(2025, 1, 10), 11, 0),
        parameters={"temperature_c": -80},
    )
    return refresh(plasma)


def test_detail_shows_timeline_lineage_and_sprec(cast, client, blood):
    plasma = derive_plasma(cast, blood)
    assert plasma.sprec.startswith("PL1-")
    english(client)
    client.force_login(cast.technician)
    response = client.get(detail(plasma.barcode))
    assert response.status_code == 200
    text = body(response)
    # timeline (BB-02): the preparation with its centrifugation, then storage at -80 °C
    timeline = text.split('class="timeline"')[1]
    assert "preparation" in timeline and "storage" in timeline
    assert timeline.index("preparation") < timeline.index("storage")
    assert "2025-01-10 10:00" in timeline and "2025-01-10 11:00" in timeline
    assert "-80" in timeline
    assert "lin" in timeline  # who
    # lineage: made from the blood
    assert f'href="/specimens/{blood.barcode}/"' in text
    assert "derivative" in text
    # SPREC
    assert f"<code>{plasma.sprec}</code>" in text

    parent_page = body(client.get(detail(blood.barcode)))
    assert f'href="/specimens/{plasma.barcode}/"' in parent_page
    assert "6 / 10 mL" in parent_page  # remaining / quantity
    assert "collection" in parent_page.split('class="timeline"')[1]


def test_detail_of_a_withdrawn_participants_specimen_says_not_available(
    cast, client, blood, person
):
    participant_services.consent_withdraw(
        actor=cast.manager, participant=person, on=timezone.localdate(), note="asked by phone"
    )
    english(client)
    client.force_login(cast.technician)
    text = body(client.get(detail(blood.barcode)))
    assert "Not available for new use" in text
    assert "<code>HB-03</code>" in text
    assert "consent withdrawn" in text
    # and in zh-Hant the rule code still shows
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hant"
    assert 'role="note"' in body(client.get(detail(blood.barcode)))


def test_detail_of_an_available_specimen_has_no_note(cast, client, person):
    specimen = register(cast, person, "SERUM", quantity=D("1"), status="available")
    client.force_login(cast.technician)
    assert 'role="note"' not in body(client.get(detail(specimen.barcode)))


def test_detail_is_404_outside_the_organization(cast, client, blood):
    client.force_login(cast.outsider)
    assert client.get(detail(blood.barcode)).status_code == 404
    client.force_login(cast.researcher)
    assert client.get(detail(blood.barcode)).status_code == 404


def test_detail_offers_actions_only_to_those_who_may(cast, client, blood):
    client.force_login(cast.auditor)
    text = body(client.get(detail(blood.barcode)))
    assert action(blood.barcode, "aliquot") not in text
    client.force_login(cast.technician)
    text = body(client.get(detail(blood.barcode)))
    assert action(blood.barcode, "aliquot") in text
    assert action(blood.barcode, "destroy") not in text
    client.force_login(cast.manager)
    assert action(blood.barcode, "destroy") in body(client.get(detail(blood.barcode)))


# Actions -------------------------------------------------------------------------------------


def test_aliquot(cast, client, blood):
    client.force_login(cast.technician)
    response = client.post(
        action(blood.barcode, "aliquot"), {"aliquot-count": "3", "aliquot-quantity_each": "1.5"}
    )
    assert response.status_code == 302
    assert response["Location"] == detail(blood.barcode)
    assert refresh(blood).remaining == D("5.5")
    children = [e.child for e in Lineage.objects.filter(parent=blood, kind="aliquot")]
    assert len(children) == 3
    assert all(c.quantity == D("1.5") and c.material_type.code == "WHOLE_BLOOD" for c in children)
    assert all(c.participant_id == blood.participant_id for c in children)
    (success,) = [text for level, text in messages_of(response) if level == "success"]
    assert all(c.barcode in success for c in children)


def test_derive_records_the_centrifugation(cast, client, blood):
    client.force_login(cast.technician)
    response = client.post(
        action(blood.barcode, "derive"),
        {
            "derive-material_type": mtype("PLASMA").pk,
            "derive-quantity_taken": "4",
            "derive-count": "2",
            "derive-quantity_each": "1",
            "derive-unit": "mL",
            "derive-g": "2000",
            "derive-minutes": "10",
            "derive-temperature_c": "4",
        },
    )
    assert response.status_code == 302
    assert not errors_of(response), errors_of(response)
    assert refresh(blood).remaining == D("6")
    children = [e.child for e in Lineage.objects.filter(parent=blood, kind="derivative")]
    assert len(children) == 2
    for child in children:
        assert child.material_type.code == "PLASMA"
        assert child.acquired_type.code == "WHOLE_BLOOD"  # BB-04: acquired as whole blood
        event = child.events.get(activity="preparation")
        assert event.parameters["method"] == "centrifugation"
        assert event.parameters["centrifugation"]["g"] == 2000
        assert event.parameters["centrifugation"]["minutes"] == 10
        assert event.parameters["centrifugation"]["temperature_c"] == 4
        assert event.by == cast.technician


def test_derive_with_an_incomplete_centrifugation_does_not_drop_it_silently(cast, client, blood):
    """The technician gave g and temperature but forgot the minutes: the page says so instead
    of recording a centrifugation without its g (BB-02)."""
    client.force_login(cast.technician)
    response = client.post(
        action(blood.barcode, "derive"),
        {
            "derive-material_type": mtype("PLASMA").pk,
            "derive-quantity_taken": "4",
            "derive-count": "1",
            "derive-quantity_each": "2",
            "derive-unit": "mL",
            "derive-g": "2000",
            "derive-minutes": "",
            "derive-temperature_c": "4",
        },
    )
    made = [e.child for e in Lineage.objects.filter(parent=blood)]
    if made:
        (event,) = made[0].events.filter(activity="preparation")
        assert event.parameters.get("centrifugation", {}).get("g") == 2000, event.parameters
    else:
        assert errors_of(response)
        assert refresh(blood).remaining == D("10")


def test_derive_into_the_same_material_is_refused(cast, client, blood):
    client.force_login(cast.technician)
    response = client.post(
        action(blood.barcode, "derive"),
        {
            "derive-material_type": mtype("WHOLE_BLOOD").pk,
            "derive-quantity_taken": "1",
            "derive-count": "1",
            "derive-quantity_each": "1",
            "derive-unit": "mL",
        },
    )
    assert any("(BB-04)" in text for text in errors_of(response))
    assert refresh(blood).remaining == D("10")
    assert not Lineage.objects.exists()


def test_thaw_event_counts_freeze_thaw_cycles(cast, client, blood):
    client.force_login(cast.technician)
    for expected in (1, 2):
        response = client.post(
            action(blood.barcode, "event"),
            {"event-activity": "thaw", "event-at": "2025-02-01T08:00"},
        )
        assert response.status_code == 302
        assert not errors_of(response)
        assert refresh(blood).freeze_thaw_count == expected
    assert blood.events.filter(activity="thaw").count() == 2


def test_storage_event_keeps_its_temperature(cast, client, blood):
    client.force_login(cast.technician)
    client.post(
        action(blood.barcode, "event"),
        {
            "event-activity": "storage",
            "event-at": "2025-02-01T08:00",
            "event-temperature_c": "-80",
            "event-sop": "SOP-ST-01",
            "event-sop_version": "2",
        },
    )
    event = blood.events.get(activity="storage")
    assert event.parameters == {"temperature_c": -80.0}
    assert (event.sop, event.sop_version) == ("SOP-ST-01", "2")
    assert event.at == taipei(date(2025, 2, 1), 8, 0)
    assert refresh(blood).status == "available"


def test_event_in_the_future_is_refused(cast, client, blood):
    client.force_login(cast.technician)
    later = timezone.localtime() + timedelta(days=2)
    response = client.post(
        action(blood.barcode, "event"),
        {"event-activity": "thaw", "event-at": later.strftime("%Y-%m-%dT%H:%M")},
    )
    assert any("(BB-02)" in text for text in errors_of(response))
    assert refresh(blood).freeze_thaw_count == 0


def test_prepare_as_planned(cast, client, planned, person):
    visit = specimen_services.visit_register(
        actor=cast.manager,
        collection=planned,
        participant=person,
        collected_at=taipei(date(2025, 1, 10)),
    )
    (primary,) = visit.primaries
    plasma = [s for s in visit.expected if s.material_type.code == "PLASMA"]
    (buffy,) = [s for s in visit.expected if s.material_type.code == "BUFFY_COAT"]
    client.force_login(cast.technician)
    assert action(plasma[0].barcode, "prepare") in body(client.get(detail(plasma[0].barcode)))
    response = client.post(action(plasma[0].barcode, "prepare"))
    assert response.status_code == 302
    assert not errors_of(response)
    assert refresh(plasma[0]).status == "available"
    assert refresh(primary).remaining == D("7.5")
    assert plasma[0].events.filter(activity="preparation").exists()
    client.post(action(buffy.barcode, "prepare"))
    assert refresh(primary).remaining == D("6.5")
    assert refresh(plasma[1]).status == "expected"
    # preparing again is refused, and nothing more is taken
    again = client.post(action(plasma[0].barcode, "prepare"))
    assert errors_of(again)
    assert refresh(primary).remaining == D("6.5")


def test_hold_and_release(cast, client, blood):
    client.force_login(cast.technician)
    response = client.post(action(blood.barcode, "hold"), {"reason-reason": "QA review"})
    assert response.status_code == 302
    assert refresh(blood).on_hold is True
    english(client)
    text = body(client.get(detail(blood.barcode)))
    assert "on hold" in text
    # a held specimen is not aliquoted (BB-02)
    refused = client.post(
        action(blood.barcode, "aliquot"), {"aliquot-count": "1", "aliquot-quantity_each": "1"}
    )
    assert any("(BB-02)" in text for text in errors_of(refused))
    assert refresh(blood).remaining == D("10")
    client.post(action(blood.barcode, "release"), {"reason-reason": "QA done"})
    assert refresh(blood).on_hold is False
    assert AuditEvent.objects.filter(reason="QA review").exists()
    assert AuditEvent.objects.filter(reason="QA done").exists()


def test_hold_needs_a_reason(cast, client, blood):
    client.force_login(cast.technician)
    response = client.post(action(blood.barcode, "hold"), {"reason-reason": ""})
    assert response.status_code == 302
    assert errors_of(response)
    assert refresh(blood).on_hold is False


def test_mark_missing(cast, client, blood):
    client.force_login(cast.technician)
    client.post(action(blood.barcode, "missing"), {"reason-reason": "not in rack A3"})
    assert refresh(blood).status == "missing"


def test_a_destroyed_specimen_cannot_be_marked_missing(cast, client, blood):
    """Destruction is final (BB-02): marking a destroyed specimen missing would put it back
    among the material a participant's withdrawal must account for (HB-03)."""
    specimen_services.specimen_destroy(
        actor=cast.manager, specimen=blood, method="autoclave", reason="spilled"
    )
    client.force_login(cast.technician)
    response = client.post(action(blood.barcode, "missing"), {"reason-reason": "cannot find it"})
    assert errors_of(response)
    assert refresh(blood).status == "destroyed"


def test_destroy_is_refused_to_a_technician(cast, client, blood):
    client.force_login(cast.technician)
    response = client.post(
        action(blood.barcode, "destroy"),
        {"reason-reason": "contaminated", "reason-method": "autoclave"},
    )
    assert response.status_code == 302
    (error,) = errors_of(response)
    assert "specimen.destroy" in error
    assert refresh(blood).status == "collected"
    assert refresh(blood).remaining == D("10")
    assert not blood.events.filter(activity="destruction").exists()


@pytest.mark.parametrize("who", ["manager", "biosafety"])
def test_destroy_by_manager_or_biosafety_officer(cast, client, blood, who):
    client.force_login(getattr(cast, who))
    response = client.post(
        action(blood.barcode, "destroy"),
        {"reason-reason": "contaminated", "reason-method": "incineration"},
    )
    assert response.status_code == 302
    assert not errors_of(response), errors_of(response)
    destroyed = refresh(blood)
    assert destroyed.status == "destroyed"
    assert destroyed.remaining == 0
    event = destroyed.events.get(activity="destruction")
    assert event.parameters == {"method": "incineration", "reason": "contaminated"}
    assert event.by == getattr(cast, who)
    assert Specimen.objects.filter(pk=blood.pk).exists()  # recorded, never deleted


def test_taking_more_than_remains_is_refused_and_writes_nothing(cast, client, blood):
    client.force_login(cast.technician)
    specimens, events = Specimen.objects.count(), SpecimenEvent.objects.count()
    audits = AuditEvent.objects.count()
    response = client.post(
        action(blood.barcode, "aliquot"), {"aliquot-count": "3", "aliquot-quantity_each": "5"}
    )
    assert response.status_code == 302
    (error,) = errors_of(response)
    assert "(BB-04)" in error
    assert refresh(blood).remaining == D("10")
    assert refresh(blood).status == "collected"
    assert Specimen.objects.count() == specimens
    assert SpecimenEvent.objects.count() == events
    assert AuditEvent.objects.count() == audits
    assert not Lineage.objects.exists()


def test_invalid_action_form_is_reported(cast, client, blood):
    client.force_login(cast.technician)
    response = client.post(action(blood.barcode, "aliquot"), {"aliquot-count": "0"})
    assert errors_of(response)
    assert not Lineage.objects.exists()


def test_actions_need_permission_and_the_organization(cast, client, blood):
    client.force_login(cast.auditor)  # may view, may not manage
    response = client.post(action(blood.barcode, "missing"), {"reason-reason": "x"})
    assert errors_of(response)
    assert refresh(blood).status == "collected"
    client.force_login(cast.outsider)
    assert client.post(action(blood.barcode, "missing"), {"reason-reason": "x"}).status_code == 404
    assert refresh(blood).status == "collected"


def test_unknown_action_is_404_and_get_is_405(cast, client, blood):
    client.force_login(cast.manager)
    assert client.post(action(blood.barcode, "teleport")).status_code == 404
    assert client.get(action(blood.barcode, "aliquot")).status_code == 405


# Labels --------------------------------------------------------------------------------------


def test_labels_as_pdf_and_zpl(cast, client, person):
    first = register(cast, person, collected_at=taipei(date(2025, 1, 10)))
    second = register(cast, person, "SERUM", quantity=D("1"))
    client.force_login(cast.technician)
    barcodes = f"{first.barcode},{second.barcode}"
    pdf = client.get(LABELS, {"barcodes": barcodes})
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    zpl = client.get(LABELS, {"barcodes": barcodes, "format": "zpl"})
    assert zpl.status_code == 200
    assert zpl["Content-Type"].startswith("text/plain")
    text = zpl.content.decode()
    assert text.count("^XA") == 2
    assert first.barcode in text and second.barcode in text
    assert person.code in text
    assert "2025-01-10" in text
    assert NAME not in text  # a label carries the participant code, never the name (HB-01)
    assert client.get(LABELS, {"barcodes": barcodes, "stock": "nope"}).status_code == 400


def test_labels_refuse_barcodes_of_another_organization(cast, client, blood):
    theirs = specimen_services.specimen_register(
        actor=cast.outsider,
        organization=cast.other,
        material_type="SEED",
        quantity=D("50"),
        unit="pieces",
        source_organism="Oryza sativa",
    )
    client.force_login(cast.manager)
    assert client.get(LABELS, {"barcodes": theirs.barcode}).status_code == 404
    assert client.get(LABELS, {"barcodes": theirs.barcode, "format": "zpl"}).status_code == 404
    mixed = client.get(LABELS, {"barcodes": f"{blood.barcode},{theirs.barcode}", "format": "zpl"})
    assert blood.barcode in mixed.content.decode()
    assert theirs.barcode not in mixed.content.decode()
    assert client.get(LABELS).status_code == 404


# Registration form ---------------------------------------------------------------------------


def form_data(**fields) -> dict[str, str]:
    data = {
        "barcode": "",
        "quantity": "0.3",
        "unit": "g",
        "participant_code": "",
        "source_organism": "",
        "source_strain": "",
        "source_identifier": "",
        "collection": "",
        "collected_at": "2025-01-10T09:30",
        "container_type": "",
    }
    data.update(fields)
    return data


def test_register_non_human_material(cast, client):
    client.force_login(cast.technician)
    assert client.get(NEW).status_code == 200
    response = client.post(
        NEW,
        form_data(
            material_type=mtype("ANIMAL_TISSUE").pk,
            source_organism="Mus musculus",
            source_strain="C57BL/6J",
            source_identifier="M-017",
            barcode="MOUSE-017-LIVER",
        ),
    )
    assert response.status_code == 302, errors_of(response)
    assert response["Location"] == detail("MOUSE-017-LIVER")
    specimen = Specimen.objects.get(barcode="MOUSE-017-LIVER")
    assert specimen.category_id == "animal"
    assert specimen.participant is None
    assert (specimen.source_organism, specimen.source_strain) == ("Mus musculus", "C57BL/6J")
    assert specimen.collected_at == taipei(date(2025, 1, 10), 9, 30)
    assert specimen.events.get().activity == "acquisition"


def test_register_non_human_material_needs_its_source_organism(cast, client):
    client.force_login(cast.technician)
    english(client)
    response = client.post(NEW, form_data(material_type=mtype("ANIMAL_TISSUE").pk))
    assert response.status_code == 200
    (error,) = errors_of(response)
    assert "(BB-03)" in error
    assert "(BB-03)" in body(response)
    assert not Specimen.objects.exists()


def test_register_human_material_needs_a_participant_with_consent(cast, client, general_form):  # noqa: F811
    participant_services.participant_register(
        actor=cast.manager, organization=cast.demo, code="NO-CONSENT"
    )
    client.force_login(cast.technician)
    blood_type = mtype("WHOLE_BLOOD").pk
    # no participant at all (BB-03)
    response = client.post(NEW, form_data(material_type=blood_type, unit="mL"))
    assert any("(BB-03)" in text for text in errors_of(response))
    # a participant without consent (HB-02)
    response = client.post(
        NEW, form_data(material_type=blood_type, unit="mL", participant_code="NO-CONSENT")
    )
    assert response.status_code == 200
    assert any("(HB-02)" in text for text in errors_of(response))
    # a participant that does not exist here
    response = client.post(
        NEW, form_data(material_type=blood_type, unit="mL", participant_code="NOBODY")
    )
    assert response.context["form"].errors["participant_code"]
    assert not Specimen.objects.exists()
    # with consent it is registered, as a collection (BB-02)
    person = consenting(cast, general_form, "P-0009")
    response = client.post(
        NEW,
        form_data(material_type=blood_type, quantity="10", unit="mL", participant_code="P-0009"),
    )
    assert response.status_code == 302, errors_of(response)
    specimen = Specimen.objects.get()
    assert specimen.participant == person
    assert specimen.status == "collected"
    assert specimen.events.get().activity == "collection"


def test_register_page_is_404_without_specimen_manage(cast, client):
    client.force_login(cast.auditor)
    assert client.get(NEW).status_code == 404


def test_search_page_survives_a_bad_after_parameter(cast, client, blood):
    client.force_login(cast.technician)
    response = client.get(SEARCH, {"after": "abc"})
    assert response.status_code == 200
    assert [s.barcode for s in response.context["specimens"]] == [blood.barcode]
    assert blood.barcode in body(response)


def test_detail_links_the_participant_only_for_those_who_may_open_it(cast, client, blood):
    """The biosafety officer sees specimens but not participants: the code, without a link that
    would answer 404."""
    link = f'href="/participants/{blood.participant.public_id}/"'
    client.force_login(cast.biosafety)
    text = body(client.get(detail(blood.barcode)))
    assert blood.participant.code in text and link not in text
    client.force_login(cast.technician)
    assert link in body(client.get(detail(blood.barcode)))
