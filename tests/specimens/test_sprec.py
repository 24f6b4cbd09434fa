"""SPREC 2.0 codes (BB-02, pre-analytical events): tables, parse, compose, codes from events.

The reference is ../shared/vectors/sprec: sprec2_codes_from_SPRECLib.csv (the SPREC 2.0 tables as
SPRECLib encodes them) and sprec_example_codes.json (two codes asserted in SPRECLib's tests, with
their meanings). Pure functions: no database.
"""

from __future__ import annotations

import csv
import json
import re
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from biobank.specimens.sprec import (
    CENTRIFUGATION,
    CODES_FILE,
    CSV_COLUMNS,
    ELEMENT_NAMES,
    ELEMENTS,
    POSTCENTRIFUGATION,
    PRECENTRIFUGATION,
    SPREC_VERSION,
    STORAGE,
    STORAGE_CONTAINERS,
    Centrifugation,
    Sprec,
    SprecError,
    codes_for,
    compose,
    fluid_code_from_events,
    load_tables,
    parse,
)
from tests.conftest import shared_path

CJK = re.compile(r"[\u4e00-\u9fff]")
VECTOR_FAMILY = {"fluid": "fluid", "solid": "tissue"}
VECTOR_ELEMENT = {
    "Type of sample": "sample_type",
    "Type of primary container": "primary_container",
    "Pre-centrifugation delay": "precentrifugation",
    "Centrifugation": "centrifugation",
    "Second centrifugation": "second_centrifugation",
    "Post-centrifugation delay": "postcentrifugation",
    "Type of collection": "collection_type",
    "Warm ischemia time": "warm_ischemia",
    "Cold ischemia time": "cold_ischemia",
    "Fixation/stabilization type": "fixation_type",
    "Fixation time": "fixation_time",
    "Long-term storage": "storage",
}
# SPRECLib gives code F to two centrifugation rows and G to two storage rows; the second of each
# is H and I in SPREC 2.0 (the A..J and G/H/I patterns; an independent SPREC table agrees).
CORRECTED = {
    ("fluid", "centrifugation", "H"),
    ("fluid", "second_centrifugation", "H"),
    ("fluid", "storage", "I"),
    ("tissue", "storage", "I"),
}
# Labels we worded differently from SPRECLib (typos, words the published table has).
REWORDED = {
    ("fluid", "sample_type", "CLN"),
    ("fluid", "sample_type", "PEN"),
    ("fluid", "sample_type", "DWB"),
    ("fluid", "sample_type", "URN"),
    ("fluid", "primary_container", "PXR"),
    ("tissue", "sample_type", "CEN"),
    ("tissue", "sample_type", "CLN"),
    ("tissue", "sample_type", "PEN"),
}
# One code for either of two temperatures: one row of ours, two of SPRECLib's.
MERGED = {"P", "Y"}

SERUM_AT_MINUS_80 = {
    "sample_type": "SER",
    "primary_container": "SST",
    "precentrifugation_minutes": 30,
    "precentrifugation_temperature_c": 22,
    "centrifugation": Centrifugation(g_force=2000, minutes=10, temperature_c=4, braking=True),
    "second_centrifugation": None,
    "postcentrifugation_minutes": 45,
    "postcentrifugation_temperature_c": 4,
    "storage_temperature_c": -80,
    "storage_container": "polypropylene cryotube",
}


def _our_rows() -> list[dict[str, str]]:
    text = (
        resources.files("biobank.specimens")
        .joinpath("data", "sprec_codes.csv")
        .read_text(encoding="utf-8")
    )
    reader = csv.DictReader(text.splitlines())
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return list(reader)


