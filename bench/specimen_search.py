"""Specimen search at scale: a page of results against a million specimens.

The physical limit is reading the same 50 rows straight from the table by primary key range
(plain SQL, no ORM); the search's ratio to it is what the ORM, the tenancy filter and the
filters cost. Paging is by keyset (``after`` = last id), so page 18,000 costs what page 1 does.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from biobank.core.models import Membership, Organization, User
from biobank.specimens.models import MaterialType, Specimen
from biobank.specimens.selectors import SpecimenQuery, specimen_search_for_user


def _median_ms(run: Callable[[], object], repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _fill(organization: Organization, count: int) -> float:
    """Insert ``count`` specimens with plain SQL; returns rows per second (the write limit)."""
    types = list(
        MaterialType.objects.filter(
            code__in=["PLASMA", "SERUM", "BUFFY_COAT", "DNA"], organization=None
        )
    )
    table = Specimen._meta.db_table
    columns = [
        "organization_id",
        "barcode",
        "category_id",
        "material_type_id",
        "acquired_type_id",
        "quantity",
        "remaining",
        "unit",
        "status",
        "sprec",
        "freeze_thaw_count",
        "consent_withdrawn",
        "on_hold",
        "infectious",
        "delinked",
        "collected_at",
        "source_organism",
        "source_strain",
        "source_identifier",
        "concentration_unit",
        "container_type",
        "receipt_condition",
        "created_at",
        "updated_at",
    ]
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
    base = datetime(2020, 1, 1, tzinfo=UTC)
    now = datetime.now(tz=UTC)
    started = time.perf_counter()
    batch = 50_000
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, count, batch):
            rows = []
            for n in range(start, min(start + batch, count)):
                mtype = types[n % len(types)]
                rows.append(
                    (
                        organization.pk,
                        f"B{n:09d}",
                        "human",
                        mtype.pk,
                        mtype.pk,
                        1,
                        1,
                        "mL",
                        "available" if n % 10 else "reserved",
                        "PL1-PED-A-D-N-A-D" if n % 4 == 0 else "",
                        0,
                        False,
                        False,
                        False,
                        False,
                        base + timedelta(minutes=n),
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        now,
                        now,
                    )
                )
            cursor.executemany(sql, rows)
    return count / (time.perf_counter() - started)


def run(*, count: int) -> None:
    organization, _ = Organization.objects.get_or_create(
        code="BENCH", defaults={"name_zh": "效能測試", "kind": "biobank"}
    )
    user, _ = User.objects.get_or_create(username="bench")
    Membership.objects.get_or_create(user=user, organization=organization, role="technician")
    if Specimen.objects.filter(organization=organization).count() < count:
        rate = _fill(
            organization, count - Specimen.objects.filter(organization=organization).count()
        )
        print(f"specimens inserted with plain SQL: {rate:>12,.0f} rows/s (the write limit)")
    last = (
        Specimen.objects.filter(organization=organization)
        .order_by("-id")
        .values_list("id", flat=True)[0]
    )
    deep = last - 50_000
    table = Specimen._meta.db_table

    def raw_page(after: int = 0) -> list[tuple[object, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, barcode, status FROM {table} WHERE id > %s ORDER BY id LIMIT 50",  # noqa: S608
                [after],
            )
            return cursor.fetchall()

    limit_ms = _median_ms(raw_page)
    cases = {
        "first page, no filter": (SpecimenQuery(), None),
        f"page after id {deep:,} (keyset)": (SpecimenQuery(), deep),
        "material type DNA": (SpecimenQuery(material_type="DNA"), None),
        "status reserved, deep": (SpecimenQuery(status="reserved"), deep),
        "barcode prefix B0009": (SpecimenQuery(barcode="B0009"), None),
        "SPREC starts PL1-PED": (SpecimenQuery(sprec="PL1-PED"), None),
    }
    total = Specimen.objects.filter(organization=organization).count()
    print(f"specimen search on {connection.vendor}, {total:,} specimens, pages of 50")
    print(f"  raw page by primary key (limit)  {limit_ms:8.2f} ms")
    for name, (query, after) in cases.items():
        ms = _median_ms(
            lambda q=query, a=after: specimen_search_for_user(user, q, after=a, limit=50)
        )
        print(f"  {name:<32} {ms:8.2f} ms   ratio {ms / limit_ms:6.1f}")
