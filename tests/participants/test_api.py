"""The participants API: scoped and paginated lists, consent checks (HB-04), re-identification
(HB-01). Identity appears in ``/identity`` only, and only through an approved request."""

from __future__ import annotations

import contextlib
import json
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from biobank.core import services as core_services
from biobank.core.errors import ApplicationError
from biobank.participants import rules, services
from biobank.participants.identity_numbers import is_valid_national_id
from biobank.participants.models import Participant, ReidentificationRequest
from biobank.participants.vault import Identity

NAME = "林美玲"
PHONE = "0912-345-678"


def national_id(stem: str) -> str:
    """``stem`` (a letter and eight digits) with the one check digit that makes it valid."""
    valid = [stem + digit for digit in "0123456789" if is_valid_national_id(stem + digit)]
    assert len(valid) == 1
    return valid[0]


WOMAN = national_id("B22123456")  # B221234564
MAN = national_id("A12345678")  # A123456789


class Api:
    """A test client speaking to /api/v1 with one user's bearer token."""

    def __init__(self, client, user) -> None:
        _, plain = core_services.token_create(user=user)
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {plain}"}
        self.texts: list[str] = []

    def _keep(self, response):
        # the raw body, and the JSON decoded again without \u escapes, so a name cannot hide
        raw = response.content.decode()
        self.texts.append(raw)
        with contextlib.suppress(ValueError):  # not JSON
            self.texts.append(json.dumps(response.json(), ensure_ascii=False))
        return response

    def get(self, path: str, **params):
        return self._keep(self.client.get(f"/api/v1{path}", params, **self.headers))

    def post(self, path: str, payload: dict):
        return self._keep(
            self.client.post(
                f"/api/v1{path}", payload, content_type="application/json", **self.headers
            )
        )


@pytest.fixture
def gru_form(cast):
    """A form like the demo's: general research use, no commercial-use option."""
    return services.consent_form_create(
        actor=None,
        organization=cast.demo,
        code="GEN",
        version="3",
        title="一般研究同意書",
        committee_reference="IRB-1",
        approved_on=date(2024, 3, 1),
        permissions=[rules.GRU, rules.HMB],
        duration_years=20,
    )


@pytest.fixture
def person(cast, gru_form):
    participant = services.participant_register(
        actor=None,
        organization=cast.demo,
        code="BB-001",
        sex="F",
        identity=Identity(
            name=NAME, national_id=WOMAN, birth_date="1975-03-02", phone=PHONE, email="l@x.org"
        ),
    )
    services.consent_record(
        actor=None,
        participant=participant,
        form=gru_form,
        signed_on=date(2024, 5, 1),
        capacity="adult",
        signed_by="participant",
        permissions=[rules.GRU],
    )
    return participant


@pytest.fixture
def manager_api(cast, client):
    return Api(client, cast.manager)


def assert_no_identity(texts: list[str]) -> None:
    for text in texts:
        for secret in (NAME, WOMAN, WOMAN.lower(), "1975-03-02", PHONE, "l@x.org"):
            assert secret not in text, secret


# Lists and details --------------------------------------------------------------------------


def test_requests_without_credentials_get_401(client, person):
    response = client.get("/api/v1/participants")
    assert response.status_code == 401


def test_list_is_scoped_to_the_users_organizations(cast, client, person):
    services.participant_register(actor=None, organization=cast.other, code="ELSE-1")
    body = Api(client, cast.technician).get("/participants").json()
    assert body["count"] == 1
    assert [item["code"] for item in body["items"]] == ["BB-001"]
    assert body["items"][0]["organization"] == "DEMO"
    assert body["items"][0]["id"] == str(person.public_id)
    assert set(body["items"][0]) == {"id", "organization", "code", "sex", "birth_year", "status"}
    outsider = Api(client, cast.outsider).get("/participants").json()
    assert [item["code"] for item in outsider["items"]] == ["ELSE-1"]


def test_list_needs_participant_view(cast, client, person):
    assert Api(client, cast.researcher).get("/participants").json()["count"] == 0


def test_list_is_paginated(cast, client):
    for n in range(55):
        services.participant_register(actor=None, organization=cast.demo, code=f"BB-{n:03d}")
    api = Api(client, cast.manager)
    first = api.get("/participants").json()
    assert first["count"] == 55
    assert len(first["items"]) == 50
    second = api.get("/participants", page=2).json()
    assert [item["code"] for item in second["items"]] == [f"BB-{n:03d}" for n in range(50, 55)]


def test_list_finds_by_national_id_or_code(cast, client, person):
    services.participant_register(
        actor=None, organization=cast.demo, code="BB-002", identity=Identity(national_id=MAN)
    )
    api = Api(client, cast.manager)
    found = api.get("/participants", q=WOMAN).json()
    assert [item["code"] for item in found["items"]] == ["BB-001"]
    found = api.get("/participants", q=WOMAN.lower()).json()
    assert [item["code"] for item in found["items"]] == ["BB-001"]
    found = api.get("/participants", q="002").json()
    assert [item["code"] for item in found["items"]] == ["BB-002"]
    assert api.get("/participants", q=NAME).json()["count"] == 0


