"""A realistic data set of N specimens, written as the import files (issue 6).

Three CSV files in the columns of ``biobank import``:

* ``collections.csv`` (``code,name,principal_investigator,irb_reference``): three dozen
  cohorts, a few large and many small, as a hospital biobank's history holds them;
* ``storage.csv`` (``barcode,name,kind,parent_barcode,rows,columns,temperature``): one site,
  freezer rooms of up to 20 freezers at -80 °C, 20 racks per freezer, 12 boxes per rack, boxes
  of 9 × 9 (primary tubes), 10 × 10 (plasma and serum aliquots) and 12 × 12 (buffy coat and
  DNA), as many as the specimens need;
* ``specimens.csv`` (``barcode,participant_code,collection_code,material_type,quantity,unit,
  collected_at,parent_barcode,sprec,container_barcode,position`` and the optional
  ``quantity_taken``): visits in time order over 2019-2025, each an EDTA and a serum tube of
  whole blood, two to four plasma aliquots and a buffy coat from the EDTA tube, one or two serum
  aliquots from the serum tube, and for half the visits DNA extracted from the buffy coat. About
  one visit in ten is a participant's follow-up visit, so there are roughly N/8 participants.
  Children come after their parent and take (``quantity_taken``, in the parent's unit) no more
  than the parent holds; every specimen has its own box position.

The generator is deterministic (a seeded ``random.Random``) and streams: memory stays flat
whatever N. ``python -m bench.generate N DIRECTORY`` writes the files alone; the benchmarks
call ``write_dataset`` and ``organization_prepare`` (which needs the database).
"""

from __future__ import annotations

import csv
import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from biobank.core.models import Organization, User

SPECIMEN_COLUMNS = (
    "barcode", "participant_code", "collection_code", "material_type", "quantity", "unit",
    "collected_at", "parent_barcode", "sprec", "container_barcode", "position", "quantity_taken",
)  # fmt: skip
COLLECTION_COLUMNS = ("code", "name", "principal_investigator", "irb_reference")
STORAGE_COLUMNS = ("barcode", "name", "kind", "parent_barcode", "rows", "columns", "temperature")

BOXES_PER_RACK = 12
RACKS_PER_FREEZER = 20
FREEZERS_PER_ROOM = 20
FIRST_VISIT = datetime(2019, 1, 2, 8, 0)
LAST_VISIT = datetime(2025, 12, 30, 8, 0)
FOLLOW_UP_SHARE = 0.1
DNA_SHARE = 0.5

# (code, English name) of the cohorts; three of each, the first of each the largest.
AREAS = [
    ("CRC", "Colorectal cancer"), ("LUNG", "Lung cancer"), ("BRCA", "Breast cancer"),
    ("HCC", "Hepatocellular carcinoma"), ("DM", "Type 2 diabetes"), ("CKD", "Chronic kidney "
    "disease"), ("CVD", "Coronary artery disease"), ("STROKE", "Ischaemic stroke"),
    ("AD", "Alzheimer's disease"), ("PD", "Parkinson's disease"), ("RA", "Rheumatoid "
    "arthritis"), ("SLE", "Systemic lupus erythematosus"),
]  # fmt: skip
INVESTIGATORS = [
    "林志明", "陳怡君", "黃建國", "張雅婷", "李承翰", "王淑芬", "吳俊傑", "劉家豪", "蔡佩珊",
    "楊宗翰", "許雅惠", "鄭文彬",
]  # fmt: skip

# SPREC 2.0 codes (fluid family): precentrifugation delay varies, the rest is the SOP.
# Whole blood stays in its primary tube (storage Y), aliquots go to 2 mL cryotubes at -80 °C.
# DNA has no SPREC type of sample, so its code is left empty.
_DELAYS = "AAAACCE"  # mostly within 2 h at room temperature, some 2-4 h, few 4-8 h
SPREC_PATTERNS = {
    "edta": "BLD-PED-{d}-N-N-N-Y",
    "sst": "BLD-SST-{d}-N-N-N-Y",
    "PLASMA": "PL1-PED-{d}-B-N-B-D",
    "SERUM": "SER-SST-{d}-B-N-B-D",
    "BUFFY_COAT": "BUF-PED-{d}-B-N-B-D",
}


@dataclass
class _Boxes:
    """Boxes of one size filled position by position, row by row (A1, A2 … then B1 …)."""

    rows: int
    columns: int
    used: list[str] = field(default_factory=list)
    filled: int = 0

    @property
    def capacity(self) -> int:
        return self.rows * self.columns

    def next_position(self, allocate: _BoxCounter) -> tuple[str, str]:
        if not self.used or self.filled == self.capacity:
            self.used.append(allocate(self.rows, self.columns))
            self.filled = 0
        row, column = divmod(self.filled, self.columns)
        self.filled += 1
        return self.used[-1], f"{chr(ord('A') + row)}{column + 1}"


