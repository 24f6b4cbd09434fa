"""Storage use cases (BB-02, BS-07): units, placing, moving, releasing, check-out, scans,
temperature, import."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from biobank.core.errors import ApplicationError
from biobank.core.models import Obligation
from biobank.specimens.services import specimens as specimen_services
from biobank.storage import selectors, services
from biobank.storage.models import CheckOut, Placement, StorageAccess, StorageUnit
from tests.storage.conftest import seeds


def test_bb02_hierarchy_keeps_kinds_in_order(cast, freezer):
    assert (
        freezer.box1.path
        == f"{freezer.room.path}{freezer.freezer.pk}/{freezer.rack.pk}/{freezer.box1.pk}/"
    )
    with pytest.raises(ApplicationError) as error:
        services.unit_create(
            actor=cast.manager,
            organization=cast.demo,
            barcode="X",
            name="x",
            kind="freezer",
            parent=freezer.box1,
        )
    assert error.value.rule == "BB-02"
    with pytest.raises(ApplicationError):  # a box needs its geometry
        services.unit_create(
            actor=cast.manager,
            organization=cast.demo,
            barcode="Y",
            name="y",
            kind="box",
            parent=freezer.rack,
        )


def test_bb02_placing_records_storage_and_bs07_an_access(cast, freezer):
    (seed,) = seeds(cast, 1)
    placement = services.specimen_place(
        actor=cast.technician, specimen=seed, unit=freezer.box1, position="b3"
    )
    assert (placement.row, placement.column) == (2, 3)
    assert services.label_of(placement) == "B3"
    event = seed.events.filter(activity="storage").get()
    assert event.parameters == {"temperature_c": -80.0}
    access = StorageAccess.objects.get(specimen=seed)
    assert (access.unit, access.purpose, access.person) == (
        freezer.freezer,
        "placing",
        cast.technician,
    )


def test_bb02_one_specimen_per_position_and_one_position_per_specimen(cast, freezer):
    first, second = seeds(cast, 2)
    services.specimen_place(actor=cast.technician, specimen=first, unit=freezer.box1, position="A1")
    with pytest.raises(ApplicationError, match="taken"):
        services.specimen_place(
            actor=cast.technician, specimen=second, unit=freezer.box1, position="A1"
        )
    with pytest.raises(ApplicationError, match="already"):
        services.specimen_place(
            actor=cast.technician, specimen=first, unit=freezer.box2, position="A1"
        )
    assert Placement.objects.count() == 1


def test_bad_positions_are_refused_clearly(cast, freezer):
    (seed,) = seeds(cast, 1)
    for bad in ("J1", "A10", "", "0-1"):
        with pytest.raises(ApplicationError):
            services.specimen_place(
                actor=cast.technician, specimen=seed, unit=freezer.box1, position=bad
            )


def test_bb02_restrictions_of_a_unit_and_its_ancestors_apply(cast, freezer):
    from biobank.specimens.models import MaterialType

    freezer.rack.allowed_material_types.set(
        [MaterialType.objects.get(code="PLASMA", organization=None)]
    )
    (seed,) = seeds(cast, 1)
    with pytest.raises(ApplicationError, match="RACK-A"):
        services.specimen_place(
            actor=cast.technician, specimen=seed, unit=freezer.box1, position="A1"
        )


def test_bb02_moving_records_a_transfer_from_and_to(cast, freezer):
    (seed,) = seeds(cast, 1)
    services.specimen_place(actor=cast.technician, specimen=seed, unit=freezer.box1, position="A1")
    services.specimen_move(actor=cast.technician, specimen=seed, unit=freezer.box2, position="C4")
    transfer = seed.events.get(activity="transfer")
    assert transfer.parameters == {"from": "BOX-1 A1", "to": "BOX-2 C4"}
    assert Placement.objects.get(specimen=seed).unit == freezer.box2


def test_bb02_moving_a_box_moves_its_specimens_and_records_transfers(cast, freezer):
    (seed,) = seeds(cast, 1)
    services.specimen_place(actor=cast.technician, specimen=seed, unit=freezer.box1, position="A1")
    rack_b = services.unit_create(
        actor=cast.manager,
        organization=cast.demo,
        barcode="RACK-B",
        name="rack B",
        kind="rack",
        parent=freezer.freezer,
    )
    services.unit_move(actor=cast.manager, unit=freezer.box1, parent=rack_b)
    freezer.box1.refresh_from_db()
    assert freezer.box1.path.startswith(rack_b.path)
    assert seed.events.filter(activity="transfer", parameters__to="RACK-B").exists()
    with pytest.raises(ApplicationError):
        services.unit_move(actor=cast.manager, unit=freezer.rack, parent=freezer.box2)


def test_bb02_leaving_the_stock_frees_the_position_in_the_same_transaction(cast, freezer):
    a, b = seeds(cast, 2)
    services.specimen_place(actor=cast.technician, specimen=a, unit=freezer.box1, position="A1")
    services.specimen_place(actor=cast.technician, specimen=b, unit=freezer.box1, position="A2")
    specimen_services.specimen_destroy(
        actor=cast.manager, specimen=a, method="autoclave", reason="expired"
    )
    specimen_services.specimen_aliquot(
        actor=cast.technician, parent=b, count=2, quantity_each=Decimal("5")
    )
    assert Placement.objects.filter(unit=freezer.box1).count() == 0  # destroyed, then depleted
    assert StorageAccess.objects.filter(purpose="retrieving").count() == 2


def test_check_out_and_in_count_time_and_freeze_thaw(cast, freezer):
    (seed,) = seeds(cast, 1)
    services.specimen_place(actor=cast.technician, specimen=seed, unit=freezer.box1, position="A1")
    out = timezone.now() - timedelta(minutes=30)
    services.specimen_check_out(
        actor=cast.technician, specimen=seed, reason="thaw for aliquot", at=out
    )
    with pytest.raises(ApplicationError):
        services.specimen_check_out(actor=cast.technician, specimen=seed, reason="again")
    services.specimen_check_in(actor=cast.technician, specimen=seed)
    seed.refresh_from_db()
    assert seed.freeze_thaw_count == 1
    assert timedelta(minutes=29) < services.time_out_of_storage(seed) < timedelta(minutes=31)
    assert CheckOut.objects.get().returned_by == cast.technician


def test_find_places_fills_in_order_and_keeps_aliquots_together(cast, freezer):
    parent_a, parent_b = seeds(cast, 2)
    kids_a = specimen_services.specimen_aliquot(
        actor=cast.technician, parent=parent_a, count=4, quantity_each=Decimal("1")
    )
    kids_b = specimen_services.specimen_aliquot(
        actor=cast.technician, parent=parent_b, count=4, quantity_each=Decimal("1")
    )
    # box 1 has 78 of 81 places taken, so 4 aliquots of one parent go together into box 2
    filler = seeds(cast, 78)
    for n, seed in enumerate(filler):
        services.specimen_place(
            actor=cast.technician,
            specimen=seed,
            unit=freezer.box1,
            position=(n // 9 + 1, n % 9 + 1),
        )
    places = services.find_places(
        within=freezer.freezer, specimens=kids_a + kids_b, keep_together=True
    )
    boxes = {}
    for specimen, box, _row, _column in places:
        boxes.setdefault(specimen.parent_links.get().parent_id, set()).add(box.barcode)
    assert all(len(names) == 1 for names in boxes.values())
    with pytest.raises(ApplicationError):
        services.find_places(within=freezer.box1, specimens=kids_a, keep_together=True)


def test_rack_scan_shows_differences_then_applies_them(cast, freezer):
    a, b, c = seeds(cast, 3)
    services.specimen_place(actor=cast.technician, specimen=a, unit=freezer.box1, position="A1")
    services.specimen_place(actor=cast.technician, specimen=b, unit=freezer.box1, position="A2")
    scan = [("A1", b.barcode), ("A2", a.barcode), ("A3", c.barcode)]
    diff = services.scan_compare(freezer.box1, scan)
    assert {barcode for _l, barcode in diff.placed_elsewhere} == {a.barcode, b.barcode}
    assert diff.new == [("A3", c.barcode)]
    assert services.scan_apply(actor=cast.technician, unit=freezer.box1, diff=diff) == 3
    grid = {(p.row, p.column): p.specimen for p in Placement.objects.filter(unit=freezer.box1)}
    assert (grid[(1, 1)], grid[(1, 2)], grid[(1, 3)]) == (b, a, c)
    assert services.scan_compare(freezer.box1, scan).unchanged


def test_bb02_temperature_excursion_opens_an_obligation_listing_the_specimens(cast, freezer):
    (seed,) = seeds(cast, 1)
    services.specimen_place(actor=cast.technician, specimen=seed, unit=freezer.box1, position="A1")
    start = timezone.now() - timedelta(hours=3)
    services.temperature_record(
        actor=cast.manager, unit=freezer.freezer, at=start, value_c=Decimal("-80")
    )
    warm = services.temperature_record(
        actor=cast.manager,
        unit=freezer.freezer,
        at=start + timedelta(hours=1),
        value_c=Decimal("-50"),
    )
    assert warm.opened and warm.excursion is not None
    assert warm.excursion.affected == [seed.barcode]
    obligation = Obligation.objects.get(rule_id="BB-02")
    assert "1" in obligation.title and obligation.subject_id == str(freezer.freezer.pk)
    back = services.temperature_record(
        actor=cast.manager,
        unit=freezer.freezer,
        at=start + timedelta(hours=2),
        value_c=Decimal("-79"),
    )
    assert back.excursion is not None and back.excursion.ended_at is not None


def test_box_grid_uses_a_fixed_number_of_queries(cast, freezer, django_assert_max_num_queries):
    big = services.unit_create(
        actor=cast.manager,
        organization=cast.demo,
        barcode="BOX-144",
        name="144",
        kind="box",
        parent=freezer.rack,
        rows=12,
        columns=12,
    )
    for n, seed in enumerate(seeds(cast, 40)):
        services.specimen_place(
            actor=cast.technician, specimen=seed, unit=big, position=(n // 12 + 1, n % 12 + 1)
        )
    with django_assert_max_num_queries(2):
        grid = selectors.box_grid(big)
        assert sum(1 for _label, row in grid.rows for cell in row if cell.specimen) == 40
        assert [label for label, _row in grid.rows][:2] == ["A", "B"]
    assert grid.capacity == 144


def test_bs07_access_records_of_a_unit_and_below_for_three_years(cast, freezer):
    (seed,) = seeds(cast, 1)
    services.specimen_place(actor=cast.technician, specimen=seed, unit=freezer.box1, position="A1")
    StorageAccess.objects.create(
        unit=freezer.freezer,
        person=cast.technician,
        at=timezone.now() - timedelta(days=4 * 365),
        purpose="inventory",
    )
    records = list(selectors.access_records(freezer.room))
    assert [r.purpose for r in records] == ["placing"]


def test_storage_import_is_all_or_nothing(cast, tmp_path, capsys):
    good = tmp_path / "storage.csv"
    good.write_text(
        "barcode,name,kind,parent_barcode,rows,columns,temperature\n"
        "RM-1,冷凍室,room,,,,\n"
        "FZ-1,-80 冷凍櫃,freezer,RM-1,,,-80\n"
        "RK-1,架 1,rack,FZ-1,,,\n"
        "BX-1,盒 1,box,RK-1,9,9,\n",
        encoding="utf-8",
    )
    call_command("import", "storage", str(good), organization="DEMO")
    assert StorageUnit.objects.get(barcode="BX-1").path.count("/") == 5
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "barcode,name,kind,parent_barcode,rows,columns,temperature\n"
        "RM-2,room,room,,,,\n"
        "BX-2,box,box,RM-2,,,\n"
        "FZ-2,freezer,freezer,NOPE,,,cold\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("import", "storage", str(bad), organization="DEMO")
    errors = capsys.readouterr().err
    assert "row 3, column rows" in errors and "row 4, column parent_barcode" in errors
    assert not StorageUnit.objects.filter(barcode="RM-2").exists()


def test_bs07_access_list_and_who_may_open(cast, freezer):
    assert services.may_open(cast.technician, freezer.box1)  # no list: storage staff may
    services.access_grant(actor=cast.biosafety, unit=freezer.freezer, user=cast.manager)
    assert services.may_open(cast.manager, freezer.box1)
    assert not services.may_open(cast.technician, freezer.box1)
    with pytest.raises(ApplicationError) as error:
        services.access_grant(actor=cast.manager, unit=freezer.freezer, user=cast.outsider)
    assert error.value.rule == "BS-07"


def test_temperature_logger_file_is_imported_and_opens_excursions(cast, freezer, tmp_path):
    logger = tmp_path / "logger.csv"
    logger.write_text(
        "unit_barcode,at,value_c\n"
        "F-80-01,2026-01-05 08:00,-80.1\n"
        "F-80-01,2026-01-05 09:00,-55.0\n"
        "F-80-01,2026-01-05 10:00,-79.8\n",
        encoding="utf-8",
    )
    call_command("import", "temperatures", str(logger), organization="DEMO")
    assert freezer.freezer.readings.count() == 3
    excursion = freezer.freezer.excursions.get()
    assert excursion.ended_at is not None and excursion.worst_c == Decimal("-55.0")


def test_free_positions_by_temperature_class(cast, freezer):
    (seed,) = seeds(cast, 1)
    services.specimen_place(actor=cast.technician, specimen=seed, unit=freezer.box1, position="A1")
    ((name, free, capacity),) = services.free_by_temperature([freezer.freezer])
    assert (free, capacity) == (161, 162)
    assert "-60" in name or "−60" in name or "85" in name