def test_create_a_participant(cast, client):
    api = Api(client, cast.technician)
    response = api.post(
        "/participants", {"organization": "DEMO", "code": "API-1", "sex": "F", "birth_year": 1980}
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["code"], body["sex"], body["birth_year"], body["status"]) == (
        "API-1",
        "F",
        1980,
        "active",
    )
    participant = Participant.objects.get(public_id=body["id"])
    assert participant.organization == cast.demo
    generated = api.post("/participants", {"organization": "DEMO"})
    assert generated.status_code == 201
    assert generated.json()["code"] == "P000001"


def test_create_refusals_are_json(cast, client):
    api = Api(client, cast.manager)
    api.post("/participants", {"organization": "DEMO", "code": "API-1"})
    duplicate = api.post("/participants", {"organization": "DEMO", "code": "API-1"})
    assert duplicate.status_code == 400
    assert "API-1" in duplicate.json()["message"]
    auditor = Api(client, cast.auditor).post("/participants", {"organization": "DEMO"})
    assert auditor.status_code == 403
    outsider = Api(client, cast.outsider).post("/participants", {"organization": "DEMO"})
    assert outsider.status_code == 404
    assert Participant.objects.count() == 1


def test_detail_and_consents(cast, client, person):
    api = Api(client, cast.technician)
    detail = api.get(f"/participants/{person.public_id}")
    assert detail.status_code == 200
    assert detail.json()["code"] == "BB-001"
    assert detail.json()["birth_year"] == 1975
    consents = api.get(f"/participants/{person.public_id}/consents")
    assert consents.status_code == 200
    [consent] = consents.json()
    assert consent["participant"] == "BB-001"
    assert consent["form"] == "GEN v3"
    assert consent["permissions"] == [rules.GRU]
    assert consent["signed_on"] == "2024-05-01"
    assert consent["valid_until"] == "2044-05-01"
    assert consent["state"] == "active"
    assert consent["commercial_use"] is False
    single = api.get(f"/consents/{consent['id']}")
    assert single.status_code == 200
    assert single.json() == consent
    assert_no_identity(api.texts)


def test_detail_of_another_organization_is_404(cast, client, person):
    api = Api(client, cast.outsider)
    assert api.get(f"/participants/{person.public_id}").status_code == 404
    assert api.get(f"/participants/{person.public_id}/consents").status_code == 404


# Use check (HB-04) ----------------------------------------------------------------------------


