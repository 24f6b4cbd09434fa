"""Concurrent writers keep one linear audit chain (the head row lock serialises appends)."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connections

from biobank.core.audit import audit_record, audit_verify
from biobank.core.models import AuditEvent, Organization

ONLY_POSTGRESQL = pytest.mark.skipif(
    "sqlite" in settings.DATABASES["default"]["ENGINE"],
    reason="SQLite serialises writers with its database lock; this runs on PostgreSQL",
)

WRITERS = 6
EVENTS_EACH = 25


@ONLY_POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_stay_one_intact_chain():
    organization = Organization.objects.create(code="RACE", name_zh="併發", kind="biobank")
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(EVENTS_EACH):
                audit_record(
                    actor=None,
                    action=AuditEvent.Action.UPDATE,
                    organization=organization,
                    object_type="core.site",
                    object_id=f"{n}-{i}",
                )
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, len(sequences) + 1))
    assert AuditEvent.objects.filter(object_type="core.site").count() == WRITERS * EVENTS_EACH
    report = audit_verify()
    assert report.ok, str(report)
