"""The specimen import at scale against the database's own bulk-insert rate (issue 6).

(a) The generated file goes through ``biobank import specimens`` in a child process, as a
biobank would run it: wall time, specimens/s, rows/s over every row it wrote (specimens,
lineage, events, placements, participants, audit events …) and the child's peak resident
memory. The storage and collections files go in first through their own imports, timed apart.

(b) The physical limit: every row the import wrote is read back and inserted into the same
tables of a second database holding the state from just before the import (the SQLite file
copied with the backup API; on PostgreSQL ``CREATE DATABASE … TEMPLATE``), with the driver's
bulk path in one transaction: ``executemany`` on SQLite, ``COPY`` on PostgreSQL. Only the
inserts and the commit are timed. The tables are found by counting the rows of every table
before and after the import, so nothing the import writes escapes the comparison.

Then ``biobank audit verify`` must find the hash chain intact.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from bench.generate import Dataset, organization_prepare, write_dataset

CHUNK = 20_000


@dataclass(frozen=True)
class Child:
    """A finished ``biobank`` command: wall seconds, peak resident MiB, its output."""

    seconds: float
    peak_mib: float
    stdout: str


def biobank(*args: str, echo_progress: bool = False) -> Child:
    """Run ``biobank ARGS`` in a child process on the same database (the environment carries
    BIOBANK_DATA_DIR / DATABASE_URL) and measure it; fails loudly when the command fails."""
    script = Path(sys.executable).with_name("biobank")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "biobank.cli"]
    with tempfile.TemporaryFile(mode="w+") as errors:
        started = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603 (our own console script)
            [*command, *args],
            stdout=subprocess.PIPE,
            stderr=None if echo_progress else errors,
            text=True,
        )
        assert process.stdout is not None
        stdout = process.stdout.read()
        # wait4 gives this child's own peak memory (RUSAGE_CHILDREN is the max of all children)
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        process.stdout.close()
        if process.returncode != 0:
            errors.seek(0)
            raise RuntimeError(
                f"biobank {' '.join(args)} failed ({process.returncode}):\n{stdout}{errors.read()}"
            )
    return Child(seconds=seconds, peak_mib=usage.ru_maxrss / 1024, stdout=stdout)


# Row counts ----------------------------------------------------------------------------------


def _tables() -> list[str]:
    with connection.cursor() as cursor:
        # not SQLite's own tables: sqlite_stat1 appears when the import analyses its tables
        names = connection.introspection.table_names(cursor)
        return sorted(name for name in names if not name.startswith("sqlite_"))


def _census() -> dict[str, tuple[int, int | None]]:
    """(row count, highest id) of every table; None for tables without an integer ``id``."""
    quote = connection.ops.quote_name
    result = {}
    with connection.cursor() as cursor:
        for table in _tables():
            # the column names from the cursor: Django's SQLite introspection cannot parse some
            # CHECK constraints
            cursor.execute(f"SELECT * FROM {quote(table)} WHERE 1 = 0")  # noqa: S608
            columns = [column[0] for column in cursor.description]
            top = "MAX(id)" if "id" in columns else "NULL"
            cursor.execute(f"SELECT COUNT(*), {top} FROM {quote(table)}")  # noqa: S608
            count, highest = cursor.fetchone()
            if count == 0:
                highest = 0
            result[table] = (int(count), highest if isinstance(highest, int) else None)
    return result


# The physical limit: SQLite ------------------------------------------------------------------


def _sqlite_path() -> Path:
    return Path(settings.DATABASES["default"]["NAME"])


def _sqlite_snapshot(target: Path) -> None:
    connection.close()
    source = sqlite3.connect(_sqlite_path())
    copy = sqlite3.connect(target)
    with copy:
        source.backup(copy)
    source.close()
    copy.close()


def _sqlite_rows(table: str, after: int) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
    """The table's rows with id above ``after``, in chunks, as the driver stores them."""
    reader = sqlite3.connect(_sqlite_path())
    try:
        last = after
        while True:
            cursor = reader.execute(
                f'SELECT * FROM "{table}" WHERE id > ? ORDER BY id LIMIT ?',  # noqa: S608
                (last, CHUNK),
            )
            rows = cursor.fetchall()
            if not rows:
                return
            columns = [d[0] for d in cursor.description]
            yield columns, rows
            last = rows[-1][columns.index("id")]
    finally:
        reader.close()


