"""One specimen per position, one position per specimen: under random sequences of place,
move and remove (property), and under concurrent writers on PostgreSQL (BB-02)."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings as django_settings
from django.db import connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biobank.core.errors import ApplicationError
from biobank.storage import services
from biobank.storage.models import Placement
from tests.storage.conftest import seeds

ONLY_POSTGRESQL = pytest.mark.skipif(
    "sqlite" in django_settings.DATABASES["default"]["ENGINE"],
    reason="SQLite serialises writers with its database lock; this runs on PostgreSQL",
)

operations = st.lists(
    st.tuples(
        st.sampled_from(["place", "move", "remove"]),
        st.integers(min_value=0, max_value=5),  # which specimen
        st.integers(min_value=0, max_value=1),  # which box
        st.integers(min_value=1, max_value=3),  # row
        st.integers(min_value=1, max_value=3),  # column
    ),
    max_size=25,
)


def _check_invariants() -> None:
    rows = list(Placement.objects.values_list("unit_id", "row", "column", "specimen_id"))
    positions = [(u, r, c) for u, r, c, _s in rows]
    specimens = [s for _u, _r, _c, s in rows]
    assert len(positions) == len(set(positions))
    assert len(specimens) == len(set(specimens))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=operations)
def test_bb02_property_random_place_move_remove_never_double_books(cast, freezer, steps):
    with transaction.atomic():
        pool = seeds(cast, 6)
        boxes = [freezer.box1, freezer.box2]
        expected: dict[int, tuple[int, int, int]] = {}
        for action, who, box, row, column in steps:
            specimen, unit = pool[who], boxes[box]
            try:
                if action == "place":
                    services.specimen_place(
                        actor=cast.technician, specimen=specimen, unit=unit, position=(row, column)
                    )
                elif action == "move":
                    services.specimen_move(
                        actor=cast.technician, specimen=specimen, unit=unit, position=(row, column)
                    )
                else:
                    services.specimen_remove(
                        actor=cast.technician, specimen=specimen, reason="test"
                    )
            except ApplicationError:
                pass  # refused: nothing may have changed
            else:
                if action == "remove":
                    expected.pop(specimen.pk, None)
                else:
                    expected[specimen.pk] = (unit.pk, row, column)
            _check_invariants()
            actual = {
                s: (u, r, c)
                for u, r, c, s in Placement.objects.values_list(
                    "unit_id", "row", "column", "specimen_id"
                )
            }
            assert actual == expected
        transaction.set_rollback(True)


@ONLY_POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_bb02_concurrent_writers_never_double_book_a_position(cast, freezer):
    writers = 6
    pool = seeds(cast, writers * 4)
    start = threading.Barrier(writers)
    results: list[tuple[int, int, int]] = []
    refused: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        try:
            start.wait()
            for k in range(4):
                specimen = pool[n * 4 + k]
                # every writer aims at the same first positions, so they collide
                for slot in range(8):
                    row, column = slot // 3 + 1, slot % 3 + 1
                    try:
                        services.specimen_place(
                            actor=cast.technician,
                            specimen=specimen,
                            unit=freezer.box1,
                            position=(row, column),
                        )
                    except ApplicationError as error:
                        with lock:
                            refused.append(error.message)
                        continue
                    with lock:
                        results.append((specimen.pk, row, column))
                    break
        except BaseException as exc:  # reported to the main thread
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    _check_invariants()
    stored = set(Placement.objects.values_list("specimen_id", "row", "column"))
    assert stored == set(results)  # no write lost, none invented
    assert len(stored) == min(len(pool), 8)
    assert refused  # the race really happened
