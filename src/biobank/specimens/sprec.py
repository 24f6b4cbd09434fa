"""SPREC, the ISBER Standard PREanalytical Code 2.0 (BB-02: pre-analytical events of the lifecycle).

A SPREC is seven codes joined by hyphens that say how a specimen was handled between collection
and long-term storage. Fluids: type of sample, primary container, pre-centrifugation delay and
temperature, centrifugation, second centrifugation, post-centrifugation delay, long-term storage
(``SER-SST-A-D-N-A-D``). Solid tissues: type of sample, type of collection, warm ischemia, cold
ischemia, fixation type, fixation time, long-term storage (``TIS-SRG-B-C-NBF-D-D``).

The code tables are data, ``data/sprec_codes.csv`` (version, family, element, code, English and
Chinese labels): SPREC 2.0 (Lehmann et al., Biopreserv Biobank 2012;10:366) as encoded by
SPRECLib, with its slips resolved: the 2-10 °C / 6000-10000 g centrifugation row is ``H`` (SPRECLib
says ``F`` twice) and straw with programmable freezing is ``I`` (SPRECLib says ``G`` twice);
``P`` (paraffin block) and ``Y`` (original primary container) each cover two temperatures.
The numeric bands that turn recorded facts into codes are data too, at the end of this module.

Choices SPREC leaves open, made here:

* ``compose`` fills a missing element with its table's "unknown" code (``X``, or ``XXX`` for the
  three-letter elements). The type of sample and, for tissue, the type of collection have no
  unknown code (``ZZZ`` means *other*), so they must be given.
* ``parse`` decides fluid or tissue from the type of sample. ``CEN``, ``CLN``, ``PEN`` and
  ``ZZZ`` are types of sample in both tables; the rest of the code decides (a tissue fixation
  type has three letters where a fluid second centrifugation has one).
* Numeric bands: where two bands meet, the boundary belongs to the higher one (exactly 2 h before
  centrifugation is "2 to 4 h"); a band without a neighbour includes its ends (15 min is "10 to 15
  min"). RT is 18-28 °C. A recorded value outside every band is ``Z`` (other); a value not recorded
  (``None``) is ``X`` (unknown). Liquid nitrogen and "<-135 °C" are both "below -135 °C": the table
  names liquid nitrogen for cryotubes, straws and bags and "<-135 °C" for polypropylene tubes.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Final

SPREC_VERSION: Final = "2.0"
CODES_FILE: Final = Path(__file__).resolve().parent / "data" / "sprec_codes.csv"
CSV_COLUMNS: Final = ("version", "family", "element", "code", "label_en", "label_zh")
SEPARATOR: Final = "-"

FLUID: Final = "fluid"
TISSUE: Final = "tissue"
ELEMENTS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        FLUID: (
            "sample_type",
            "primary_container",
            "precentrifugation",
            "centrifugation",
            "second_centrifugation",
            "postcentrifugation",
            "storage",
        ),
        TISSUE: (
            "sample_type",
            "collection_type",
            "warm_ischemia",
            "cold_ischemia",
            "fixation_type",
            "fixation_time",
            "storage",
        ),
    }
)
# Element key -> (English name, Chinese name), as explain() shows them.
ELEMENT_NAMES: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        "sample_type": ("Type of sample", "檢體類型"),
        "primary_container": ("Type of primary container", "原始採集容器"),
        "precentrifugation": ("Pre-centrifugation delay", "離心前延遲"),
        "centrifugation": ("Centrifugation", "離心"),
        "second_centrifugation": ("Second centrifugation", "第二次離心"),
        "postcentrifugation": ("Post-centrifugation delay", "離心後延遲"),
        "storage": ("Long-term storage", "長期保存"),
        "collection_type": ("Type of collection", "採集方式"),
        "warm_ischemia": ("Warm ischemia time", "熱缺血時間"),
        "cold_ischemia": ("Cold ischemia time", "冷缺血時間"),
        "fixation_type": ("Fixation/stabilization type", "固定／穩定方式"),
        "fixation_time": ("Fixation time", "固定時間"),
    }
)
LANGUAGES: Final = ("en", "zh-hant")


class SprecError(ValueError):
    """A SPREC code or recorded fact the tables refuse; ``element`` and ``code`` say which."""

    def __init__(
        self, message: str, *, element: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.element = element
        self.code = code


@dataclass(frozen=True)
class SprecElement:
    element: str
    code: str
    label_en: str
    label_zh: str


# (version, family, element) -> code -> element
Tables = Mapping[tuple[str, str, str], Mapping[str, SprecElement]]


@dataclass(frozen=True)
class Sprec:
    family: str
    version: str
    elements: tuple[SprecElement, ...]

    @property
    def code(self) -> str:
        """The composed code, e.g. ``SER-SST-A-D-N-A-D``."""
        return SEPARATOR.join(element.code for element in self.elements)

    def __str__(self) -> str:
        return self.code

    def element(self, key: str) -> SprecElement:
        """The element with this key (``"storage"``); KeyError when the family has none."""
        for element in self.elements:
            if element.element == key:
                return element
        raise KeyError(key)

    def explain(self, language: str = "en") -> list[tuple[str, str, str]]:
        """(element name, code, meaning) per element, in English ("en") or Chinese ("zh-hant")."""
        chinese = _is_chinese(language)
        return [
            (
                ELEMENT_NAMES[element.element][1 if chinese else 0],
                element.code,
                element.label_zh if chinese else element.label_en,
            )
            for element in self.elements
        ]


def _is_chinese(language: str) -> bool:
    normalized = language.strip().lower().replace("_", "-")
    if normalized in ("zh-hant", "zh-tw"):
        return True
    if normalized == "en":
        return False
    raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")


def load_tables(path: Path | str = CODES_FILE) -> Tables:
    """The code tables of our CSV, keyed by (version, family, element), then code. Cached.

    A malformed file fails loudly: wrong header, unknown family or element, duplicate code,
    empty label.
    """
    return _load_tables(Path(path).resolve())


@lru_cache(maxsize=8)
def _load_tables(path: Path) -> Tables:
    tables: dict[tuple[str, str, str], dict[str, SprecElement]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
            raise ValueError(f"{path}: header must be {','.join(CSV_COLUMNS)}")
        for line, row in enumerate(reader, start=2):
            version, family, element, code, label_en, label_zh = (
                (row[column] or "").strip() for column in CSV_COLUMNS
            )
            if element not in ELEMENTS.get(family, ()):
                raise ValueError(f"{path}:{line}: {family!r} has no element {element!r}")
            if not (version and code.isalnum() and code.isupper() and label_en and label_zh):
                raise ValueError(f"{path}:{line}: version, code and both labels are required")
            codes = tables.setdefault((version, family, element), {})
            if code in codes:
                raise ValueError(f"{path}:{line}: {family} {element} {code} appears twice")
            codes[code] = SprecElement(element, code, label_en, label_zh)
    return MappingProxyType({key: MappingProxyType(codes) for key, codes in tables.items()})


def codes_for(
    family: str, element: str, *, version: str = SPREC_VERSION
) -> Mapping[str, SprecElement]:
    """The codes one element of one family accepts (for choices in forms)."""
    tables = load_tables()
    if not any(key[0] == version for key in tables):
        raise SprecError(f"unknown SPREC version {version!r}")
    if family not in ELEMENTS:
        raise SprecError(f"unknown SPREC family {family!r}; expected {FLUID!r} or {TISSUE!r}")
    return tables.get((version, family, element), MappingProxyType({}))


def _refusal(family: str, element: str, code: str, version: str) -> SprecError:
    allowed = ", ".join(sorted(codes_for(family, element, version=version)))
    return SprecError(
        f"SPREC {version} {family} element {element} ({ELEMENT_NAMES[element][0]}): "
        f"{code!r} is not a code; expected one of {allowed}",
        element=element,
        code=code,
    )


def _assemble(family: str, version: str, values: Mapping[str, str]) -> Sprec:
    elements = []
    for element in ELEMENTS[family]:
        code = values[element]
        table = codes_for(family, element, version=version)
        if code not in table:
            raise _refusal(family, element, code, version)
        elements.append(table[code])
    return Sprec(family=family, version=version, elements=tuple(elements))


def parse(code: str, *, version: str = SPREC_VERSION) -> Sprec:
    """Read a hyphenated SPREC against the tables; surrounding whitespace and lowercase are fine."""
    text = code.strip().upper()
    if not text:
        raise SprecError("empty SPREC code: expected 7 elements separated by hyphens")
    parts = [part.strip() for part in text.split(SEPARATOR)]
    if len(parts) != len(ELEMENTS[FLUID]):
        raise SprecError(
            f"SPREC code {text!r} has {len(parts)} element(s); SPREC {version} has "
            f"{len(ELEMENTS[FLUID])}, separated by hyphens (e.g. SER-SST-A-D-N-A-D)",
            code=text,
        )
    families = [f for f in ELEMENTS if parts[0] in codes_for(f, "sample_type", version=version)]
    if not families:
        raise SprecError(
            f"SPREC {version} element sample_type (Type of sample): {parts[0]!r} is neither a "
            "fluid nor a tissue type of sample",
            element="sample_type",
            code=parts[0],
        )
    refusals: list[tuple[int, SprecError]] = []
    for family in families:
        try:
            return _assemble(family, version, dict(zip(ELEMENTS[family], parts, strict=True)))
        except SprecError as error:
            refusals.append((ELEMENTS[family].index(error.element or "sample_type"), error))
    # A type of sample in both tables: report the family that read furthest.
    raise max(refusals, key=lambda refusal: refusal[0])[1]


def _unknown_code(family: str, element: str, version: str) -> str:
    for code in codes_for(family, element, version=version):
        if set(code) == {"X"}:
            return code
    raise SprecError(
        f"SPREC {version} {family} element {element} ({ELEMENT_NAMES[element][0]}) is required: "
        "it has no 'unknown' code",
        element=element,
    )


def compose(family: str, /, *, version: str = SPREC_VERSION, **elements: str | None) -> Sprec:
    """A SPREC from element codes by key (``sample_type="SER"``); a missing element is unknown."""
    if family not in ELEMENTS:
        raise SprecError(f"unknown SPREC family {family!r}; expected {FLUID!r} or {TISSUE!r}")
    strangers = sorted(set(elements) - set(ELEMENTS[family]))
    if strangers:
        raise SprecError(
            f"not elements of a {family} SPREC: {', '.join(strangers)}; "
            f"its elements are {', '.join(ELEMENTS[family])}",
            element=strangers[0],
        )
    values = {}
    for element in ELEMENTS[family]:
        given = (elements.get(element) or "").strip().upper()
        values[element] = given or _unknown_code(family, element, version)
    return _assemble(family, version, values)


# --- from recorded facts to codes ---------------------------------------------------------------


@dataclass(frozen=True)
class _Band:
    """An interval in interval notation: ``[0, 120)``, ``[18, 28]``, ``[10000, inf)``."""

    low: float
    high: float
    low_closed: bool
    high_closed: bool

    @classmethod
    def of(cls, notation: str) -> _Band:
        low, high = notation[1:-1].split(",")
        return cls(float(low), float(high), notation[0] == "[", notation[-1] == "]")

    def __contains__(self, value: float) -> bool:
        above = value >= self.low if self.low_closed else value > self.low
        below = value <= self.high if self.high_closed else value < self.high
        return above and below


@dataclass(frozen=True)
class Centrifugation:
    """One centrifugation as recorded; a field left None is not known, which codes as X."""

    g_force: float | None = None
    minutes: float | None = None
    temperature_c: float | None = None
    braking: bool | None = None


# Temperature bands in °C. RT is SPREC's room temperature, 18-28 °C. "<-135" also stands for
# liquid nitrogen (see the module docstring).
TEMPERATURES: Final = {
    "RT": _Band.of("[18, 28]"),
    "2-10": _Band.of("[2, 10]"),
    "35-38": _Band.of("[35, 38]"),
    "-35..-18": _Band.of("[-35, -18]"),
    "-85..-60": _Band.of("[-85, -60]"),
    "<-135": _Band.of("[-inf, -135)"),
}
# code, delay between collection and processing (minutes), temperature
PRECENTRIFUGATION: Final = tuple(
    (code, _Band.of(minutes), temperature)
    for code, minutes, temperature in (
        ("A", "[0, 120)", "RT"),
        ("B", "[0, 120)", "2-10"),
        ("C", "[120, 240)", "RT"),
        ("D", "[120, 240)", "2-10"),
        ("E", "[240, 480)", "RT"),
        ("F", "[240, 480)", "2-10"),
        ("G", "[480, 720)", "RT"),
        ("H", "[480, 720)", "2-10"),
        ("I", "[720, 1440)", "RT"),
        ("J", "[720, 1440)", "2-10"),
        ("K", "[1440, 2880)", "RT"),
        ("L", "[1440, 2880)", "2-10"),
        ("M", "[2880, inf)", "RT"),
        ("N", "[2880, inf)", "2-10"),
        ("O", "[0, 120)", "35-38"),
    )
)
# code, temperature, duration (minutes), force (g), braking; the second centrifugation uses the
# codes of its own table only (it has no M).
CENTRIFUGATION: Final = tuple(
    (code, temperature, _Band.of(minutes), _Band.of(g_force), braking)
    for code, temperature, minutes, g_force, braking in (
        ("A", "RT", "[10, 15]", "[0, 3000)", False),
        ("B", "RT", "[10, 15]", "[0, 3000)", True),
        ("C", "2-10", "[10, 15]", "[0, 3000)", False),
        ("D", "2-10", "[10, 15]", "[0, 3000)", True),
        ("E", "RT", "[10, 15]", "[3000, 6000)", True),
        ("F", "2-10", "[10, 15]", "[3000, 6000)", True),
        ("G", "RT", "[10, 15]", "[6000, 10000)", True),
        ("H", "2-10", "[10, 15]", "[6000, 10000)", True),
        ("I", "RT", "[10, 15]", "[10000, inf)", True),
        ("J", "2-10", "[10, 15]", "[10000, inf)", True),
        ("M", "RT", "[30, 30]", "[0, 1000)", False),
    )
)
# code, delay between centrifugation and storage (minutes), temperature
POSTCENTRIFUGATION: Final = tuple(
    (code, _Band.of(minutes), temperature)
    for code, minutes, temperature in (
        ("A", "[0, 60)", "2-10"),
        ("B", "[0, 60)", "RT"),
        ("C", "[60, 120)", "2-10"),
        ("D", "[60, 120)", "RT"),
        ("E", "[120, 480)", "2-10"),
        ("F", "[120, 480)", "RT"),
        ("G", "[480, 1440)", "2-10"),
        ("H", "[480, 1440)", "RT"),
        ("I", "[1440, inf)", "2-10"),
        ("J", "[1440, inf)", "RT"),
    )
)
STORAGE_CONTAINERS: Final = (
    "pp_tube_40_to_500_ul",
    "pp_tube_0_5_to_2_ml",
    "pp_tube_over_5_ml",
    "cryotube_1_to_2_ml",
    "plastic_cryo_straw",
    "straw",
    "microplate",
    "paraffin_block",
    "bag",
    "dry_technology_medium",
    "original_primary_container",
    "other",
)
STORAGE_CONTAINER_ALIASES: Final = {
    "cryotube": "cryotube_1_to_2_ml",
    "cryovial": "cryotube_1_to_2_ml",
    "polypropylene cryotube": "cryotube_1_to_2_ml",
}
# "direct": placed at the storage temperature; "programmable": programmable freezing;
# "temporary_minus_80": kept at -85..-60 °C first, then moved to liquid nitrogen.
STORAGE_FREEZING: Final = ("direct", "programmable", "temporary_minus_80")
# code, container, temperature, freezing
STORAGE: Final = (
    ("A", "pp_tube_0_5_to_2_ml", "-85..-60", "direct"),
    ("B", "pp_tube_0_5_to_2_ml", "-35..-18", "direct"),
    ("V", "pp_tube_0_5_to_2_ml", "<-135", "direct"),
    ("C", "cryotube_1_to_2_ml", "<-135", "direct"),
    ("D", "cryotube_1_to_2_ml", "-85..-60", "direct"),
    ("E", "cryotube_1_to_2_ml", "<-135", "programmable"),
    ("N", "cryotube_1_to_2_ml", "<-135", "temporary_minus_80"),
    ("F", "plastic_cryo_straw", "<-135", "direct"),
    ("G", "straw", "-85..-60", "direct"),
    ("H", "straw", "-35..-18", "direct"),
    ("I", "straw", "<-135", "programmable"),
    ("O", "straw", "<-135", "temporary_minus_80"),
    ("J", "pp_tube_over_5_ml", "-85..-60", "direct"),
    ("K", "pp_tube_over_5_ml", "-35..-18", "direct"),
    ("L", "microplate", "-85..-60", "direct"),
    ("M", "microplate", "-35..-18", "direct"),
    ("P", "paraffin_block", "RT", "direct"),
    ("P", "paraffin_block", "2-10", "direct"),
    ("Q", "bag", "<-135", "direct"),
    ("R", "dry_technology_medium", "RT", "direct"),
    ("S", "pp_tube_40_to_500_ul", "-85..-60", "direct"),
    ("T", "pp_tube_40_to_500_ul", "-35..-18", "direct"),
    ("W", "pp_tube_40_to_500_ul", "<-135", "direct"),
    ("Y", "original_primary_container", "-85..-60", "direct"),
    ("Y", "original_primary_container", "-35..-18", "direct"),
)


def _recorded(element: str, value: float | None, *, amount: bool = False) -> float | None:
    """A recorded number: None or NaN is unknown; a negative duration or force is refused."""
    if value is None or math.isnan(value):
        return None
    if amount and value < 0:
        raise SprecError(
            f"{element}: a duration or force cannot be negative ({value})", element=element
        )
    return value


def _first(element: str, version: str, candidates: Iterable[tuple[str, bool]]) -> str:
    """The first matching code the element's table has; Z (other) when none matches."""
    table = codes_for(FLUID, element, version=version)
    return next((code for code, matches in candidates if matches and code in table), "Z")