def test_hb04_a_gru_consent_permits_an_hmb_use(cast, client, person):
    api = Api(client, cast.technician)
    response = api.post(
        f"/participants/{person.public_id}/use-check",
        {"purposes": [rules.HMB], "on": "2024-06-01"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["allowed"] is True
    assert body["rule"] == "HB-04"
    assert body["reason"] == "在同意之範圍與期間內"  # the platform's language by default
    assert body["conditions"] == []
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    again = api.post(
        f"/participants/{person.public_id}/use-check",
        {"purposes": [rules.HMB], "on": "2024-06-01"},
    ).json()
    assert again["reason"] == "within the consented scope and period"


def test_hb04_commercial_use_is_refused_when_the_form_offers_none(cast, client, person):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    api = Api(client, cast.technician)
    body = api.post(
        f"/participants/{person.public_id}/use-check",
        {"purposes": [rules.HMB], "on": "2024-06-01", "commercial": True},
    ).json()
    assert body == {
        "allowed": False,
        "reason": "consent does not permit commercial use",
        "rule": "HB-04",
        "conditions": [],
    }


def test_hb04_use_before_consent_or_after_withdrawal_is_refused(cast, client, person):
    api = Api(client, cast.technician)
    path = f"/participants/{person.public_id}/use-check"
    before = api.post(path, {"purposes": [rules.HMB], "on": "2024-04-01"}).json()
    assert (before["allowed"], before["rule"]) == (False, "HB-04")
    services.consent_withdraw(actor=None, participant=person, on=timezone.localdate())
    after = api.post(path, {"purposes": [rules.HMB], "on": "2024-06-01"}).json()
    assert (after["allowed"], after["rule"]) == (False, "HB-03")


def test_hb02_use_check_without_consent(cast, client):
    participant = services.participant_register(actor=None, organization=cast.demo, code="X")
    body = (
        Api(client, cast.technician)
        .post(
            f"/participants/{participant.public_id}/use-check",
            {"purposes": [rules.HMB], "on": "2024-06-01"},
        )
        .json()
    )
    assert (body["allowed"], body["rule"]) == (False, "HB-02")


# Re-identification (HB-01) -------------------------------------------------------------------


def test_hb01_reidentification_request_is_created(cast, client, person):
    api = Api(client, cast.technician)
    response = api.post(
        f"/participants/{person.public_id}/reidentification", {"reason": "回診聯絡", "hours": 4}
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["participant"], body["requester"], body["hours"], body["state"]) == (
        "BB-001",
        "chen",
        4,
        "pending",
    )
    assert body["expires_at"] is None
    request = ReidentificationRequest.objects.get(public_id=body["id"])
    assert request.requester == cast.technician


def test_hb01_reidentification_request_refusals(cast, client, person):
    api = Api(client, cast.technician)
    path = f"/participants/{person.public_id}/reidentification"
    blank = api.post(path, {"reason": "  "})
    assert (blank.status_code, blank.json()["rule"]) == (400, "HB-01")
    too_long = api.post(path, {"reason": "x", "hours": 73})
    assert (too_long.status_code, too_long.json()["rule"]) == (400, "HB-01")
    auditor = Api(client, cast.auditor).post(path, {"reason": "x"})
    assert auditor.status_code == 403
    assert not ReidentificationRequest.objects.exists()


def test_hb01_identity_only_after_approval_by_another_manager(cast, client, person):
    api = Api(client, cast.manager)
    identity_path = f"/participants/{person.public_id}/identity"
    refused = api.get(identity_path)
    assert refused.status_code == 403
    assert NAME not in refused.content.decode()
    created = api.post(f"/participants/{person.public_id}/reidentification", {"reason": "回診"})
    assert created.status_code == 201
    request = ReidentificationRequest.objects.get(public_id=created.json()["id"])
    # nobody approves their own request
    with pytest.raises(ApplicationError) as refused_own:
        services.reidentification_decide(actor=cast.manager, request=request, approve=True)
    assert refused_own.value.rule == "HB-01"
    assert api.get(identity_path).status_code == 403
    core_services.membership_add(
        actor=None, organization=cast.demo, user=cast.qa, role="biobank_manager"
    )
    services.reidentification_decide(actor=cast.qa, request=request, approve=True)
    response = api.get(identity_path)
    assert response.status_code == 200
    assert response.json() == {
        "name": NAME,
        "national_id": WOMAN,
        "birth_date": "1975-03-02",
        "phone": PHONE,
        "email": "l@x.org",
        "address": "",
    }
    # the approver did not ask, so does not see
    assert Api(client, cast.qa).get(identity_path).status_code == 403


def test_hb01_identity_closes_when_the_approval_expires(cast, client, person, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    api = Api(client, cast.technician)
    created = api.post(
        f"/participants/{person.public_id}/reidentification", {"reason": "回診", "hours": 1}
    )
    request = ReidentificationRequest.objects.get(public_id=created.json()["id"])
    services.reidentification_decide(actor=cast.manager, request=request, approve=True)
    time_machine.shift(timedelta(minutes=59))
    assert api.get(f"/participants/{person.public_id}/identity").status_code == 200
    time_machine.shift(timedelta(minutes=2))
    assert api.get(f"/participants/{person.public_id}/identity").status_code == 403
    listed = api.get("/participants").json()
    assert listed["count"] == 1


def test_hb01_rejected_request_does_not_open_the_identity(cast, client, person):
    api = Api(client, cast.technician)
    created = api.post(f"/participants/{person.public_id}/reidentification", {"reason": "回診"})
    request = ReidentificationRequest.objects.get(public_id=created.json()["id"])
    services.reidentification_decide(actor=cast.manager, request=request, approve=False)
    assert api.get(f"/participants/{person.public_id}/identity").status_code == 403


def test_hb01_no_response_but_identity_carries_identity(cast, client, person):
    core_services.membership_add(
        actor=None, organization=cast.demo, user=cast.qa, role="biobank_manager"
    )
    api = Api(client, cast.manager)
    pid = person.public_id
    api.get("/participants")
    api.get("/participants", q=WOMAN)
    api.post("/participants", {"organization": "DEMO", "code": "API-2"})
    api.get(f"/participants/{pid}")
    consents = api.get(f"/participants/{pid}/consents").json()
    api.get(f"/consents/{consents[0]['id']}")
    api.post(f"/participants/{pid}/use-check", {"purposes": [rules.HMB], "on": "2024-06-01"})
    api.post(f"/participants/{pid}/use-check", {"purposes": [rules.HMB], "on": "1999-01-01"})
    created = api.post(f"/participants/{pid}/reidentification", {"reason": "回診", "hours": 2})
    api.get(f"/participants/{pid}/identity")  # refused: no approval yet
    request = ReidentificationRequest.objects.get(public_id=created.json()["id"])
    services.reidentification_decide(actor=cast.qa, request=request, approve=True)
    api.get(f"/participants/{pid}")
    api.get(f"/participants/{pid}/consents")
    assert len(api.texts) >= 20
    assert_no_identity(api.texts)
    # the one endpoint that does show it
    shown = api.get(f"/participants/{pid}/identity")
    assert shown.status_code == 200
    assert NAME in json.dumps(shown.json(), ensure_ascii=False)
    assert WOMAN in shown.content.decode()
