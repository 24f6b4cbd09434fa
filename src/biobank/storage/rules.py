"""Storage rules as pure functions (BB-02, BS-07). No database, no request.

Boxes and plates are grids of rows × columns. A position is ``(row, column)``, both 1-based; its
label depends on the box's scheme. One specimen per position and one position per specimen: the
placement helpers never hand out an occupied or repeated position, and a rack scan that shows one
barcode twice or one position twice is a conflict, never applied.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Literal, get_args

from biobank.core.rule_registry import implements

Scheme = Literal["alpha", "row-col", "numeric"]
Order = Literal["row", "column"]
Position = tuple[int, int]

MAX_SIDE = 50
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SCHEMES: frozenset[str] = frozenset(get_args(Scheme))
ORDERS: frozenset[str] = frozenset(get_args(Order))
ACCESS_PURPOSES = frozenset({"placing", "retrieving", "inventory", "maintenance", "transfer"})

# What rack scanners write instead of a barcode. Compared with spaces, "_" and "-" removed.
UNREAD_MARKS = frozenset({"NOREAD"})
EMPTY_MARKS = frozenset({"", "EMPTY", "NOTUBE"})

# Digits are bounded so a runaway number is "not a position", not int()'s digit-limit error.
_ROW_COL = re.compile(r"(\d{1,6})-(\d{1,6})", re.ASCII)
_ALPHA = re.compile(r"([A-Z])(\d{1,6})", re.ASCII)
_NUMBER = re.compile(r"\d{1,6}", re.ASCII)


class PositionError(ValueError):
    """A position that is malformed, outside the box, or not available."""

    rule = "BB-02"


class NoRoomError(PositionError):
    """Not enough free positions; ``missing`` says how many places are lacking."""

    def __init__(self, message: str, *, missing: int) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class Geometry:
    rows: int
    columns: int
    scheme: Scheme = "alpha"
    order: Order = "row"

    def __post_init__(self) -> None:
        for name in ("rows", "columns"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be a whole number, not {value!r}")
            if not 1 <= value <= MAX_SIDE:
                raise ValueError(f"{name} must be between 1 and {MAX_SIDE}, not {value}")
        if self.scheme not in SCHEMES:
            raise ValueError(f"unknown labelling scheme {self.scheme!r}")
        if self.order not in ORDERS:
            raise ValueError(f"unknown fill order {self.order!r}")
        if self.scheme == "alpha" and self.rows > len(ALPHABET):
            raise ValueError(
                f"letters label at most {len(ALPHABET)} rows; use row-col or numeric labels "
                f"for {self.rows} rows"
            )

    @property
    def capacity(self) -> int:
        return self.rows * self.columns

    def index(self, row: int, column: int) -> int:
        """0-based place of a position in fill order."""
        _check_inside(self, row, column)
        if self.order == "row":
            return (row - 1) * self.columns + (column - 1)
        return (column - 1) * self.rows + (row - 1)

    def at(self, index: int) -> Position:
        """The position at a 0-based place in fill order."""
        if not 0 <= index < self.capacity:
            raise PositionError(f"this box has positions 1 to {self.capacity}, not {index + 1}")
        if self.order == "row":
            return index // self.columns + 1, index % self.columns + 1
        return index % self.rows + 1, index // self.rows + 1


@dataclass(frozen=True)
class BoxSpace:
    """A box offered for placing: already allowed by the restrictions, in preferred order."""

    key: str
    geometry: Geometry
    occupied: frozenset[Position]


@dataclass(frozen=True)
class ScanDiff:
    """A rack scan against what the system holds for the box, in the box's fill order.

    Each specimen the system expects is in one of ``matched``, ``placed_elsewhere`` or
    ``missing``, and each scanned barcode in one of ``matched``, ``placed_elsewhere`` or ``new``,
    unless a conflict concerns it (then the conflict says what happened).
    """

    matched: list[tuple[str, str]]
    placed_elsewhere: list[tuple[str, str]]
    new: list[tuple[str, str]]
    missing: list[tuple[str, str]]
    conflicts: list[str]

    @property
    def clean(self) -> bool:
        """No conflicts: the differences may be applied."""
        return not self.conflicts

    @property
    def unchanged(self) -> bool:
        """Clean, and the scan shows exactly what the system holds."""
        return self.clean and not (self.placed_elsewhere or self.new or self.missing)


def _check_inside(geometry: Geometry, row: int, column: int) -> None:
    if not 1 <= row <= geometry.rows:
        raise PositionError(f"row {row} is outside this box (rows 1 to {geometry.rows})")
    if not 1 <= column <= geometry.columns:
        raise PositionError(
            f"column {column} is outside this box (columns 1 to {geometry.columns})"
        )


def _row_letter(row: int) -> str:
    return ALPHABET[row - 1]


@implements("BB-02")
def label(geometry: Geometry, row: int, column: int) -> str:
    """The label printed for a position: ``A1`` (alpha), ``1-1`` (row-col) or its number in fill
    order (numeric)."""
    _check_inside(geometry, row, column)
    if geometry.scheme == "alpha":
        return f"{_row_letter(row)}{column}"
    if geometry.scheme == "row-col":
        return f"{row}-{column}"
    return str(geometry.index(row, column) + 1)


def _describe_labels(geometry: Geometry) -> str:
    last_row, last_column = geometry.rows, geometry.columns
    if geometry.scheme == "alpha":
        return f"A1 to {_row_letter(last_row)}{last_column}, or row-column like 1-1"
    if geometry.scheme == "row-col":
        return f"1-1 to {last_row}-{last_column}"
    return f"1 to {geometry.capacity}, or row-column like 1-1"


@implements("BB-02")
def parse(geometry: Geometry, text: str) -> Position:
    """Read a position as people and rack scanners write it.

    Accepts the box's own labels and always ``row-column`` (``3-7``); alpha boxes also take
    lower case and zero padding (``a01``). Full-width characters typed with a Chinese input method
    (``Ａ１``, ``３－７``) count as their ASCII forms.
    """
    cleaned = unicodedata.normalize("NFKC", text).strip().upper()
    cleaned = re.sub(r"\s*-\s*", "-", cleaned)
    if not cleaned:
        raise PositionError("a position is required")
    if match := _ROW_COL.fullmatch(cleaned):
        row, column = int(match.group(1)), int(match.group(2))
    elif geometry.scheme == "alpha" and (match := _ALPHA.fullmatch(cleaned)):
        letter, column = match.group(1), int(match.group(2))
        row = ALPHABET.index(letter) + 1
        if row > geometry.rows:
            raise PositionError(
                f"row {letter} is outside this box (rows A to {_row_letter(geometry.rows)})"
            )
    elif geometry.scheme == "numeric" and _NUMBER.fullmatch(cleaned):
        number = int(cleaned)
        if not 1 <= number <= geometry.capacity:
            raise PositionError(
                f"position {number} is outside this box (positions 1 to {geometry.capacity})"
            )
        return geometry.at(number - 1)
    else:
        raise PositionError(
            f"{text.strip()!r} is not a position; this box uses {_describe_labels(geometry)}"
        )
    _check_inside(geometry, row, column)
    return row, column


@implements("BB-02")
def fill_order(geometry: Geometry) -> list[Position]:
    """Every position, in the order a box is filled: along rows (A1, A2 … B1) or down columns
    (A1, B1 … A2)."""
    if geometry.order == "row":
        return [(r, c) for r in range(1, geometry.rows + 1) for c in range(1, geometry.columns + 1)]
    return [(r, c) for c in range(1, geometry.columns + 1) for r in range(1, geometry.rows + 1)]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@implements("BB-02")
def find_free(
    geometry: Geometry,
    occupied: Collection[Position],
    count: int,
    *,
    start: Position | None = None,
) -> list[Position]:
    """The next ``count`` free positions in fill order, from ``start`` on (``start`` itself
    included) or from the first position. Never wraps round to positions before ``start``."""
    if count < 0:
        raise ValueError("the number of positions cannot be negative")
    first = 0 if start is None else geometry.index(*start)
    taken = set(occupied)
    free: list[Position] = []
    for index in range(first, geometry.capacity):
        if len(free) == count:
            break
        position = geometry.at(index)
        if position not in taken:
            free.append(position)
    if len(free) < count:
        where = "" if start is None else f" from {label(geometry, *start)} on"
        raise NoRoomError(
            f"{_plural(count, 'place')} needed{where} but only {len(free)} free: "
            f"{count - len(free)} missing",
            missing=count - len(free),
        )
    return free


def _first_run(free_flags: Sequence[bool], size: int) -> int | None:
    """Start of the first run of ``size`` consecutive free places, if any."""
    run = 0
    for index, free in enumerate(free_flags):
        run = run + 1 if free else 0
        if run == size:
            return index - size + 1
    return None


@dataclass
class _Box:
    key: str
    order: list[Position]
    free: list[bool]
    room: int

    @classmethod
    def of(cls, space: BoxSpace) -> _Box:
        order = fill_order(space.geometry)
        free = [position not in space.occupied for position in order]
        return cls(space.key, order, free, sum(free))

    def take(self, size: int) -> list[tuple[str, int, int]]:
        """``size`` free places, a consecutive run in fill order when there is one."""
        start = _first_run(self.free, size)
        if start is not None:
            indexes = list(range(start, start + size))
        else:
            indexes = [i for i, free in enumerate(self.free) if free][:size]
        for i in indexes:
            self.free[i] = False
        self.room -= len(indexes)
        return [(self.key, *self.order[i]) for i in indexes]


def _place_groups(
    spaces: Sequence[BoxSpace], groups: Sequence[int], sequence: Iterable[int]
) -> dict[int, list[tuple[str, int, int]]] | tuple[int, int]:
    """Place each group (taken in ``sequence``) in the first box with room for all of it.

    Returns the places by group index, or the group that found no box and the most room any box
    had left at that point."""
    boxes = [_Box.of(space) for space in spaces]
    placed: dict[int, list[tuple[str, int, int]]] = {}
    for group in sequence:
        size = groups[group]
        if size == 0:
            placed[group] = []
            continue
        box = next((b for b in boxes if b.room >= size), None)
        if box is None:
            return group, max((b.room for b in boxes), default=0)
        placed[group] = box.take(size)
    return placed


@implements("BB-02")
def find_places(
    boxes: Sequence[BoxSpace], groups: Sequence[int], *, keep_together: bool
) -> list[tuple[str, int, int]]:
    """One ``(box key, row, column)`` per specimen, group after group.

    ``boxes`` are already restricted to those allowed and listed in preferred order; ``groups``
    are sizes of specimen groups (the aliquots of one parent). With ``keep_together`` each group
    goes into the first box with room for all of it, as a run of consecutive positions in fill
    order when that box has one. Should taking groups in the given order leave one without a box,
    the largest groups are placed first instead before giving up. Without ``keep_together`` the
    specimens fill the boxes one after another.
    """
    if any(size < 0 for size in groups):
        raise ValueError("a group size cannot be negative")
    keys = [box.key for box in boxes]
    if len(set(keys)) != len(keys):
        raise ValueError("each box may be offered only once")
    needed = sum(groups)
    room = sum(
        1 for box in boxes for position in fill_order(box.geometry) if position not in box.occupied
    )
    if needed > room:
        raise NoRoomError(
            f"{_plural(needed, 'specimen')} need places but only {room} free in the boxes "
            f"offered: {needed - room} missing",
            missing=needed - room,
        )
    if not keep_together:
        free = (
            (box.key, row, column)
            for box in boxes
            for row, column in fill_order(box.geometry)
            if (row, column) not in box.occupied
        )
        return list(islice(free, needed))

    in_order = range(len(groups))
    result = _place_groups(boxes, groups, in_order)
    if isinstance(result, tuple):
        # First fit in the given order can strand a large group behind small ones that a
        # roomier box took; placing the largest groups first often finds room for all.
        largest_first = sorted(in_order, key=lambda group: -groups[group])
        retry = _place_groups(boxes, groups, largest_first)
        if isinstance(retry, tuple):
            group, most = result
            size = groups[group]
            raise NoRoomError(
                f"group {group + 1} ({_plural(size, 'specimen')}) does not fit in one box: "
                f"the box with most room has {most} free, {size - most} missing",
                missing=size - most,
            )
        result = retry
    return [place for group in in_order for place in result[group]]


def _reading(barcode: str) -> Literal["empty", "unread", "tube"]:
    mark = re.sub(r"[\s_-]", "", barcode).upper()
    if mark in EMPTY_MARKS:
        return "empty"
    if mark in UNREAD_MARKS:
        return "unread"
    return "tube"


@implements("BB-02")
def compare_scan(
    geometry: Geometry,
    expected: Mapping[Position, str],
    scanned_rows: Iterable[tuple[str, str]],
) -> ScanDiff:
    """Compare a rack scan of a box with what the system holds there.

    ``expected`` maps positions to barcodes; ``scanned_rows`` are ``(position, barcode)`` as the
    scanner's CSV gives them. An empty barcode, ``EMPTY`` or ``NO TUBE`` is an empty position, as
    is a position the scan leaves out; ``NO READ`` is a conflict. So are unreadable positions, a
    position listed twice and a barcode scanned twice; what they concern is left out of the other
    lists, and a specimen whose position could not be read is not called missing. Loading a new
    box is a comparison with an empty ``expected``: every tube is ``new``.
    """
    where_expected: dict[str, Position] = {}
    for position, barcode in expected.items():
        _check_inside(geometry, *position)
        if barcode in where_expected:
            raise ValueError(f"the system holds barcode {barcode} at two positions")
        where_expected[barcode] = position

    conflicts: list[str] = []
    readings: dict[Position, list[tuple[int, str]]] = defaultdict(list)
    seen: dict[str, list[str]] = defaultdict(list)  # barcode → where the scan saw it
    for number, (text, raw) in enumerate(scanned_rows, start=1):
        barcode = raw.strip()
        try:
            position = parse(geometry, text)
        except PositionError as exc:
            conflicts.append(f"row {number}: {exc}")
            if _reading(barcode) == "tube":
                seen[barcode].append(f"row {number}")
            continue
        readings[position].append((number, barcode))

    placed: dict[Position, str] = {}
    unknown: set[Position] = set()
    for position in fill_order(geometry):
        rows = readings.get(position)
        if not rows:
            continue
        name = label(geometry, *position)
        if len(rows) > 1:
            numbers = ", ".join(str(number) for number, _ in rows)
            conflicts.append(f"position {name} is listed more than once (rows {numbers})")
            unknown.add(position)
            for barcode in dict.fromkeys(b for _, b in rows if _reading(b) == "tube"):
                seen[barcode].append(name)
            continue
        barcode = rows[0][1]
        kind = _reading(barcode)
        if kind == "unread":
            conflicts.append(f"position {name} could not be read")
            unknown.add(position)
        elif kind == "tube":
            seen[barcode].append(name)
            placed[position] = barcode

    for barcode, places in seen.items():
        if len(places) > 1:
            conflicts.append(f"barcode {barcode} was scanned more than once ({', '.join(places)})")
            for position in [p for p, b in placed.items() if b == barcode]:
                del placed[position]
                unknown.add(position)

    matched: list[tuple[str, str]] = []
    placed_elsewhere: list[tuple[str, str]] = []
    new: list[tuple[str, str]] = []
    missing: list[tuple[str, str]] = []
    for position in fill_order(geometry):
        name = label(geometry, *position)
        scanned = placed.get(position)
        held = expected.get(position)
        if scanned is not None:
            if scanned == held:
                matched.append((name, scanned))
            elif scanned in where_expected:
                placed_elsewhere.append((name, scanned))
            else:
                new.append((name, scanned))
        if held is not None and held != scanned and held not in seen and position not in unknown:
            missing.append((name, held))
    return ScanDiff(matched, placed_elsewhere, new, missing, conflicts)


@implements("BS-07")
def access_purpose_ok(purpose: str) -> bool:
    """A storage site is entered only for a stated purpose of storage work (BS-07)."""
    return purpose in ACCESS_PURPOSES
