"""Specimen search at scale: a page of results against a million specimens.

The physical limit is reading the same 50 rows straight from the table by primary key range
(plain SQL, no ORM); the search's ratio to it is what the ORM, the tenancy filter and the
filters cost. Paging is by keyset (``after`` = last id), so page 18,000 costs what page 1 does.
Each filter of a fixed set runs 15 times (after one warm-up): median and 95th percentile per
filter and over all of them. The specimens are the ones the import benchmark loaded, or, when
it did not run, rows inserted with plain SQL.

The box page (``/storage/<id>/`` through the Django test client) is timed for a full box of
each size the import filled, against a bare SELECT of the box's placements with their
specimens' barcode, status and material type.

On PostgreSQL the planner keeps the statistics it had before a bulk load until autovacuum
analyses the tables (or the import does); the first page is timed once as the load left them,
then ``ANALYZE`` runs before everything else is measured.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial

from django.db import connection, transaction

from biobank.core.models import Membership, Organization, User
from biobank.specimens.models import MaterialType, Specimen
from biobank.specimens.selectors import SpecimenQuery, specimen_search_for_user


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


def _samples_ms(run: Callable[[], object], repeat: int = 15) -> list[float]:
    run()  # warm: the first call pays for imports and the database's cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


def _ensure_specimens(organization: Organization, count: int) -> None:
    """The import benchmark normally loaded them; otherwise insert them with plain SQL."""
    present = Specimen.objects.filter(organization=organization).count()
    if present < count:
        rate = _fill(organization, count - present)
        print(f"specimens inserted with plain SQL: {rate:>12,.0f} rows/s (the write limit)")


def run(*, count: int, boxes: dict[int, str] | None = None) -> None:
    """Search latency over a fixed set of filters; with ``boxes`` (positions → barcode of a
    full box), also the box page for each."""
    organization, _ = Organization.objects.get_or_create(
        code="BENCH", defaults={"name_zh": "效能測試", "kind": "biobank"}
    )
    user, _ = User.objects.get_or_create(username="bench")
    Membership.objects.get_or_create(user=user, organization=organization, role="technician")
    _ensure_specimens(organization, count)
    ids = Specimen.objects.filter(organization=organization).order_by("id")
    first = ids.values_list("id", flat=True)[0]
    last = ids.reverse().values_list("id", flat=True)[0]
    deep = first + (last - first) * 95 // 100  # keyset page 95 % of the way through
    # a barcode prefix shared by a tenth of the stock (B0009 of B000000001-B001000000)
    late = ids.filter(id__gte=first + (last - first) * 9 // 10).values_list("barcode", flat=True)
    prefix = late[0][: -(len(str(max(10, count // 10))) - 1)]
    table = Specimen._meta.db_table

    def raw_page(after: int = 0) -> list[tuple[object, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, barcode, status FROM {table} WHERE id > %s ORDER BY id LIMIT 50",  # noqa: S608
                [after],
            )
            return cursor.fetchall()

    limit_ms = statistics.median(_samples_ms(raw_page))
    cases = {
        "first page, no filter": (SpecimenQuery(), None),
        f"page after id {deep:,} (keyset)": (SpecimenQuery(), deep),
        "material type DNA": (SpecimenQuery(material_type="DNA"), None),
        "material type PLASMA, deep": (SpecimenQuery(material_type="PLASMA"), deep),
        "status reserved, deep": (SpecimenQuery(status="reserved"), deep),
        "collection CRC-2021": (SpecimenQuery(collection="CRC-2021"), None),
        "participant P000100": (SpecimenQuery(participant="P000100"), None),
        f"barcode prefix {prefix}": (SpecimenQuery(barcode=prefix), None),
        "SPREC starts PL1-PED": (SpecimenQuery(sprec="PL1-PED"), None),
        "SPREC starts SER-SST-E": (SpecimenQuery(sprec="SER-SST-E"), None),
        "collected in March 2023": (
            SpecimenQuery(collected_from=date(2023, 3, 1), collected_to=date(2023, 3, 31)),
            None,
        ),
        "serum of one collection, 2024": (
            SpecimenQuery(
                material_type="SERUM",
                collection="LUNG-2019",
                collected_from=date(2024, 1, 1),
                collected_to=date(2024, 12, 31),
            ),
            None,
        ),
    }
    total = Specimen.objects.filter(organization=organization).count()
    print(f"specimen search on {connection.vendor}, {total:,} specimens, pages of 50")
    if connection.vendor == "postgresql":
        # The planner's statistics are those from before a bulk load until autovacuum gets to
        # the tables; show what that costs, then refresh them as autovacuum would.
        stale = statistics.median(
            _samples_ms(lambda: specimen_search_for_user(user, SpecimenQuery(), limit=50), 5)
        )
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(
            f"  first page with the statistics as they were: {stale:.2f} ms; "
            f"ANALYZE ({time.perf_counter() - started:.1f} s) for what follows"
        )
    print(f"  {'':<34} {'median':>8} {'p95':>8}  ratio of the median to the limit")
    print(f"  {'raw page by primary key (limit)':<34} {limit_ms:8.2f}")
    everything: list[float] = []
    for name, (query, after) in cases.items():
        samples = _samples_ms(partial(specimen_search_for_user, user, query, after=after, limit=50))
        everything += samples
        ms = statistics.median(samples)
        print(f"  {name:<34} {ms:8.2f} {_p95(samples):8.2f}  {ms / limit_ms:8.1f}")
    print(
        f"  {'all filters (ms)':<34} {statistics.median(everything):8.2f} {_p95(everything):8.2f}"
    )
    if boxes:
        _box_pages(user, boxes)


def _box_pages(user: User, boxes: dict[int, str]) -> None:
    """The box page through the test client against a bare SELECT of the box's placements."""
    from django.test import Client

    from biobank.storage.models import Placement, StorageUnit

    client = Client()
    client.force_login(user)
    placement = Placement._meta.db_table
    specimen = Specimen._meta.db_table
    material = MaterialType._meta.db_table
    print("box page (/storage/<id>/, Django test client), ms")
    print(f"  {'':<34} {'median':>8} {'p95':>8}  {'limit':>8}  ratio")
    for capacity, barcode in sorted(boxes.items()):
        unit = StorageUnit.objects.get(organization__code="BENCH", barcode=barcode)
        url = f"/storage/{unit.public_id}/"

        def page(url: str = url) -> None:
            response = client.get(url)
            assert response.status_code == 200, response.status_code

        def bare(unit_id: int = unit.pk) -> list[tuple[object, ...]]:
            with connection.cursor() as cursor:
                cursor.execute(
                    f'SELECT p.row, p."column", s.barcode, s.status, m.code FROM {placement} p '  # noqa: S608
                    f"JOIN {specimen} s ON s.id = p.specimen_id "
                    f"JOIN {material} m ON m.id = s.material_type_id WHERE p.unit_id = %s",
                    [unit_id],
                )
                return cursor.fetchall()

        placed = len(bare())
        samples = _samples_ms(page)
        limit = statistics.median(_samples_ms(bare))
        ms = statistics.median(samples)
        name = f"{barcode}, {placed} of {capacity} placed"
        print(f"  {name:<34} {ms:8.2f} {_p95(samples):8.2f}  {limit:8.2f}  {ms / limit:5.0f}")