@dataclass
class _BoxCounter:
    sizes: list[tuple[int, int]] = field(default_factory=list)

    def __call__(self, rows: int, columns: int) -> str:
        self.sizes.append((rows, columns))
        return box_barcode(len(self.sizes))


def box_barcode(number: int) -> str:
    return f"BX{number:06d}"


@dataclass(frozen=True)
class Dataset:
    directory: Path
    specimens: Path
    collections: Path
    storage: Path
    count: int
    participants: int
    collection_count: int
    box_sizes: dict[int, int]  # capacity -> number of boxes
    full_boxes: dict[int, str]  # capacity -> barcode of the first full box of that size
    storage_units: int


def _sprec(rng: random.Random, kind: str) -> str:
    return SPREC_PATTERNS[kind].format(d=rng.choice(_DELAYS))


def check_sprec_patterns() -> None:
    """Every code the generator can write parses as SPREC 2.0 (fails loudly otherwise)."""
    from biobank.specimens import sprec

    for pattern in SPREC_PATTERNS.values():
        for delay in set(_DELAYS):
            sprec.parse(pattern.format(d=delay))


def _write_collections(path: Path) -> list[str]:
    codes = []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLLECTION_COLUMNS)
        for wave in range(3):
            for n, (area, name) in enumerate(AREAS):
                code = f"{area}-{2019 + 2 * wave}"
                codes.append(code)
                writer.writerow(
                    (
                        code,
                        f"{name} cohort {2019 + 2 * wave}",
                        INVESTIGATORS[(n + wave) % len(INVESTIGATORS)],
                        f"BENCH-IRB-{2018 + 2 * wave}-{n + 1:03d}",
                    )
                )
    return codes


def _write_storage(path: Path, sizes: list[tuple[int, int]]) -> int:
    """Site → rooms → freezers → racks → the boxes, parents before children."""
    units = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(STORAGE_COLUMNS)
        writer.writerow(("BENCH-SITE", "Bench hospital biobank", "site", "", "", "", ""))
        units += 1
        room = freezer = rack = ""
        for index, (rows, columns) in enumerate(sizes):
            rack_no, box_in_rack = divmod(index, BOXES_PER_RACK)
            freezer_no, rack_in_freezer = divmod(rack_no, RACKS_PER_FREEZER)
            room_no, freezer_in_room = divmod(freezer_no, FREEZERS_PER_ROOM)
            if box_in_rack == 0 and rack_in_freezer == 0 and freezer_in_room == 0:
                room = f"RM{room_no + 1:02d}"
                writer.writerow(
                    (room, f"Freezer room B2-{room_no + 1}", "room", "BENCH-SITE", "", "", "")
                )
                units += 1
            if box_in_rack == 0 and rack_in_freezer == 0:
                freezer = f"FZ{freezer_no + 1:04d}"
                writer.writerow(
                    (freezer, f"-80 °C freezer {freezer_no + 1}", "freezer", room, "", "", "-80")
                )
                units += 1
            if box_in_rack == 0:
                rack = f"{freezer}-R{rack_in_freezer + 1:02d}"
                writer.writerow((rack, f"Rack {rack_in_freezer + 1}", "rack", freezer, "", "", ""))
                units += 1
            writer.writerow(
                (
                    box_barcode(index + 1),
                    f"Box {box_in_rack + 1} ({rows}x{columns})",
                    "box",
                    rack,
                    rows,
                    columns,
                    "",
                )
            )
            units += 1
    return units


