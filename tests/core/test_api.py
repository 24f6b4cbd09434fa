"""The HTTP API: OpenAPI document, bearer tokens, JSON errors with rule IDs."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from biobank.core import services


def _bearer(plain: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


def test_openapi_document_describes_the_endpoints(client):
    response = client.get("/api/v1/openapi.json")
    document = response.json()
    assert response.status_code == 200
    assert document["openapi"].startswith("3.")
    assert "/api/v1/obligations" in document["paths"]
    assert "/api/v1/sites/{site_id}" in document["paths"]


def test_interactive_docs_load_their_assets_locally(client):
    body = client.get("/api/v1/docs").content.decode()
    assert "swagger" in body.lower()
    assert "cdn." not in body and "unpkg" not in body


def test_requests_without_credentials_get_a_json_401(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json() == {"message": "Authentication required", "rule": None}


def test_bearer_token_authenticates(cast, client):
    _, plain = services.token_create(user=cast.technician)
    response = client.get("/api/v1/me", **_bearer(plain))
    assert response.status_code == 200
    assert response.json()["username"] == "chen"
    assert response.json()["memberships"] == [{"organization": "DEMO", "role": "technician"}]


def test_revoked_token_is_refused(cast, client):
    token, plain = services.token_create(user=cast.technician)
    services.token_revoke(actor=cast.technician, token=token)
    assert client.get("/api/v1/me", **_bearer(plain)).status_code == 401


def test_session_authenticates_too(cast, client):
    client.force_login(cast.auditor)
    assert client.get("/api/v1/me").json()["username"] == "wu"


def test_sites_list_is_scoped_and_paginated(cast, client):
    _, plain = services.token_create(user=cast.manager)
    body = client.get("/api/v1/sites", **_bearer(plain)).json()
    assert body["count"] == 1
    assert [item["code"] for item in body["items"]] == ["LAB-BSL3"]


def test_closing_an_obligation_through_the_api(cast, client):
    obligation = services.obligation_open(
        organization=cast.demo, rule_id="BS-12", title="Drill", due_at=timezone.now()
    )
    _, plain = services.token_create(user=cast.biosafety)
    response = client.post(
        f"/api/v1/obligations/{obligation.public_id}/close",
        data={"evidence": "Drill report"},
        content_type="application/json",
        **_bearer(plain),
    )
    assert response.status_code == 200
    assert response.json()["state"] == "done"


def test_refusals_are_json_with_a_message(cast, client):
    obligation = services.obligation_open(
        organization=cast.demo, rule_id="BS-12", title="Drill", due_at=timezone.now()
    )
    _, plain = services.token_create(user=cast.technician)
    response = client.post(
        f"/api/v1/obligations/{obligation.public_id}/close",
        data={"evidence": "done"},
        content_type="application/json",
        **_bearer(plain),
    )
    assert response.status_code == 403
    assert "obligation.close" in response.json()["message"]


def test_rule_refusals_carry_the_rule_id(cast, client):
    client.force_login(cast.auditor)
    response = client.get("/api/v1/calendar/deadline", {"start": "2026-01-01", "days": -1})
    assert response.status_code == 400
    assert response.json()["rule"] == "TD-01"


def test_invalid_input_is_a_json_422(cast, client):
    client.force_login(cast.auditor)
    response = client.get("/api/v1/calendar/deadline", {"start": "not-a-date", "days": 3})
    assert response.status_code == 422
    assert response.json()["message"] == "Invalid input"


def test_td01_deadline_endpoint(cast, client):
    client.force_login(cast.irb_admin)
    body = client.get("/api/v1/calendar/deadline", {"start": "2026-02-10", "days": 5}).json()
    assert body["legal_deadline"] == "2026-02-23"
    assert body["rule"] == "TD-01"
    day = client.get("/api/v1/calendar/working-day", {"day": "2025-02-08"}).json()
    assert day["is_working_day"] is True


def test_obligation_list_filters_overdue(cast, client):
    services.obligation_open(
        organization=cast.demo,
        rule_id="BS-11",
        title="late",
        due_at=timezone.now() - timedelta(days=1),
    )
    services.obligation_open(
        organization=cast.demo,
        rule_id="BS-12",
        title="later",
        due_at=timezone.now() + timedelta(days=1),
    )
    client.force_login(cast.manager)
    body = client.get("/api/v1/obligations", {"state": "overdue"}).json()
    assert [item["title"] for item in body["items"]] == ["late"]
    assert body["items"][0]["state"] == "overdue"


def test_audit_events_endpoint_is_for_audit_readers(cast, client):
    client.force_login(cast.technician)
    assert client.get("/api/v1/audit/events").status_code == 404
    client.force_login(cast.auditor)
    body = client.get("/api/v1/audit/events", {"action": "create"}).json()
    assert body["count"] > 0
    assert all(item["organization"] == "DEMO" for item in body["items"])


def test_list_endpoints_use_a_fixed_number_of_queries(cast, client, django_assert_max_num_queries):
    for n in range(20):
        services.obligation_open(
            organization=cast.demo, rule_id="BS-12", title=f"o{n}", due_at=timezone.now()
        )
        services.site_create(
            actor=None,
            organization=cast.demo,
            code=f"S{n}",
            name=f"s{n}",
            kind="lab",
            person_in_charge=cast.manager,
        )
    client.force_login(cast.manager)
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/obligations").status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/sites").status_code == 200


def test_the_api_offers_no_way_to_change_audit_events(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    audit_methods = {method for path, item in paths.items() if "/audit" in path for method in item}
    assert audit_methods == {"get"}
