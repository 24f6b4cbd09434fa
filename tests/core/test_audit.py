"""The audit trail: append-only, hash-chained, verified end to end."""

from __future__ import annotations

import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from biobank.core import services
from biobank.core.audit import GENESIS_HASH, audit_verify
from biobank.core.models import AuditEvent
from biobank.core.models.audit import AuditTrailIsAppendOnly


def _drop_append_only_triggers() -> None:
    """Tests play the attacker with direct database access (rolled back after the test)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER IF EXISTS core_auditevent_no_update")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS core_auditevent_no_change ON core_auditevent")


def _some_history(cast) -> None:
    site = cast.demo_site
    for n in range(3):
        services.site_update(
            actor=cast.manager, site=site, phone=f"02-1234-{n:04d}", reason=f"change {n}"
        )


def test_every_service_write_appends_an_event_with_actor_before_after_and_reason(cast):
    # given a site, when the manager changes its phone with a reason
    services.site_update(
        actor=cast.manager, site=cast.demo_site, phone="02-9999-0000", reason="new extension"
    )
    # then the latest event says who, what, before/after and why
    event = AuditEvent.objects.order_by("-sequence").first()
    assert event is not None
    assert event.actor == cast.manager
    assert event.organization == cast.demo
    assert event.action == AuditEvent.Action.UPDATE
    assert event.object_type == "core.site"
    assert event.object_id == str(cast.demo_site.pk)
    assert event.before["phone"] == ""
    assert event.after["phone"] == "02-9999-0000"
    assert event.reason == "new extension"


def test_chain_links_each_event_to_the_previous_one(cast):
    events = list(AuditEvent.objects.order_by("sequence"))
    assert events[0].prev_hash == GENESIS_HASH
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    for previous, event in itertools.pairwise(events):
        assert event.prev_hash == previous.hash


def test_verify_reports_an_intact_chain(cast):
    _some_history(cast)
    report = audit_verify()
    assert report.ok, str(report)
    assert report.checked == AuditEvent.objects.count()


def test_verify_catches_an_altered_event(cast):
    _some_history(cast)
    target = AuditEvent.objects.order_by("sequence")[5]
    _drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditevent SET reason = %s WHERE id = %s", ["nothing to see", target.pk]
        )
    report = audit_verify()
    assert not report.ok
    assert report.sequence == target.sequence
    assert "altered" in report.problem


def test_verify_catches_an_event_removed_from_the_middle(cast):
    _some_history(cast)
    target = AuditEvent.objects.order_by("sequence")[4]
    _drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [target.pk])
    report = audit_verify()
    assert not report.ok
    assert report.sequence == target.sequence
    assert "removed" in report.problem


def test_verify_catches_the_last_events_removed(cast):
    _some_history(cast)
    last = AuditEvent.objects.order_by("-sequence").first()
    assert last is not None
    _drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [last.pk])
    report = audit_verify()
    assert not report.ok
    assert report.sequence == last.sequence


def test_verify_catches_an_inserted_event(cast):
    # given an attacker who rewrites event 3 into a forged one with a fresh, self-consistent hash
    _some_history(cast)
    events = list(AuditEvent.objects.order_by("sequence"))
    forged_prev = events[2].hash
    _drop_append_only_triggers()
    with connection.cursor() as cursor:
        # shift every later event up by one to make room, then insert a forged event at #4
        for event in reversed(events[3:]):
            cursor.execute(
                "UPDATE core_auditevent SET sequence = %s WHERE id = %s",
                [event.sequence + 1, event.pk],
            )
    forged = AuditEvent(
        sequence=4,
        at=events[3].at,
        action="update",
        object_type="core.site",
        object_id="1",
        prev_hash=forged_prev,
        hash="f" * 64,
    )
    forged.save()
    # then verification stops at the forged event
    report = audit_verify()
    assert not report.ok
    assert report.sequence == 4


def test_application_cannot_change_or_delete_events(cast):
    event = AuditEvent.objects.first()
    assert event is not None
    event.reason = "edited"
    with pytest.raises(AuditTrailIsAppendOnly):
        event.save()
    with pytest.raises(AuditTrailIsAppendOnly):
        event.delete()
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(reason="edited")
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEvent.objects.all().delete()


def test_database_refuses_updates_to_events(cast):
    event = AuditEvent.objects.first()
    assert event is not None
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET reason = 'x' WHERE id = %s", [event.pk])


def test_admin_offers_no_way_to_change_or_delete_events(cast, rf):
    from django.contrib.admin.sites import site as admin_site

    model_admin = admin_site._registry[AuditEvent]
    request = rf.get("/admin/")
    request.user = cast.manager
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_audit_verify_command_exits_non_zero_on_a_broken_chain(cast, capsys):
    call_command("audit", "verify")
    assert "intact" in capsys.readouterr().out
    _drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET object_repr = 'forged' WHERE sequence = 2")
    with pytest.raises(CommandError, match="#2"):
        call_command("audit", "verify")


def test_record_page_shows_its_history(cast, client):
    services.site_update(
        actor=cast.manager, site=cast.demo_site, phone="02-5555-0101", reason="new phone line"
    )
    client.force_login(cast.auditor)
    response = client.get(f"/sites/{cast.demo_site.public_id}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "new phone line" in body
    assert "02-5555-0101" in body
    assert "lin" in body