def _delay_code(
    element: str,
    rows: tuple[tuple[str, _Band, str], ...],
    minutes: float | None,
    temperature_c: float | None,
    version: str,
) -> str:
    minutes = _recorded(element, minutes, amount=True)
    temperature_c = _recorded(element, temperature_c)
    if minutes is None or temperature_c is None:
        return "X"
    return _first(
        element,
        version,
        ((code, minutes in band and temperature_c in TEMPERATURES[t]) for code, band, t in rows),
    )


def _centrifugation_code(element: str, spin: Centrifugation | None, version: str) -> str:
    if spin is None:
        return "N"
    g_force = _recorded(element, spin.g_force, amount=True)
    minutes = _recorded(element, spin.minutes, amount=True)
    temperature_c = _recorded(element, spin.temperature_c)
    if g_force is None or minutes is None or temperature_c is None or spin.braking is None:
        return "X"
    return _first(
        element,
        version,
        (
            (
                code,
                temperature_c in TEMPERATURES[t]
                and minutes in duration
                and g_force in force
                and spin.braking is braking,
            )
            for code, t, duration, force, braking in CENTRIFUGATION
        ),
    )


def _storage_code(
    temperature_c: float | None, container: str | None, freezing: str, version: str
) -> str:
    if freezing not in STORAGE_FREEZING:
        raise SprecError(
            f"storage: unknown freezing {freezing!r}; "
            f"expected one of {', '.join(STORAGE_FREEZING)}",
            element="storage",
            code=freezing,
        )
    temperature_c = _recorded("storage", temperature_c)
    if temperature_c is None or container is None:
        return "X"
    name = " ".join(container.lower().split())
    name = STORAGE_CONTAINER_ALIASES.get(name, name)
    if name not in STORAGE_CONTAINERS:
        raise SprecError(
            f"storage: unknown container {container!r}; expected one of "
            f"{', '.join(STORAGE_CONTAINERS + tuple(STORAGE_CONTAINER_ALIASES))}",
            element="storage",
            code=container,
        )
    return _first(
        "storage",
        version,
        (
            (code, name == kind and temperature_c in TEMPERATURES[t] and freezing == how)
            for code, kind, t, how in STORAGE
        ),
    )