def _sqlite_raw_insert(target: Path, grown: dict[str, int]) -> tuple[int, float]:
    """Insert the import's rows into the snapshot with ``executemany``, in one transaction,
    with the same pragmas as the application (WAL, synchronous=NORMAL, foreign keys on)."""
    raw = sqlite3.connect(target, isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("PRAGMA foreign_keys=ON")
    inserted, elapsed = 0, 0.0
    started = time.perf_counter()
    raw.execute("BEGIN IMMEDIATE")
    elapsed += time.perf_counter() - started
    for table, after in grown.items():
        for columns, rows in _sqlite_rows(table, after):
            names = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" * len(columns))
            started = time.perf_counter()
            raw.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)  # noqa: S608
            elapsed += time.perf_counter() - started
            inserted += len(rows)
    started = time.perf_counter()
    raw.execute("COMMIT")
    elapsed += time.perf_counter() - started
    raw.close()
    return inserted, elapsed


# The physical limit: PostgreSQL --------------------------------------------------------------


def _pg_params(dbname: str) -> dict[str, Any]:
    params = dict(connection.get_connection_params())
    params["dbname"] = dbname
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params["autocommit"] = True
    return params


def _pg_snapshot(name: str) -> None:
    import psycopg

    main = settings.DATABASES["default"]["NAME"]
    connection.close()  # a template database must have no other session
    with psycopg.connect(**_pg_params("postgres")) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{main}"')


def _pg_drop(name: str) -> None:
    import psycopg

    with psycopg.connect(**_pg_params("postgres")) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _pg_raw_insert(name: str, grown: dict[str, int]) -> tuple[int, float]:
    """Insert the import's rows into the snapshot database with ``COPY``, in one transaction."""
    import psycopg
    from psycopg.types.string import TextLoader

    main = settings.DATABASES["default"]["NAME"]
    reader = psycopg.connect(**_pg_params(main))
    for json_type in ("json", "jsonb"):  # keep JSON as its text, as it was stored
        reader.adapters.register_loader(json_type, TextLoader)
    params = _pg_params(name)
    params["autocommit"] = False
    raw = psycopg.connect(**params)
    inserted, elapsed = 0, 0.0
    try:
        with raw.cursor() as out:
            for table, after in grown.items():
                last = after
                columns: list[str] = []
                copy_cm = None
                copy = None
                while True:
                    rows = reader.execute(
                        f'SELECT * FROM "{table}" WHERE id > %s ORDER BY id LIMIT %s',  # noqa: S608
                        (last, CHUNK),
                    )
                    fetched = rows.fetchall()
                    if not fetched:
                        break
                    if copy is None:
                        assert rows.description is not None
                        columns = [d.name for d in rows.description]
                        names = ", ".join(f'"{c}"' for c in columns)
                        started = time.perf_counter()
                        copy_cm = out.copy(f'COPY "{table}" ({names}) FROM STDIN')
                        copy = copy_cm.__enter__()
                        elapsed += time.perf_counter() - started
                    started = time.perf_counter()
                    for row in fetched:
                        copy.write_row(row)
                    elapsed += time.perf_counter() - started
                    inserted += len(fetched)
                    last = fetched[-1][columns.index("id")]
                if copy_cm is not None:
                    started = time.perf_counter()
                    copy_cm.__exit__(None, None, None)
                    elapsed += time.perf_counter() - started
        started = time.perf_counter()
        raw.commit()
        elapsed += time.perf_counter() - started
    finally:
        raw.close()
        reader.close()
    return inserted, elapsed


# The run -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    dataset: Dataset
    seconds: float
    rows: int


def _imported_count(output: str) -> str:
    return output.strip().splitlines()[-1] if output.strip() else ""


