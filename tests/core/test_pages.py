"""Core pages: the dashboard, management forms with good and bad input, the calendar."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from biobank.core import services
from biobank.core.models import Membership, Obligation, Site


def test_pages_need_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_dashboard_shows_overdue_and_due_within_7_days(cast, client):
    services.obligation_open(
        organization=cast.demo,
        rule_id="BS-11",
        title="Inventory overdue",
        due_at=timezone.now() - timedelta(days=1),
    )
    services.obligation_open(
        organization=cast.demo,
        rule_id="BS-12",
        title="Drill soon",
        due_at=timezone.now() + timedelta(days=3),
    )
    services.obligation_open(
        organization=cast.demo,
        rule_id="BS-09",
        title="Training later",
        due_at=timezone.now() + timedelta(days=30),
    )
    client.force_login(cast.biosafety)
    response = client.get("/")
    board = response.context["board"]
    assert [o.title for o in board.overdue] == ["Inventory overdue"]
    assert [o.title for o in board.due_soon] == ["Drill soon"]
    assert "Training later" not in response.content.decode()


def test_dashboard_uses_a_fixed_number_of_queries(cast, client, django_assert_max_num_queries):
    for n in range(30):
        services.obligation_open(
            organization=cast.demo,
            rule_id="BS-12",
            title=f"o{n}",
            due_at=timezone.now() + timedelta(hours=n),
        )
    client.force_login(cast.manager)
    with django_assert_max_num_queries(12):
        client.get("/")


def test_zh_hant_is_the_default_language(cast, client):
    client.force_login(cast.manager)
    body = client.get("/").content.decode()
    assert '<html lang="zh-hant">' in body


def test_zh_hant_stays_the_default_whatever_the_browser_asks_for(cast, client):
    client.force_login(cast.manager)
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="zh-hant">' in body


def test_language_switch_to_english(cast, client):
    client.force_login(cast.manager)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert '<html lang="en">' in client.get("/").content.decode()


def test_manager_adds_a_site_through_the_form(cast, client):
    client.force_login(cast.manager)
    response = client.post(
        "/organizations/DEMO/sites/new/",
        {"code": "FRZ-1", "name": "Freezer room", "kind": "storage", "containment": "none"},
    )
    site = Site.objects.get(organization=cast.demo, code="FRZ-1")
    assert response.status_code == 302
    assert response["Location"] == f"/sites/{site.public_id}/"


def test_bad_site_input_shows_errors_and_writes_nothing(cast, client):
    client.force_login(cast.manager)
    response = client.post(
        "/organizations/DEMO/sites/new/", {"code": "", "name": "", "kind": "spaceship"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"code", "name", "kind"}
    assert Site.objects.filter(organization=cast.demo).count() == 1


def test_technician_is_refused_site_creation_with_a_message(cast, client):
    client.force_login(cast.technician)
    response = client.post(
        "/organizations/DEMO/sites/new/",
        {"code": "X", "name": "X", "kind": "lab", "containment": "none"},
        follow=True,
    )
    assert "site.manage" in response.content.decode()
    assert not Site.objects.filter(code="X").exists()


def test_manager_adds_a_new_member_and_ends_a_membership(cast, client):
    client.force_login(cast.manager)
    client.post(
        "/organizations/DEMO/members/new/",
        {
            "username": "newqa",
            "role": "qa_officer",
            "new_user": "on",
            "display_name": "New QA",
            "email": "newqa@example.org",
            "password": "a-Long-passphrase-2026",
        },
    )
    membership = Membership.objects.get(user__username="newqa")
    client.post(f"/memberships/{membership.pk}/end/", {"reason": "moved"})
    membership.refresh_from_db()
    assert membership.ended_at is not None


def test_adding_an_unknown_existing_user_explains_what_to_do(cast, client):
    client.force_login(cast.manager)
    response = client.post(
        "/organizations/DEMO/members/new/", {"username": "ghost", "role": "technician"}
    )
    assert "username" in response.context["form"].errors


def test_obligation_page_closes_with_evidence(cast, client):
    obligation = services.obligation_open(
        organization=cast.demo, rule_id="BS-12", title="Drill", due_at=timezone.now()
    )
    client.force_login(cast.biosafety)
    client.post(f"/obligations/{obligation.public_id}/", {"action": "close", "evidence": "DR-1"})
    obligation.refresh_from_db()
    assert obligation.state == Obligation.State.DONE
    assert obligation.evidence == "DR-1"


def test_calendar_page_calculates_deadlines_and_records_a_typhoon_day(cast, client):
    client.force_login(cast.manager)
    response = client.get("/calendar/", {"start": "2026-02-10", "days": "5"})
    assert response.context["result"]["legal"].isoformat() == "2026-02-23"
    client.post(
        "/calendar/",
        {
            "override-day": "2026-09-01",
            "override-is_working_day": "0",
            "override-reason": "颱風停班",
            "override-organization": cast.demo.pk,
        },
    )
    from datetime import date

    from biobank.core.calendar import is_working_day

    assert not is_working_day(date(2026, 9, 1))


def test_organization_history_includes_membership_changes(cast, client):
    membership = Membership.objects.get(user=cast.technician, organization=cast.demo)
    services.membership_end(actor=cast.manager, membership=membership, reason="left the biobank")
    client.force_login(cast.auditor)
    body = client.get("/organizations/DEMO/").content.decode()
    assert "left the biobank" in body


def test_platform_admin_registers_an_organization_and_can_add_its_manager(cast, client):
    client.force_login(cast.platform_admin)
    response = client.post(
        "/organizations/new/",
        {
            "code": "NTUH",
            "name_zh": "臺大醫院",
            "name_en": "",
            "kind": "hospital",
            "staff_count": 0,
        },
    )
    assert response["Location"] == "/organizations/NTUH/"
    client.post(
        "/organizations/NTUH/members/new/",
        {"username": "chen", "role": "biobank_manager"},
    )
    assert Membership.objects.filter(
        organization__code="NTUH", user=cast.technician, role="biobank_manager"
    ).exists()


def test_duplicate_organization_code_is_refused_with_a_message(cast, client):
    client.force_login(cast.platform_admin)
    response = client.post(
        "/organizations/new/",
        {"code": "DEMO", "name_zh": "x", "kind": "hospital", "staff_count": 0},
    )
    assert response.status_code == 200
    assert "DEMO" in response.content.decode()


def test_only_platform_admins_see_the_registration_page(cast, client):
    client.force_login(cast.manager)
    assert client.get("/organizations/new/").status_code == 404