def fluid_code_from_events(
    *,
    sample_type: str,
    primary_container: str | None,
    precentrifugation_minutes: float | None,
    precentrifugation_temperature_c: float | None,
    centrifugation: Centrifugation | None,
    second_centrifugation: Centrifugation | None,
    postcentrifugation_minutes: float | None,
    postcentrifugation_temperature_c: float | None,
    storage_temperature_c: float | None,
    storage_container: str | None,
    storage_freezing: str = "direct",
    version: str = SPREC_VERSION,
) -> Sprec:
    """The fluid SPREC of a specimen's recorded pre-analytical events (BB-02).

    Every number that is None (not recorded) makes its element X; a recorded value outside every
    band of the table makes it Z (other).

    sample_type: the SPREC type of sample code ("SER"); required, SPREC has no unknown one.
    primary_container: the SPREC primary container code ("SST"); None is XXX.
    precentrifugation_minutes, precentrifugation_temperature_c: time from collection to
        processing and the temperature the specimen waited at.
    centrifugation: the first centrifugation; None means the specimen was not centrifuged (N),
        ``Centrifugation()`` that it was but nothing more is known (X).
    second_centrifugation: likewise; None means there was no second centrifugation (N). A second
        centrifugation without a first is refused.
    postcentrifugation_minutes, postcentrifugation_temperature_c: time from the (last)
        centrifugation to long-term storage and the temperature meanwhile; N when not centrifuged.
    storage_temperature_c: the long-term storage temperature (-80, -196 ...).
    storage_container: one of STORAGE_CONTAINERS or STORAGE_CONTAINER_ALIASES ("polypropylene
        cryotube" is a 1-2 mL cryotube); "other" gives Z; None gives X.
    storage_freezing: one of STORAGE_FREEZING; "direct" unless frozen by a programmable freezer
        or held at -85..-60 °C before liquid nitrogen.
    """
    if centrifugation is None and second_centrifugation is not None:
        raise SprecError(
            "second_centrifugation: recorded without a first centrifugation",
            element="second_centrifugation",
        )
    if centrifugation is None:
        postcentrifugation = "N"
    else:
        postcentrifugation = _delay_code(
            "postcentrifugation",
            POSTCENTRIFUGATION,
            postcentrifugation_minutes,
            postcentrifugation_temperature_c,
            version,
        )
    return compose(
        FLUID,
        version=version,
        sample_type=sample_type,
        primary_container=primary_container,
        precentrifugation=_delay_code(
            "precentrifugation",
            PRECENTRIFUGATION,
            precentrifugation_minutes,
            precentrifugation_temperature_c,
            version,
        ),
        centrifugation=_centrifugation_code("centrifugation", centrifugation, version),
        second_centrifugation=_centrifugation_code(
            "second_centrifugation", second_centrifugation, version
        ),
        postcentrifugation=postcentrifugation,
        storage=_storage_code(storage_temperature_c, storage_container, storage_freezing, version),
    )
