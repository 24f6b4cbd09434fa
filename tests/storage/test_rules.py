"""Storage rules (BB-02, BS-07): pure functions, no database."""

from __future__ import annotations

from collections.abc import Collection

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biobank.storage.rules import (
    BoxSpace,
    Geometry,
    NoRoomError,
    Order,
    PositionError,
    ScanDiff,
    Scheme,
    access_purpose_ok,
    compare_scan,
    fill_order,
    find_free,
    find_places,
    label,
    parse,
)

PLATE = Geometry(8, 12)  # a 96-well plate or SBS rack, A1 … H12
SCHEMES: list[Scheme] = ["alpha", "row-col", "numeric"]
ORDERS: list[Order] = ["row", "column"]


@st.composite
def geometries(draw: st.DrawFn) -> Geometry:
    scheme = draw(st.sampled_from(SCHEMES))
    rows = draw(st.integers(1, 26 if scheme == "alpha" else 50))
    columns = draw(st.integers(1, 50))
    return Geometry(rows, columns, scheme, draw(st.sampled_from(ORDERS)))


def box(key: str, rows: int, columns: int, occupied: Collection[tuple[int, int]] = ()) -> BoxSpace:
    return BoxSpace(key, Geometry(rows, columns), frozenset(occupied))


# Geometry and labels


@pytest.mark.parametrize(
    ("rows", "columns", "scheme"),
    [(0, 12, "alpha"), (8, 0, "alpha"), (51, 1, "numeric"), (1, 51, "row-col"), (27, 1, "alpha")],
)
def test_bb02_geometry_outside_limits_is_refused(rows, columns, scheme):
    with pytest.raises(ValueError):
        Geometry(rows, columns, scheme)


def test_bb02_geometry_refuses_unknown_scheme_or_order():
    with pytest.raises(ValueError):
        Geometry(8, 12, "roman")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Geometry(8, 12, order="diagonal")  # type: ignore[arg-type]


def test_bb02_row_col_and_numeric_boxes_may_have_more_than_26_rows():
    assert label(Geometry(30, 2, "row-col"), 30, 2) == "30-2"
    assert label(Geometry(30, 2, "numeric"), 30, 2) == "60"


def test_bb02_labels_in_each_scheme():
    assert label(PLATE, 1, 1) == "A1"
    assert label(PLATE, 8, 12) == "H12"
    assert label(Geometry(9, 9, "row-col"), 3, 7) == "3-7"
    assert label(Geometry(9, 9, "numeric"), 2, 1) == "10"


def test_bb02_numeric_labels_follow_fill_order():
    by_row = Geometry(3, 4, "numeric", "row")
    by_column = Geometry(3, 4, "numeric", "column")
    assert [label(by_row, *p) for p in fill_order(by_row)] == [str(n) for n in range(1, 13)]
    assert [label(by_column, *p) for p in fill_order(by_column)] == [str(n) for n in range(1, 13)]
    assert label(by_row, 2, 1) == "5"
    assert label(by_column, 2, 1) == "2"


def test_bb02_fill_order_along_rows_or_down_columns():
    assert fill_order(Geometry(2, 3))[:4] == [(1, 1), (1, 2), (1, 3), (2, 1)]
    assert fill_order(Geometry(2, 3, order="column"))[:4] == [(1, 1), (2, 1), (1, 2), (2, 2)]


def test_bb02_label_outside_the_box_is_an_error():
    with pytest.raises(PositionError, match="row 9"):
        label(PLATE, 9, 1)


@settings(max_examples=150, deadline=None)
@given(geometry=geometries())
def test_bb02_property_label_and_parse_round_trip_for_every_position(geometry):
    order = fill_order(geometry)
    assert len(order) == len(set(order)) == geometry.rows * geometry.columns
    labels = [label(geometry, *position) for position in order]
    assert len(set(labels)) == len(labels)
    for position, text in zip(order, labels, strict=True):
        assert parse(geometry, text) == position
        assert parse(geometry, f"{position[0]}-{position[1]}") == position


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("A1", (1, 1)),
        ("a01", (1, 1)),
        ("  h12 ", (8, 12)),
        ("C007", (3, 7)),
        ("3-7", (3, 7)),
        (" 3 - 7 ", (3, 7)),
        ("03-07", (3, 7)),
        ("Ｂ１２", (2, 12)),  # full width, as a Chinese input method types it
        ("３－７", (3, 7)),
    ],
)
def test_bb02_parse_accepts_what_people_and_scanners_write(text, position):
    assert parse(PLATE, text) == position


