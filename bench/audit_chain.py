"""Audit trail append rate against the database's raw insert rate.

Every regulated write appends one hash-chained audit event, so the chain's append rate bounds
the rate of every other use case. The physical limit is the same number of rows of the same
width inserted straight into a bare table, in one transaction, in the same run.
"""

from __future__ import annotations

import time

from django.db import connection, transaction

from biobank.core.audit import audit_record
from biobank.core.models import AuditEvent, Organization


def _raw_insert_rate(count: int) -> float:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw")
        cursor.execute(
            "CREATE TABLE bench_raw (id integer PRIMARY KEY, object_type varchar(100), "
            "object_id varchar(64), after text, hash varchar(64))"
        )
    rows = [(n, "core.site", str(n), '{"phone": "02-1234-5678"}', "0" * 64) for n in range(count)]
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for row in rows:
            cursor.execute(
                "INSERT INTO bench_raw (id, object_type, object_id, after, hash) "
                "VALUES (%s, %s, %s, %s, %s)",
                row,
            )
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_raw")
    return count / elapsed


def _audit_rate(count: int) -> float:
    organization, _ = Organization.objects.get_or_create(
        code="BENCH", defaults={"name_zh": "效能測試", "kind": "biobank"}
    )
    started = time.perf_counter()
    with transaction.atomic():
        for n in range(count):
            audit_record(
                actor=None,
                action=AuditEvent.Action.UPDATE,
                organization=organization,
                object_type="core.site",
                object_id=str(n),
                object_repr=f"site {n}",
                before={"phone": ""},
                after={"phone": "02-1234-5678"},
            )
    return count / (time.perf_counter() - started)


def _verify_rate() -> tuple[float, int]:
    from biobank.core.audit import audit_verify

    started = time.perf_counter()
    report = audit_verify()
    assert report.ok, str(report)
    return report.checked / (time.perf_counter() - started), report.checked


def run(*, count: int) -> None:
    vendor = connection.vendor
    raw = _raw_insert_rate(count)
    audit = _audit_rate(count)
    verify, checked = _verify_rate()
    print(f"audit chain on {vendor}, {count} events")
    print(f"  raw insert (physical limit)  {raw:>10,.0f} rows/s")
    print(f"  audit_record append          {audit:>10,.0f} events/s   ratio {audit / raw:.2f}")
    print(f"  audit verify ({checked} events) {verify:>10,.0f} events/s   ratio {verify / raw:.2f}")