def _vector_meanings() -> dict[tuple[str, str, str], list[str]]:
    path = shared_path("vectors", "sprec", "sprec2_codes_from_SPRECLib.csv")
    meanings: dict[tuple[str, str, str], list[str]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            key = (
                VECTOR_FAMILY[row["sample_kind"]],
                VECTOR_ELEMENT[row["element"]],
                row["code"],
            )
            meanings.setdefault(key, []).append(" ".join(row["meaning"].split()))
    return meanings


def _vector_examples() -> list[dict]:
    path = shared_path("vectors", "sprec", "sprec_example_codes.json")
    return json.loads(path.read_text(encoding="utf-8"))["examples"]


def _events(**changes: object) -> Sprec:
    return fluid_code_from_events(**{**SERUM_AT_MINUS_80, **changes})  # type: ignore[arg-type]


# --- our table alone (no shared files needed) ----------------------------------------------


def test_bb02_our_table_is_well_formed() -> None:
    rows = _our_rows()
    keys = [(r["version"], r["family"], r["element"], r["code"]) for r in rows]

    assert len(keys) == len(set(keys))
    assert {r["version"] for r in rows} == {SPREC_VERSION}
    for row in rows:
        assert row["element"] in ELEMENTS[row["family"]], row
        assert row["label_en"].strip() and row["label_en"] == row["label_en"].strip(), row
        assert CJK.search(row["label_zh"]), row
        three_letters = row["element"] in {
            "sample_type",
            "primary_container",
            "collection_type",
            "fixation_type",
        }
        assert re.fullmatch(r"[A-Z0-9]{3}" if three_letters else r"[A-Z]", row["code"]), row
    for family, elements in ELEMENTS.items():
        for element in elements:
            codes = codes_for(family, element)
            assert codes, (family, element)
            if element not in {"sample_type", "collection_type"}:
                assert {"X", "XXX"} & set(codes), f"{family} {element} has no unknown code"
            assert {"Z", "ZZZ"} & set(codes), f"{family} {element} has no other code"


def test_bb02_load_tables_refuses_a_duplicate_code(tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text(
        ",".join(CSV_COLUMNS) + "\n2.0,fluid,storage,A,x,甲\n2.0,fluid,storage,A,y,乙\n",
        encoding="utf-8",
    )

    with pytest.raises(ValueError, match="appears twice"):
        load_tables(path)


def test_bb02_load_tables_reads_our_file_once() -> None:
    assert load_tables() is load_tables(CODES_FILE)
    assert load_tables()[(SPREC_VERSION, "fluid", "sample_type")]["SER"].label_zh == "血清"


def test_bb02_every_band_code_is_in_our_table_and_every_range_code_has_a_band() -> None:
    bands = {
        "precentrifugation": {row[0] for row in PRECENTRIFUGATION},
        "centrifugation": {row[0] for row in CENTRIFUGATION},
        "postcentrifugation": {row[0] for row in POSTCENTRIFUGATION},
        "storage": {row[0] for row in STORAGE},
    }
    special = {"N", "X", "Z"}

    for element, codes in bands.items():
        table = set(codes_for("fluid", element))
        assert codes <= table, element
        missing = table - codes - special
        if element == "storage":  # N (cryotube, LN after -80 °C) is a band there
            missing = table - codes - {"X", "Z"}
        assert not missing, (element, missing)
    second = set(codes_for("fluid", "second_centrifugation")) - special
    assert second == bands["centrifugation"] - {"M"}


# --- against the shared vectors ------------------------------------------------------------


def test_bb02_our_table_has_the_families_elements_and_codes_of_the_vector() -> None:
    vector = _vector_meanings()
    ours = {(r["family"], r["element"], r["code"]) for r in _our_rows()}

    assert ours - set(vector) == CORRECTED
    assert set(vector) <= ours
    assert {key[:2] for key in ours} == {key[:2] for key in vector}


def test_bb02_our_english_labels_follow_the_vector() -> None:
    vector = _vector_meanings()
    labels = {(r["family"], r["element"], r["code"]): r["label_en"] for r in _our_rows()}
    by_element: dict[tuple[str, str], set[str]] = {}
    for (family, element, _code), label in labels.items():
        by_element.setdefault((family, element), set()).add(label)

    for key, meanings in vector.items():
        if key in REWORDED or (key[2] in MERGED and key[1] == "storage"):
            continue
        if len(meanings) == 1:
            assert labels[key] == meanings[0], key
        for meaning in meanings:  # a duplicated code's second row lives on under its own code
            assert meaning in by_element[key[:2]], (key, meaning)


@pytest.mark.parametrize("index", [0, 1])
def test_bb02_vector_examples_parse_and_explain_element_by_element(index: int) -> None:
    example = _vector_examples()[index]
    structure = json.loads(
        shared_path("vectors", "sprec", "sprec_example_codes.json").read_text(encoding="utf-8")
    )["structure"][example["sample_kind"]]

    sprec = parse(example["code_hyphenated"])

    assert sprec.code == example["code_hyphenated"]
    assert sprec.family == VECTOR_FAMILY[example["sample_kind"]]
    assert sprec.version == example["sprec_version"]
    explained = sprec.explain()
    assert len(explained) == len(example["decoded"]) == 7
    for decoded in example["decoded"]:
        name, code, meaning = explained[decoded["position"] - 1]
        assert code == decoded["code"]
        assert meaning in decoded["meaning"]
        assert name == structure[decoded["position"] - 1].rsplit(" (", 1)[0]
    for name, _code, meaning in sprec.explain("zh-hant"):
        assert CJK.search(name) and CJK.search(meaning)


def test_bb02_spreclib_unhyphenated_form_is_refused() -> None:
    compact = _vector_examples()[0]["code_as_in_source_test"]

    with pytest.raises(SprecError, match="has 1 element"):
        parse(compact)


# --- parse and compose ---------------------------------------------------------------------


def test_bb02_parse_accepts_whitespace_and_lowercase_and_explains_in_chinese() -> None:
    sprec = parse("  ser-sst-a-d-n-a-d \n")

    assert sprec.code == str(sprec) == "SER-SST-A-D-N-A-D"
    assert sprec.family == "fluid"
    assert sprec.element("storage").label_en == "Cryotube 1 to 2 mL | -85°C to -60°C"
    assert sprec.explain("zh-hant")[0] == ("檢體類型", "SER", "血清")
    assert sprec.explain("zh-Hant")[3] == (
        "離心",
        "D",
        "2°C 至 10°C，10 至 15 分鐘，<3000 g，使用煞車",
    )


def test_bb02_parse_tissue_code() -> None:
    sprec = parse("TIS-SRG-B-C-NBF-D-D")

    assert sprec.family == "tissue"
    assert [e.element for e in sprec.elements] == list(ELEMENTS["tissue"])
    assert sprec.explain()[4] == ("Fixation/stabilization type", "NBF", "Neutral buffered formalin")


@pytest.mark.parametrize(
    ("code", "family"),
    [
        ("CEN-XXX-X-X-X-X-X", "fluid"),
        ("CEN-ZZZ-X-X-XXX-X-X", "tissue"),
        ("ZZZ-ZZZ-Z-Z-Z-Z-Z", "fluid"),
        ("ZZZ-ZZZ-Z-Z-ZZZ-Z-Z", "tissue"),
    ],
)
def test_bb02_type_of_sample_in_both_tables_is_decided_by_the_rest(code: str, family: str) -> None:
    assert parse(code).family == family


@pytest.mark.parametrize(
    ("code", "element", "bad"),
    [
        ("SER-SST-A-Q-N-A-D", "centrifugation", "Q"),
        ("SER-ABC-A-D-N-A-D", "primary_container", "ABC"),
        ("SER-SST-A-M-M-A-D", "second_centrifugation", "M"),
        ("TIS-SRG-B-C-NBX-D-D", "fixation_type", "NBX"),
        ("QQQ-SST-A-D-N-A-D", "sample_type", "QQQ"),
        ("CEN-SST-A-D-NBF-A-D", "second_centrifugation", "NBF"),
        ("SER--A-D-N-A-D", "primary_container", ""),
    ],
)
def test_bb02_parse_refuses_an_unknown_code_naming_element_and_code(
    code: str, element: str, bad: str
) -> None:
    with pytest.raises(SprecError) as refused:
        parse(code)

    assert refused.value.element == element
    assert refused.value.code == bad
    assert element in str(refused.value) and repr(bad) in str(refused.value)


@pytest.mark.parametrize(
    "code", ["SER-SST-A-D-N-A", "SER-SST-A-D-N-A-D-X", "SER", "SER_SST_A_D_N_A_D"]
)
def test_bb02_parse_refuses_a_wrong_number_of_elements(code: str) -> None:
    with pytest.raises(SprecError, match=r"SPREC 2\.0 has 7"):
        parse(code)


@pytest.mark.parametrize("code", ["", "   ", "\n"])
def test_bb02_parse_refuses_an_empty_code(code: str) -> None:
    with pytest.raises(SprecError, match="empty"):
        parse(code)


def test_bb02_compose_defaults_missing_elements_to_unknown() -> None:
    assert compose("fluid", sample_type="SER").code == "SER-XXX-X-X-X-X-X"
    assert compose("fluid", sample_type="ser", storage=None).code == "SER-XXX-X-X-X-X-X"
    assert compose("tissue", sample_type="TIS", collection_type="SRG").code == (
        "TIS-SRG-X-X-XXX-X-X"
    )


@pytest.mark.parametrize(
    ("family", "given", "element"),
    [
        ("fluid", {}, "sample_type"),
        ("tissue", {"sample_type": "TIS"}, "collection_type"),
        ("fluid", {"sample_type": "SER", "fixation_type": "NBF"}, "fixation_type"),
        ("tissue", {"sample_type": "SER", "collection_type": "SRG"}, "sample_type"),
    ],
)
def test_bb02_compose_refuses_missing_required_or_foreign_elements(
    family: str, given: dict[str, str], element: str
) -> None:
    with pytest.raises(SprecError) as refused:
        compose(family, **given)

    assert refused.value.element == element


def test_bb02_compose_refuses_an_unknown_family_and_version() -> None:
    with pytest.raises(SprecError, match="unknown SPREC family"):
        compose("solid", sample_type="TIS")
    with pytest.raises(SprecError, match="unknown SPREC version"):
        compose("fluid", version="4.0", sample_type="SER")


def test_bb02_explain_refuses_an_unknown_language() -> None:
    with pytest.raises(ValueError, match="unknown language"):
        parse("SER-SST-A-D-N-A-D").explain("fr")


@pytest.mark.parametrize(
    "code", ["SER-SST-A-D-N-A-D", "BLD-PED-A-N-N-N-A", "PL2-PED-B-D-D-A-V", "FNA-A48-E-F-ETH-C-D"]
)
def test_bb02_parse_of_compose_round_trips(code: str) -> None:
    sprec = parse(code)

    again = compose(sprec.family, **{e.element: e.code for e in sprec.elements})

    assert again == sprec
    assert parse(again.code).code == code


@st.composite
def _valid_elements(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    family = draw(st.sampled_from(sorted(ELEMENTS)))
    elements = {
        element: draw(st.sampled_from(sorted(codes_for(family, element))))
        for element in ELEMENTS[family]
    }
    return family, elements


@given(_valid_elements())
def test_bb02_any_valid_codes_compose_to_a_string_that_parses_back(
    case: tuple[str, dict[str, str]],
) -> None:
    family, elements = case

    composed = compose(family, **elements)
    parsed = parse(composed.code)

    assert parsed == composed
    assert parsed.family == family
    assert {e.element: e.code for e in parsed.elements} == elements
    assert parse(f" {composed.code.lower()} ") == composed


# --- codes from recorded events ------------------------------------------------------------


def test_bb02_serum_from_events() -> None:
    """Serum, SST, 30 min at room temperature, 2000 g 10 min 4 °C braked, -80 °C cryotube."""
    sprec = _events()

    assert sprec.code == "SER-SST-A-D-N-A-D"
    assert sprec.explain()[2] == ("Pre-centrifugation delay", "A", "<2 h | RT")


def test_bb02_unknown_events_are_x() -> None:
    sprec = _events(
        primary_container=None,
        precentrifugation_minutes=None,
        centrifugation=Centrifugation(g_force=2000, minutes=10, temperature_c=4),
        second_centrifugation=Centrifugation(),
        postcentrifugation_temperature_c=None,
        storage_temperature_c=None,
    )

    assert sprec.code == "SER-XXX-X-X-X-X-X"
    assert _events(storage_container=None).code.endswith("-X")
    assert _events(precentrifugation_temperature_c=float("nan")).code == "SER-SST-X-D-N-A-D"


def test_bb02_not_centrifuged_is_n_and_needs_no_post_centrifugation_delay() -> None:
    sprec = _events(
        sample_type="BLD",
        primary_container="PED",
        centrifugation=None,
        postcentrifugation_minutes=None,
        storage_container="pp_tube_0_5_to_2_ml",
    )

    assert sprec.code == "BLD-PED-A-N-N-N-A"


def test_bb02_second_centrifugation_is_coded_from_its_own_table() -> None:
    spin = Centrifugation(g_force=2500, minutes=15, temperature_c=20, braking=True)
    ficoll = Centrifugation(g_force=800, minutes=30, temperature_c=20, braking=False)

    assert _events(sample_type="PL2", second_centrifugation=spin).code == "PL2-SST-A-D-B-A-D"
    assert _events(centrifugation=ficoll).code == "SER-SST-A-M-N-A-D"
    assert _events(second_centrifugation=ficoll).code == "SER-SST-A-D-Z-A-D"  # no M there


@pytest.mark.parametrize(
    ("minutes", "temperature", "code"),
    [
        (0, 18, "A"),
        (119, 28, "A"),
        (120, 22, "C"),
        (90, 4, "B"),
        (300, 2, "F"),
        (600, 10, "H"),
        (1439, 22, "I"),
        (1440, 22, "K"),
        (2880, 4, "N"),
        (10_000, 25, "M"),
        (60, 37, "O"),
        (180, 37, "Z"),
        (30, 30, "Z"),
        (30, 0, "Z"),
    ],
)
def test_bb02_precentrifugation_bands(minutes: float, temperature: float, code: str) -> None:
    sprec = _events(precentrifugation_minutes=minutes, precentrifugation_temperature_c=temperature)

    assert sprec.element("precentrifugation").code == code


@pytest.mark.parametrize(
    ("spin", "code"),
    [
        (Centrifugation(g_force=2999, minutes=10, temperature_c=22, braking=False), "A"),
        (Centrifugation(g_force=1500, minutes=15, temperature_c=22, braking=True), "B"),
        (Centrifugation(g_force=1500, minutes=12, temperature_c=4, braking=False), "C"),
        (Centrifugation(g_force=3000, minutes=10, temperature_c=22, braking=True), "E"),
        (Centrifugation(g_force=4000, minutes=10, temperature_c=4, braking=True), "F"),
        (Centrifugation(g_force=8000, minutes=10, temperature_c=22, braking=True), "G"),
        (Centrifugation(g_force=8000, minutes=10, temperature_c=4, braking=True), "H"),
        (Centrifugation(g_force=16_000, minutes=10, temperature_c=22, braking=True), "I"),
        (Centrifugation(g_force=16_000, minutes=10, temperature_c=4, braking=True), "J"),
        (Centrifugation(g_force=4000, minutes=10, temperature_c=4, braking=False), "Z"),
        (Centrifugation(g_force=2000, minutes=20, temperature_c=4, braking=True), "Z"),
        (Centrifugation(g_force=2000, minutes=10, temperature_c=15, braking=True), "Z"),
    ],
)
def test_bb02_centrifugation_bands(spin: Centrifugation, code: str) -> None:
    assert _events(centrifugation=spin).element("centrifugation").code == code


@pytest.mark.parametrize(
    ("minutes", "temperature", "code"),
    [(59, 4, "A"), (30, 22, "B"), (60, 4, "C"), (119, 22, "D"), (120, 4, "E"), (1440, 22, "J")],
)
def test_bb02_postcentrifugation_bands(minutes: float, temperature: float, code: str) -> None:
    sprec = _events(
        postcentrifugation_minutes=minutes, postcentrifugation_temperature_c=temperature
    )

    assert sprec.element("postcentrifugation").code == code


@pytest.mark.parametrize(
    ("temperature", "container", "freezing", "code"),
    [
        (-80, "pp_tube_0_5_to_2_ml", "direct", "A"),
        (-20, "pp_tube_0_5_to_2_ml", "direct", "B"),
        (-150, "pp_tube_0_5_to_2_ml", "direct", "V"),
        (-196, "Cryotube", "direct", "C"),
        (-196, "cryotube_1_to_2_ml", "programmable", "E"),
        (-196, "cryovial", "temporary_minus_80", "N"),
        (-196, "plastic_cryo_straw", "direct", "F"),
        (-196, "straw", "programmable", "I"),
        (-70, "pp_tube_over_5_ml", "direct", "J"),
        (-25, "microplate", "direct", "M"),
        (22, "paraffin_block", "direct", "P"),
        (4, "paraffin_block", "direct", "P"),
        (-196, "bag", "direct", "Q"),
        (20, "dry_technology_medium", "direct", "R"),
        (-80, "pp_tube_40_to_500_ul", "direct", "S"),
        (-20, "original_primary_container", "direct", "Y"),
        (-100, "cryotube_1_to_2_ml", "direct", "Z"),
        (-80, "cryotube_1_to_2_ml", "programmable", "Z"),
        (-80, "other", "direct", "Z"),
    ],
)
def test_bb02_storage_bands(temperature: float, container: str, freezing: str, code: str) -> None:
    sprec = _events(
        storage_temperature_c=temperature,
        storage_container=container,
        storage_freezing=freezing,
    )

    assert sprec.element("storage").code == code


@pytest.mark.parametrize(
    ("changes", "element"),
    [
        (
            {"centrifugation": None, "second_centrifugation": Centrifugation()},
            "second_centrifugation",
        ),
        ({"precentrifugation_minutes": -5}, "precentrifugation"),
        ({"centrifugation": Centrifugation(-1, 10, 4, True)}, "centrifugation"),
        ({"storage_container": "glass jar"}, "storage"),
        ({"storage_freezing": "slowly"}, "storage"),
        ({"sample_type": "TIS"}, "sample_type"),
    ],
)
def test_bb02_events_refuse_impossible_facts(changes: dict[str, object], element: str) -> None:
    with pytest.raises(SprecError) as refused:
        _events(**changes)

    assert refused.value.element == element


@given(
    pre=st.one_of(st.none(), st.floats(0, 10_000)),
    pre_t=st.one_of(st.none(), st.floats(-50, 50)),
    g=st.one_of(st.none(), st.floats(0, 50_000)),
    spin_minutes=st.one_of(st.none(), st.floats(0, 120)),
    spin_t=st.one_of(st.none(), st.floats(-10, 40)),
    braking=st.one_of(st.none(), st.booleans()),
    storage_t=st.one_of(st.none(), st.floats(-200, 40)),
    container=st.one_of(st.none(), st.sampled_from(STORAGE_CONTAINERS)),
)
def test_bb02_any_recorded_facts_give_a_code_that_parses(
    pre: float | None,
    pre_t: float | None,
    g: float | None,
    spin_minutes: float | None,
    spin_t: float | None,
    braking: bool | None,
    storage_t: float | None,
    container: str | None,
) -> None:
    sprec = _events(
        precentrifugation_minutes=pre,
        precentrifugation_temperature_c=pre_t,
        centrifugation=Centrifugation(g, spin_minutes, spin_t, braking),
        storage_temperature_c=storage_t,
        storage_container=container,
    )

    assert parse(sprec.code) == sprec
    assert set(ELEMENT_NAMES) >= {e.element for e in sprec.elements}