def run(*, count: int, organization_code: str = "BENCH") -> ImportResult | None:
    from biobank.core.importing import importers

    missing = {"storage", "collections", "specimens"} - set(importers())
    if missing:
        print(f"specimen import: skipped, no importer for {', '.join(sorted(missing))} yet")
        return None
    organization_prepare(organization_code)
    workdir = Path(tempfile.mkdtemp(prefix="biobank-bench-import-"))
    try:
        return _run(count=count, organization_code=organization_code, workdir=workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run(*, count: int, organization_code: str, workdir: Path) -> ImportResult:
    vendor = connection.vendor
    started = time.perf_counter()
    dataset = write_dataset(workdir, count=count)
    generated = time.perf_counter() - started
    size_mib = dataset.specimens.stat().st_size / 2**20
    print(f"specimen import on {vendor}, {dataset.count:,} specimens")
    print(
        f"  generated in {generated:.1f} s: {size_mib:,.0f} MiB of CSV, "
        f"{dataset.participants:,} participants, {dataset.collection_count} collections, "
        f"{dataset.storage_units:,} storage units ("
        + ", ".join(f"{n:,} of {size}" for size, n in sorted(dataset.box_sizes.items()))
        + " positions)"
    )
    org = ["--organization", organization_code]
    storage = biobank("import", "storage", str(dataset.storage), *org)
    collections = biobank("import", "collections", str(dataset.collections), *org)
    print(
        f"  storage import     {dataset.storage_units:>10,} units in {storage.seconds:6.1f} s; "
        f"collections import {dataset.collection_count} in {collections.seconds:.1f} s"
    )

    raw_name = ""
    if vendor == "sqlite":
        raw_path = workdir / "raw.sqlite3"
        _sqlite_snapshot(raw_path)
    else:
        raw_name = f"{settings.DATABASES['default']['NAME']}_raw"
        _pg_snapshot(raw_name)
    try:
        before = _census()
        child = biobank("import", "specimens", str(dataset.specimens), *org, echo_progress=True)
        after = _census()
        grown: dict[str, int] = {}
        for table, (rows, _top) in after.items():
            count_before, top_before = before.get(table, (0, 0))
            if rows > count_before:
                if top_before is None:
                    raise RuntimeError(f"{table} grew but has no integer id to read it back by")
                grown[table] = top_before
        written = {table: after[table][0] - before.get(table, (0, 0))[0] for table in grown}
        total = sum(written.values())
        if vendor == "sqlite":
            inserted, raw_seconds = _sqlite_raw_insert(raw_path, grown)
        else:
            inserted, raw_seconds = _pg_raw_insert(raw_name, grown)
    finally:
        if raw_name:
            _pg_drop(raw_name)
    assert inserted == total, f"read back {inserted} rows of the {total} the import wrote"

    specimens_rate = dataset.count / child.seconds
    import_rate = total / child.seconds
    raw_rate = inserted / raw_seconds
    method = "executemany" if vendor == "sqlite" else "COPY"
    print(f"  {_imported_count(child.stdout)}")
    print(
        f"  rows written: {total:,} = "
        + ", ".join(f"{table} {n:,}" for table, n in sorted(written.items(), key=lambda i: -i[1]))
    )
    print(
        f"  biobank import specimens   {child.seconds:8.1f} s  {specimens_rate:>10,.0f} "
        f"specimens/s  {import_rate:>10,.0f} rows/s  peak {child.peak_mib:,.0f} MiB"
    )
    print(
        f"  raw {method:<11} (limit)   {raw_seconds:8.1f} s  {'':>10}"
        f"             {raw_rate:>10,.0f} rows/s"
    )
    print(f"  ratio import / raw on total rows: {import_rate / raw_rate:.2f}")
    verify = biobank("audit", "verify")
    print(f"  biobank audit verify ({verify.seconds:.1f} s): {_imported_count(verify.stdout)}")
    return ImportResult(dataset=dataset, seconds=child.seconds, rows=total)