def write_dataset(directory: Path, *, count: int, seed: int = 6) -> Dataset:
    """Write the three import files for ``count`` specimens into ``directory``."""
    check_sprec_patterns()
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    collections_path = directory / "collections.csv"
    storage_path = directory / "storage.csv"
    specimens_path = directory / "specimens.csv"
    collections = _write_collections(collections_path)
    weights = [1.0 / (1 + n) for n in range(len(collections))]  # a few large, a long tail

    counter = _BoxCounter()
    tubes = _Boxes(9, 9)
    aliquots = _Boxes(10, 10)
    small = _Boxes(12, 12)
    visits_estimate = max(1, count // 8)
    days = (LAST_VISIT - FIRST_VISIT).days
    participants: list[tuple[str, str]] = []  # (code, collection)
    width = max(6, len(str(visits_estimate)))
    written = 0
    visit = 0

    with specimens_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(SPECIMEN_COLUMNS)
        visit_of: tuple[str, str, str] = ("", "", "")  # participant, collection, collected_at

        def emit(
            material: str,
            quantity: str,
            parent: str,
            sprec_code: str,
            boxes: _Boxes,
            *,
            unit: str = "mL",
            taken: str = "",
        ) -> str:
            """Write one specimen of the current visit; "" once ``count`` are written."""
            nonlocal written
            if written == count:
                return ""
            written += 1
            barcode = f"B{written:09d}"
            participant, collection, at = visit_of
            box, position = boxes.next_position(counter)
            row = (participant, collection, material, quantity, unit, at, parent, sprec_code)
            writer.writerow((barcode, *row, box, position, taken))
            return barcode

        while written < count:
            if participants and rng.random() < FOLLOW_UP_SHARE:
                participant, collection = rng.choice(participants)
            else:
                participant = f"P{len(participants) + 1:0{width}d}"
                collection = rng.choices(collections, weights)[0]
                participants.append((participant, collection))
            offset = days * min(visit, visits_estimate) // visits_estimate
            when = FIRST_VISIT + timedelta(days=offset, seconds=rng.randrange(8 * 3600))
            visit += 1
            visit_of = (participant, collection, when.isoformat())
            edta_ml = rng.choice((6, 8, 10))
            edta = emit("WHOLE_BLOOD", str(edta_ml), "", _sprec(rng, "edta"), tubes)
            # plasma takes 1.5 times its volume of blood: at most 6 + 1 mL of a 10 or 8 mL tube
            # (4 aliquots of 1 mL and the buffy coat), 3 + 1 mL of a 6 mL tube
            each, blood = ("1", "1.5") if edta_ml >= 8 else ("0.5", "0.75")
            for _n in range(rng.randint(2, 4)):
                emit("PLASMA", each, edta, _sprec(rng, "PLASMA"), aliquots, taken=blood)
            buffy = emit("BUFFY_COAT", "0.5", edta, _sprec(rng, "BUFFY_COAT"), small, taken="1")
            sst = emit("WHOLE_BLOOD", "5", "", _sprec(rng, "sst"), tubes)
            for _n in range(rng.randint(1, 2)):  # at most 4 of the 5 mL
                emit("SERUM", "1", sst, _sprec(rng, "SERUM"), aliquots, taken="2")
            if buffy and rng.random() < DNA_SHARE:  # 20-60 µg from 0.4 of the 0.5 mL
                dna = str(rng.randrange(20, 61))
                emit("DNA", dna, buffy, "", small, unit="µg", taken="0.4")

    units = _write_storage(storage_path, counter.sizes)
    box_sizes: dict[int, int] = {}
    for rows, columns in counter.sizes:
        box_sizes[rows * columns] = box_sizes.get(rows * columns, 0) + 1
    full_boxes = {}
    for boxes in (tubes, aliquots, small):
        full = boxes.used[:-1] if boxes.filled < boxes.capacity else boxes.used
        if full:
            full_boxes[boxes.capacity] = full[0]
    return Dataset(
        directory=directory,
        specimens=specimens_path,
        collections=collections_path,
        storage=storage_path,
        count=written,
        participants=len(participants),
        collection_count=len(collections),
        box_sizes=box_sizes,
        full_boxes=full_boxes,
        storage_units=units,
    )


def organization_prepare(code: str = "BENCH") -> tuple[Organization, User]:
    """The benchmark's biobank as the demo sets one up: the organization (through its service,
    so it has its audit event), a storage site, and a biobank manager who holds a token."""
    from biobank.core import services
    from biobank.core.models import Membership, Organization, Site, User
    from biobank.core.roles import Role

    organization = Organization.objects.filter(code=code).first()
    if organization is None:
        organization = services.organization_create(
            actor=None,
            code=code,
            name_zh="效能測試生物資料庫",
            name_en="Benchmark biobank",
            kind="biobank",
            staff_count=40,
        )
    if not Site.objects.filter(organization=organization, code="FRZ-ROOM").exists():
        services.site_create(
            actor=None,
            organization=organization,
            code="FRZ-ROOM",
            name="超低溫冷凍庫房",
            kind="storage",
            location="B2",
        )
    user = User.objects.filter(username="bench").first()
    if user is None:
        user = services.user_create(
            actor=None,
            organization=organization,
            username="bench",
            password=None,
            role=Role.BIOBANK_MANAGER,
            display_name="效能測試 Bench",
        )
    elif not Membership.objects.filter(
        user=user, organization=organization, role=Role.BIOBANK_MANAGER, ended_at__isnull=True
    ).exists():
        services.membership_add(
            actor=None, organization=organization, user=user, role=Role.BIOBANK_MANAGER
        )
    return organization, user


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m bench.generate N DIRECTORY", file=sys.stderr)
        return 2
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "biobank.settings")
    dataset = write_dataset(Path(argv[2]), count=int(argv[1]))
    print(
        f"{dataset.count:,} specimens of {dataset.participants:,} participants in "
        f"{dataset.collection_count} collections, {sum(dataset.box_sizes.values()):,} boxes "
        f"({dataset.storage_units:,} storage units) in {dataset.directory}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
