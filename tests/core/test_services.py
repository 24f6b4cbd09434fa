"""Core use cases: organizations, sites, memberships, obligations, tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from biobank.core import services
from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import AuditEvent, Membership, Obligation
from biobank.core.roles import Role
from tests.factories import UserFactory


def test_platform_admin_registers_an_organization(cast):
    org = services.organization_create(
        actor=cast.platform_admin, code="ntuh", name_zh="臺大醫院", kind="hospital"
    )
    assert org.code == "NTUH"
    assert AuditEvent.objects.filter(
        object_type="core.organization", object_id=str(org.pk)
    ).exists()


def test_manager_cannot_register_organizations(cast):
    with pytest.raises(PermissionDenied):
        services.organization_create(actor=cast.manager, code="X1", name_zh="x", kind="company")


def test_organization_code_must_be_short_capitals(cast):
    with pytest.raises(ApplicationError, match="code"):
        services.organization_create(
            actor=cast.platform_admin, code="not a code!", name_zh="x", kind="company"
        )


def test_organization_update_records_before_and_after(cast):
    services.organization_update(
        actor=cast.manager, organization=cast.demo, staff_count=42, reason="annual headcount"
    )
    event = AuditEvent.objects.filter(object_type="core.organization").order_by("-sequence")[0]
    assert (event.before["staff_count"], event.after["staff_count"]) == (0, 42)
    assert event.reason == "annual headcount"


def test_unchanged_update_writes_no_event(cast):
    before = AuditEvent.objects.count()
    services.organization_update(actor=cast.manager, organization=cast.demo, staff_count=0)
    assert AuditEvent.objects.count() == before


def test_bs08_site_carries_signage_data(cast):
    """BS-08: the entrance signage data of a site."""
    site = services.site_create(
        actor=cast.biosafety,
        organization=cast.demo,
        code="LAB-2",
        name="BSL-2 lab",
        kind="lab",
        containment="BSL2",
        person_in_charge=cast.biosafety,
        manager_name="林美華",
        phone="02-1",
        emergency_contact="0912",
        emergency_measures="bleach",
    )
    assert (site.containment, site.person_in_charge, site.emergency_contact) == (
        "BSL2",
        cast.biosafety,
        "0912",
    )


def test_bs07_person_in_charge_must_belong_to_the_organization(cast):
    with pytest.raises(ApplicationError) as error:
        services.site_update(
            actor=cast.manager, site=cast.demo_site, person_in_charge=cast.outsider
        )
    assert error.value.rule == "BS-07"


def test_site_codes_are_unique_within_an_organization(cast):
    with pytest.raises(ApplicationError, match="LAB-BSL3"):
        services.site_create(
            actor=cast.manager, organization=cast.demo, code="LAB-BSL3", name="dup", kind="lab"
        )
    # the same code in another organization is fine
    services.site_create(
        actor=cast.outsider, organization=cast.other, code="LAB-BSL3", name="ok", kind="lab"
    )


def test_invalid_containment_is_refused(cast):
    with pytest.raises(ApplicationError, match="containment"):
        services.site_update(actor=cast.manager, site=cast.demo_site, containment="BSL9")


def test_technician_cannot_manage_sites(cast):
    with pytest.raises(PermissionDenied):
        services.site_update(actor=cast.technician, site=cast.demo_site, name="mine")


def test_manager_adds_a_new_person_with_a_role(cast):
    user = services.user_create(
        actor=cast.manager,
        organization=cast.demo,
        username="newtech",
        password="a-Long-passphrase-2026",
        role=Role.TECHNICIAN,
    )
    assert user.check_password("a-Long-passphrase-2026")
    assert Membership.objects.filter(user=user, organization=cast.demo, role="technician").exists()


def test_weak_password_is_refused_with_the_reason(cast):
    with pytest.raises(ApplicationError):
        services.user_create(
            actor=cast.manager,
            organization=cast.demo,
            username="weak",
            password="123",
            role="qa_officer",
        )


def test_a_role_is_held_once(cast):
    with pytest.raises(ApplicationError, match="already"):
        services.membership_add(
            actor=cast.manager, organization=cast.demo, user=cast.technician, role="technician"
        )


def test_ending_a_membership_removes_access_but_keeps_the_row(cast):
    membership = Membership.objects.get(user=cast.technician, organization=cast.demo)
    services.membership_end(actor=cast.manager, membership=membership, reason="left the lab")
    membership.refresh_from_db()
    assert membership.ended_at is not None
    from biobank.core.selectors import organization_list_for_user

    assert list(organization_list_for_user(cast.technician)) == []
    # and the role can be given again later
    services.membership_add(
        actor=cast.manager, organization=cast.demo, user=cast.technician, role="technician"
    )


def test_manager_cannot_end_their_own_managing_role(cast):
    membership = Membership.objects.get(user=cast.manager, organization=cast.demo)
    with pytest.raises(ApplicationError):
        services.membership_end(actor=cast.manager, membership=membership, reason="oops")


def test_obligation_close_needs_evidence_and_records_who(cast):
    obligation = services.obligation_open(
        organization=cast.demo,
        rule_id="BS-12",
        title="Annual drill",
        due_at=timezone.now() + timedelta(days=10),
    )
    with pytest.raises(ApplicationError):
        services.obligation_close(actor=cast.biosafety, obligation=obligation, evidence=" ")
    closed = services.obligation_close(
        actor=cast.biosafety, obligation=obligation, evidence="Drill report DR-2026-01"
    )
    assert (closed.state, closed.closed_by) == (Obligation.State.DONE, cast.biosafety)
    with pytest.raises(ApplicationError, match="already closed"):
        services.obligation_waive(actor=cast.manager, obligation=closed, reason="dup")


def test_obligation_waiver_needs_a_reason(cast):
    obligation = services.obligation_open(
        organization=cast.demo, rule_id="BS-11", title="Inventory", due_at=timezone.now()
    )
    with pytest.raises(ApplicationError):
        services.obligation_waive(actor=cast.manager, obligation=obligation, reason="")
    waived = services.obligation_waive(
        actor=cast.manager, obligation=obligation, reason="No class 1 material this half-year"
    )
    assert waived.state == Obligation.State.WAIVED


def test_technician_cannot_close_obligations(cast):
    obligation = services.obligation_open(
        organization=cast.demo, rule_id="BS-11", title="Inventory", due_at=timezone.now()
    )
    with pytest.raises(PermissionDenied):
        services.obligation_close(actor=cast.technician, obligation=obligation, evidence="done")


def test_open_obligation_past_due_reads_as_overdue(cast):
    obligation = services.obligation_open(
        organization=cast.demo,
        rule_id="BS-11",
        title="Inventory",
        due_at=timezone.now() - timedelta(hours=1),
    )
    assert obligation.display_state == "overdue"


def test_naive_due_time_is_refused(cast):
    from datetime import datetime

    with pytest.raises(ValueError):
        services.obligation_open(
            organization=cast.demo, rule_id="BS-11", title="x", due_at=datetime(2026, 1, 1)
        )


def test_notify_mails_the_responsible_role_once_a_day(cast):
    services.obligation_open(
        organization=cast.demo,
        rule_id="BS-11",
        title="Semi-annual inventory",
        due_at=timezone.now() - timedelta(hours=2),
        responsible_role=Role.BIOSAFETY_OFFICER,
    )
    services.obligation_open(
        organization=cast.demo,
        rule_id="BS-12",
        title="Far away",
        due_at=timezone.now() + timedelta(days=60),
        responsible_role=Role.BIOSAFETY_OFFICER,
    )
    sent = services.obligation_notify()
    assert sent == [(cast.biosafety.email, 1)]
    assert "Semi-annual inventory" in mail.outbox[0].body
    assert services.obligation_notify() == []


def test_notify_prefers_the_assignee(cast):
    person = UserFactory(username="assigned", email="assigned@example.org")
    services.obligation_open(
        organization=cast.demo,
        rule_id="BS-09",
        title="Training",
        due_at=timezone.now() + timedelta(days=1),
        assignee=person,
    )
    assert services.obligation_notify() == [("assigned@example.org", 1)]


def test_token_authenticates_until_revoked(cast):
    token, plain = services.token_create(user=cast.technician, name="scanner")
    assert services.token_authenticate(plain) == cast.technician
    assert token.key_hash != plain and plain not in token.key_hash
    with pytest.raises(PermissionDenied):
        services.token_revoke(actor=cast.manager, token=token)
    services.token_revoke(actor=cast.technician, token=token)
    assert services.token_authenticate(plain) is None
    assert services.token_authenticate("bb_nonsense") is None
