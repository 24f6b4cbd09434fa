"""Specimens created and placed one at a time through the HTTP API, against a real server.

``gunicorn biobank.wsgi:application --bind 127.0.0.1:PORT --workers 1`` (one sync worker, the
production WSGI server of docs/operations.md) runs in a child process with DEBUG off, on the
benchmark's database; one client sends requests one after another with
``http.client`` and a personal Bearer token, as a lab instrument or a LIMS bridge would. It
measures the rate of ``POST /api/v1/specimens`` (human whole blood of a consenting participant,
in a collection, with its own barcode) and of ``POST /api/v1/storage/units/{id}/placements``
(each into the next free position of 10 × 10 boxes). The physical limit is the cheapest
authenticated endpoint on the same server, ``GET /api/v1/me``: an HTTP round trip, the
middleware and the token lookup. Target: ≥ 200 specimens/s created on SQLite.

``BENCH_PROFILE=1`` also runs the same two requests in-process under cProfile (through the
Django test client) and prints where the time goes.
"""

from __future__ import annotations

import cProfile
import http.client
import io
import json
import os
import pstats
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from bench.generate import organization_prepare

TARGET = 200.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """gunicorn with one sync worker in a child process, stopped when the block ends."""

    def __init__(self) -> None:
        self.port = _free_port()
        environment = {**os.environ, "BIOBANK_DEBUG": "false"}
        self.process = subprocess.Popen(  # noqa: S603 (the venv's own gunicorn)
            [
                sys.executable, "-m", "gunicorn", "biobank.wsgi:application",
                "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
            ],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start within 60 s")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Client:
    """One client, one request after another, Bearer token, JSON."""

    def __init__(self, port: int, token: str) -> None:
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        payload = json.dumps(body) if body is not None else None
        self.http.request(method, path, body=payload, headers=self.headers)
        response = self.http.getresponse()
        data = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path} -> {response.status}: {data[:500]!r}")
        return json.loads(data) if data else None

    def close(self) -> None:
        self.http.close()


def _rate(count: int, send: Callable[[int], object]) -> float:
    started = time.perf_counter()
    for n in range(count):
        send(n)
    return count / (time.perf_counter() - started)


# Set-up --------------------------------------------------------------------------------------