def test_bb02_parse_numeric_labels_count_in_fill_order():
    geometry = Geometry(9, 9, "numeric", "column")
    assert parse(geometry, "10") == (1, 2)
    assert parse(geometry, "2-1") == (2, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("M1", "row M is outside"),
        ("A13", "column 13 is outside"),
        ("A0", "column 0 is outside"),
        ("0-1", "row 0 is outside"),
        ("9-1", "row 9 is outside"),
        ("", "a position is required"),
        ("   ", "a position is required"),
        ("AA1", "is not a position"),
        ("17", "is not a position"),
        ("A-1", "is not a position"),
        ("1-1-1", "is not a position"),
        ("1" * 5000, "is not a position"),
    ],
)
def test_bb02_parse_refuses_malformed_or_outside_positions(text, message):
    with pytest.raises(PositionError, match=message):
        parse(PLATE, text)


def test_bb02_parse_only_alpha_boxes_take_letters():
    with pytest.raises(PositionError, match="1-1 to 9-9"):
        parse(Geometry(9, 9, "row-col"), "A1")
    with pytest.raises(PositionError, match="position 82 is outside"):
        parse(Geometry(9, 9, "numeric"), "82")


# find_free


def test_bb02_find_free_skips_occupied_positions():
    occupied = {(1, 1), (1, 2), (1, 4)}
    assert find_free(PLATE, occupied, 3) == [(1, 3), (1, 5), (1, 6)]


def test_bb02_find_free_starts_at_start_and_follows_fill_order():
    by_column = Geometry(8, 12, order="column")
    assert find_free(by_column, {(8, 2)}, 3, start=(7, 2)) == [(7, 2), (1, 3), (2, 3)]
    assert find_free(PLATE, set(), 2, start=(1, 12)) == [(1, 12), (2, 1)]


def test_bb02_find_free_never_wraps_before_start():
    with pytest.raises(NoRoomError, match="from H11 on but only 2 free: 1 missing") as caught:
        find_free(PLATE, set(), 3, start=(8, 11))
    assert caught.value.missing == 1


def test_bb02_find_free_refuses_a_start_outside_the_box():
    with pytest.raises(PositionError):
        find_free(PLATE, set(), 1, start=(9, 1))


def test_bb02_find_free_of_zero_is_empty_and_negative_is_refused():
    assert find_free(PLATE, set(), 0) == []
    with pytest.raises(ValueError):
        find_free(PLATE, set(), -1)


# find_places


def test_bb02_find_places_keeps_each_group_in_one_box():
    boxes = [box("b1", 2, 3), box("b2", 2, 3)]
    places = find_places(boxes, [4, 4], keep_together=True)
    assert [key for key, _, _ in places] == ["b1"] * 4 + ["b2"] * 4


def test_bb02_find_places_prefers_a_run_of_consecutive_positions():
    # A2 is taken: A1 alone is too small a run, A3 B1 B2 is the first run of three.
    boxes = [box("b1", 2, 3, {(1, 2)})]
    assert find_places(boxes, [3], keep_together=True) == [
        ("b1", 1, 3),
        ("b1", 2, 1),
        ("b1", 2, 2),
    ]


def test_bb02_find_places_uses_scattered_positions_when_no_run_is_long_enough():
    boxes = [box("b1", 2, 3, {(1, 2), (2, 2)})]
    assert find_places(boxes, [3], keep_together=True) == [
        ("b1", 1, 1),
        ("b1", 1, 3),
        ("b1", 2, 1),
    ]


def test_bb02_find_places_skips_a_box_without_room_for_the_whole_group():
    boxes = [box("b1", 1, 3, {(1, 1)}), box("b2", 1, 3)]
    places = find_places(boxes, [3, 2], keep_together=True)
    assert places[:3] == [("b2", 1, 1), ("b2", 1, 2), ("b2", 1, 3)]
    assert places[3:] == [("b1", 1, 2), ("b1", 1, 3)]


def test_bb02_find_places_places_largest_groups_first_when_order_would_strand_one():
    # In the given order the pair takes b1 and the four find no box; largest first fits both.
    boxes = [box("b1", 1, 4), box("b2", 1, 2)]
    places = find_places(boxes, [2, 4], keep_together=True)
    assert places == [("b2", 1, 1), ("b2", 1, 2)] + [("b1", 1, c) for c in range(1, 5)]


def test_bb02_find_places_without_keeping_together_fills_box_after_box():
    boxes = [box("b1", 1, 3, {(1, 2)}), box("b2", 1, 3)]
    assert find_places(boxes, [2, 2], keep_together=False) == [
        ("b1", 1, 1),
        ("b1", 1, 3),
        ("b2", 1, 1),
        ("b2", 1, 2),
    ]


def test_bb02_find_places_names_the_shortfall():
    boxes = [box("b1", 2, 2, {(1, 1)})]
    with pytest.raises(NoRoomError, match="5 specimens need places but only 3 free") as caught:
        find_places(boxes, [3, 2], keep_together=False)
    assert caught.value.missing == 2


def test_bb02_find_places_names_the_shortfall_of_a_group_that_fits_no_box():
    boxes = [box("b1", 1, 3), box("b2", 1, 3)]
    with pytest.raises(NoRoomError, match=r"group 1 \(4 specimens\).*1 missing") as caught:
        find_places(boxes, [4], keep_together=True)
    assert caught.value.missing == 1
    assert find_places(boxes, [4], keep_together=False)[-1] == ("b2", 1, 1)


def test_bb02_find_places_with_nothing_to_place_or_no_boxes():
    assert find_places([], [], keep_together=True) == []
    assert find_places([box("b1", 1, 1)], [0, 1, 0], keep_together=True) == [("b1", 1, 1)]
    with pytest.raises(NoRoomError):
        find_places([], [1], keep_together=False)


def test_bb02_find_places_refuses_negative_groups_and_repeated_boxes():
    with pytest.raises(ValueError):
        find_places([box("b1", 1, 1)], [-1], keep_together=True)
    with pytest.raises(ValueError):
        find_places([box("b1", 1, 1), box("b1", 1, 1)], [1], keep_together=True)


@st.composite
def box_spaces(draw: st.DrawFn) -> list[BoxSpace]:
    spaces = []
    for index in range(draw(st.integers(0, 4))):
        geometry = Geometry(
            draw(st.integers(1, 5)),
            draw(st.integers(1, 5)),
            order=draw(st.sampled_from(ORDERS)),
        )
        occupied = draw(st.frozensets(st.sampled_from(fill_order(geometry))))
        spaces.append(BoxSpace(f"b{index}", geometry, occupied))
    return spaces


@settings(max_examples=400, deadline=None)
@given(
    boxes=box_spaces(),
    groups=st.lists(st.integers(0, 8), max_size=6),
    keep_together=st.booleans(),
)
def test_bb02_property_find_places_gives_free_distinct_places_for_every_specimen(
    boxes, groups, keep_together
):
    free = {
        (space.key, *position)
        for space in boxes
        for position in fill_order(space.geometry)
        if position not in space.occupied
    }
    try:
        places = find_places(boxes, groups, keep_together=keep_together)
    except NoRoomError as error:
        assert error.missing > 0
        if not keep_together:
            assert len(free) < sum(groups)
        return
    assert len(places) == sum(groups)
    assert len(set(places)) == len(places)
    assert set(places) <= free
    if keep_together:
        start = 0
        for size in groups:
            assert len({key for key, _, _ in places[start : start + size]}) <= 1
            start += size


# compare_scan


def expected_plate() -> dict[tuple[int, int], str]:
    return {(1, 1): "TW001", (1, 2): "TW002", (1, 3): "TW003"}


def test_bb02_compare_scan_all_matched():
    scan = [("A01", "TW001"), ("A02", "TW002"), ("A03", "TW003"), ("A04", "NO TUBE")]
    diff = compare_scan(PLATE, expected_plate(), scan)
    assert diff.matched == [("A1", "TW001"), ("A2", "TW002"), ("A3", "TW003")]
    assert diff.clean and diff.unchanged
    assert diff.placed_elsewhere == diff.new == diff.missing == []


def test_bb02_compare_scan_reports_a_swap_as_placed_elsewhere():
    scan = [("A1", "TW002"), ("A2", "TW001"), ("A3", "TW003")]
    diff = compare_scan(PLATE, expected_plate(), scan)
    assert diff.placed_elsewhere == [("A1", "TW002"), ("A2", "TW001")]
    assert diff.matched == [("A3", "TW003")]
    assert diff.missing == [] and diff.new == []
    assert diff.clean and not diff.unchanged


def test_bb02_compare_scan_reports_a_new_tube():
    scan = [("A1", "TW001"), ("A2", "TW002"), ("A3", "TW003"), ("B1", "TW999")]
    diff = compare_scan(PLATE, expected_plate(), scan)
    assert diff.new == [("B1", "TW999")]
    assert diff.clean