def _setup(organization_code: str, count: int) -> tuple[str, list[str], list[str], str]:
    """(token, participant codes, box public ids, collection code), through the services."""
    from biobank.core.services import token_create
    from biobank.participants import rules as consent_rules
    from biobank.participants import services as participant_services
    from biobank.participants.models import ConsentForm, Participant
    from biobank.specimens.models import Collection
    from biobank.specimens.services.collections import collection_create
    from biobank.storage import services as storage_services
    from biobank.storage.models import StorageUnit

    organization, user = organization_prepare(organization_code)
    form = ConsentForm.objects.filter(organization=organization, code="API-GEN").first()
    if form is None:
        form = participant_services.consent_form_create(
            actor=None,
            organization=organization,
            code="API-GEN",
            version="1",
            title="General research use",
            committee_reference="BENCH-IRB-2024-001",
            approved_on=date(2024, 1, 2),
            permissions=[consent_rules.GRU],
            duration_years=20,
        )
    codes = []
    for n in range(1, 11):
        code = f"API-P{n:03d}"
        codes.append(code)
        if Participant.objects.filter(organization=organization, code=code).exists():
            continue
        participant = participant_services.participant_register(
            actor=None, organization=organization, code=code, birth_year=1960 + n
        )
        participant_services.consent_record(
            actor=None,
            participant=participant,
            form=form,
            signed_on=timezone.localdate() - timedelta(days=30),
            capacity="adult",
            signed_by="participant",
            permissions=[consent_rules.GRU],
        )
    if not Collection.objects.filter(organization=organization, code="API-COHORT").exists():
        collection_create(
            actor=None,
            organization=organization,
            code="API-COHORT",
            name="API benchmark cohort",
            principal_investigator="林志明",
            irb_reference="BENCH-IRB-2024-001",
        )
    units = StorageUnit.objects.filter(organization=organization)
    freezer = units.filter(barcode="API-FZ").first() or storage_services.unit_create(
        actor=None,
        organization=organization,
        barcode="API-FZ",
        name="API -80 °C freezer",
        kind="freezer",
        set_point_c=Decimal("-80"),
    )
    rack = units.filter(barcode="API-RACK").first() or storage_services.unit_create(
        actor=None, organization=organization, barcode="API-RACK", name="rack", kind="rack",
        parent=freezer,
    )  # fmt: skip
    start = units.filter(barcode__startswith="API-BOX").count()
    boxes = [
        storage_services.unit_create(
            actor=None,
            organization=organization,
            barcode=f"API-BOX{start + n + 1:04d}",
            name=f"API box {start + n + 1}",
            kind="box",
            parent=rack,
            rows=10,
            columns=10,
        )
        for n in range((count + 99) // 100)
    ]
    _, token = token_create(user=user, name="bench api_rate")
    return token, codes, [str(box.public_id) for box in boxes], "API-COHORT"


def _position(n: int) -> tuple[int, str]:
    box, index = divmod(n, 100)
    row, column = divmod(index, 10)
    return box, f"{chr(ord('A') + row)}{column + 1}"


def _payload(organization_code: str, barcode: str, participant: str, collection: str) -> dict:
    return {
        "organization": organization_code,
        "material_type": "WHOLE_BLOOD",
        "quantity": "10",
        "unit": "mL",
        "barcode": barcode,
        "participant": participant,
        "collection": collection,
        "collected_at": (timezone.localtime() - timedelta(hours=1)).replace(tzinfo=None)
        .isoformat(timespec="seconds"),
        "container_type": "EDTA tube 10 mL",
    }  # fmt: skip


# The run -------------------------------------------------------------------------------------


def run(*, count: int, organization_code: str = "BENCH") -> None:
    token, participants, boxes, collection = _setup(organization_code, count)
    prefix = f"API{int(time.time()) % 100000:05d}-"
    connection.close()  # the server is the only writer while it runs
    with Server() as server:
        client = Client(server.port, token)
        client.call("GET", "/api/v1/me")  # warm the server (imports, first queries)
        bare = _rate(max(count, 200), lambda _n: client.call("GET", "/api/v1/me"))
        created = _rate(
            count,
            lambda n: client.call(
                "POST",
                "/api/v1/specimens",
                _payload(
                    organization_code,
                    f"{prefix}{n:06d}",
                    participants[n % len(participants)],
                    collection,
                ),
            ),
        )

        def place(n: int) -> object:
            box, position = _position(n)
            return client.call(
                "POST",
                f"/api/v1/storage/units/{boxes[box]}/placements",
                {"barcode": f"{prefix}{n:06d}", "position": position},
            )

        placed = _rate(count, place)
        client.close()
    print(f"HTTP API on {connection.vendor}, gunicorn, 1 sync worker, one client, {count:,} each")
    print(f"  GET /api/v1/me (limit)                {bare:>8,.0f} requests/s")
    verdict = "meets" if created >= TARGET else "below"
    print(
        f"  POST /api/v1/specimens                {created:>8,.0f} specimens/s   "
        f"ratio {created / bare:.2f}   ({verdict} the {TARGET:.0f}/s target)"
    )
    print(
        f"  POST /api/v1/storage/units/…/placements {placed:>6,.0f} placements/s  "
        f"ratio {placed / bare:.2f}"
    )
    if os.environ.get("BENCH_PROFILE"):
        profile(organization_code=organization_code, count=min(count, 300))


def profile(*, organization_code: str, count: int) -> None:
    """The same requests in-process through the test client, under cProfile."""
    from django.test import Client as TestClient

    token, participants, boxes, collection = _setup(organization_code, count + 1)
    prefix = f"PRF{int(time.time()) % 100000:05d}-"
    client = TestClient(HTTP_AUTHORIZATION=f"Bearer {token}")

    def create(n: int) -> None:
        response = client.post(
            "/api/v1/specimens",
            _payload(
                organization_code,
                f"{prefix}{n:06d}",
                participants[n % len(participants)],
                collection,
            ),
            content_type="application/json",
        )
        assert response.status_code == 201, response.content

    def place(n: int) -> None:
        box, position = _position(n)
        response = client.post(
            f"/api/v1/storage/units/{boxes[box]}/placements",
            {"barcode": f"{prefix}{n:06d}", "position": position},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content

    create(count)  # warm: the first request imports modules and fills caches
    place(count)
    for name, step in (("POST /api/v1/specimens", create), ("POST …/placements", place)):
        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(count):
            step(n)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        print(f"\ncProfile of {count} × {name} (in-process, test client)")
        total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
        for layer, seconds in sorted(_layers(stats).items(), key=lambda item: -item[1]):
            print(f"  {layer:<46} {seconds / count * 1000:6.2f} ms  {seconds / total:4.0%}")
        stats.sort_stats("cumulative").print_stats(30)
        print(out.getvalue())


LAYERS = (
    ("sqlite3 / psycopg (the database itself)", ("sqlite3", "psycopg", "CursorWrapper.execute")),
    ("Django ORM (building queries and models)", ("django/db/",)),
    ("django-ninja and pydantic (parse, validate, serialise)", ("ninja/", "pydantic")),
    ("Django request handling and middleware", ("django/", "axes/")),
    ("biobank code", ("biobank/",)),
)


def _layers(stats: pstats.Stats) -> dict[str, float]:
    """Own time (tottime) per layer of the stack, from the file each function lives in."""
    layers: dict[str, float] = {}
    for (filename, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{filename} {function}"
        layer = next(
            (name for name, marks in LAYERS if any(mark in where for mark in marks)),
            "Python's library (copy, json, re …) called by the above",
        )
        layers[layer] = layers.get(layer, 0.0) + row[2]
    return layers