def test_bb02_compare_scan_reports_a_missing_tube_whether_empty_or_replaced():
    scan = [("A1", "TW001"), ("A2", ""), ("A3", "TW777")]
    diff = compare_scan(PLATE, expected_plate(), scan)
    assert diff.missing == [("A2", "TW002"), ("A3", "TW003")]
    assert diff.new == [("A3", "TW777")]
    assert diff.clean


def test_bb02_compare_scan_position_left_out_of_the_scan_counts_as_empty():
    diff = compare_scan(PLATE, expected_plate(), [("A1", "TW001"), ("A2", "EMPTY")])
    assert diff.missing == [("A2", "TW002"), ("A3", "TW003")]


def test_bb02_compare_scan_no_read_is_a_conflict_not_a_missing_tube():
    scan = [("A1", "TW001"), ("A2", "NO READ"), ("A3", "NOREAD")]
    diff = compare_scan(PLATE, expected_plate(), scan)
    assert diff.conflicts == ["position A2 could not be read", "position A3 could not be read"]
    assert diff.missing == []
    assert not diff.clean


def test_bb02_compare_scan_barcode_scanned_twice_is_a_conflict():
    scan = [("A1", "TW001"), ("A2", "TW001"), ("A3", "TW003")]
    diff = compare_scan(PLATE, expected_plate(), scan)
    assert diff.conflicts == ["barcode TW001 was scanned more than once (A1, A2)"]
    assert diff.matched == [("A3", "TW003")]
    assert diff.missing == []  # A2 held TW002, but A2 shows a doubtful reading
    assert not diff.clean


def test_bb02_compare_scan_position_listed_twice_is_a_conflict():
    scan = [("A1", "TW001"), ("a01", "TW002"), ("A3", "TW003")]
    diff = compare_scan(PLATE, expected_plate(), scan)
    assert diff.conflicts == ["position A1 is listed more than once (rows 1, 2)"]
    assert diff.matched == [("A3", "TW003")]
    assert diff.missing == []  # both tubes were seen, where is unsure
    assert not diff.clean


def test_bb02_compare_scan_unreadable_position_is_a_conflict():
    scan = [("A1", "TW001"), ("Z9", "TW002"), ("A3", "TW003")]
    diff = compare_scan(PLATE, expected_plate(), scan)
    assert len(diff.conflicts) == 1
    assert diff.conflicts[0].startswith("row 2: row Z is outside")
    assert diff.missing == []


def test_bb02_compare_scan_loads_a_new_box_as_all_new():
    diff = compare_scan(Geometry(9, 9, "row-col"), {}, [("1-1", " TW1 "), ("1-2", "TW2")])
    assert diff.new == [("1-1", "TW1"), ("1-2", "TW2")]
    assert diff.clean


def test_bb02_compare_scan_refuses_inconsistent_system_data():
    with pytest.raises(ValueError):
        compare_scan(PLATE, {(1, 1): "TW1", (1, 2): "TW1"}, [])
    with pytest.raises(PositionError):
        compare_scan(PLATE, {(9, 1): "TW1"}, [])


@settings(max_examples=150, deadline=None)
@given(geometry=geometries(), data=st.data())
def test_bb02_property_scan_equal_to_expected_is_clean_and_all_matched(geometry, data):
    positions = data.draw(st.lists(st.sampled_from(fill_order(geometry)), unique=True))
    expected = {position: f"TW{index:05d}" for index, position in enumerate(positions)}
    scan = [(label(geometry, *position), barcode) for position, barcode in expected.items()]
    diff = compare_scan(geometry, expected, data.draw(st.permutations(scan)))
    assert diff == ScanDiff(
        matched=[(label(geometry, *p), expected[p]) for p in fill_order(geometry) if p in expected],
        placed_elsewhere=[],
        new=[],
        missing=[],
        conflicts=[],
    )
    assert diff.clean and diff.unchanged


# BS-07


@pytest.mark.parametrize(
    "purpose", ["placing", "retrieving", "inventory", "maintenance", "transfer"]
)
def test_bs07_storage_site_access_for_a_storage_purpose(purpose):
    assert access_purpose_ok(purpose)


@pytest.mark.parametrize("purpose", ["", "visit", "Placing", "curiosity"])
def test_bs07_storage_site_access_refused_for_other_purposes(purpose):
    assert not access_purpose_ok(purpose)
