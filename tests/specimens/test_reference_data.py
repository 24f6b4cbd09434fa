"""The specimens reference data (rule BB-03): main categories, material types, storage temperatures.

Our files live in biobank/specimens/data/ and a biobank may edit them (BB-03 keeps codes in a
data file, never in code):

* categories.csv - the five main categories of BB-03.
* material_types.csv - the sub-categories (material types). ``parent`` means "is a kind of"
  (MICRO_RNA is RNA); ``derivable_from`` means "is usually prepared from" (SERUM from
  WHOLE_BLOOD), the preparation events of BB-04. ``standard`` says where a row comes from:
  ``bbmri-directory`` (standard_code = the Directory's MaterialTypes id, which is also our code),
  ``miabis`` (standard_code = miabis_code, a MIABIS sample type with no Directory equivalent) or
  ``local`` (our own rows, mostly the non-human categories).
* storage_temperatures.csv - the MIABIS/SPREC storage temperature classes, each with the
  Directory's StorageTemperatureTypes id.

The first half needs nothing but our files. The second half checks them against
../shared/vectors: the BBMRI-ERIC Directory ontologies (MOLGENIS EMX2 biobank-directory) and
MIABIS (Sample V1.1, the sample type mapping to SPREC / SNOMED CT, MIABIS on FHIR).

MIABIS has no codes of its own for sample types, only names; ``miabis_code`` is the code of the
same type in the MIABIS on FHIR DetailedSampleTypeCS code system.
"""

from __future__ import annotations

import csv
import itertools
import re
from importlib import resources

import pytest

from tests.conftest import shared_path

CATEGORIES_HEADER = ["code", "label_en", "label_zh"]
MATERIAL_HEADER = [
    "code",
    "label_en",
    "label_zh",
    "category",
    "parent",
    "standard",
    "standard_code",
    "miabis_code",
    "sprec_code",
    "snomed_code",
    "acquired_form_ok",
    "derivable_from",
]
STORAGE_HEADER = ["code", "label_en", "label_zh", "min_c", "max_c", "standard_code"]

BB03_CATEGORIES = {
    "human": "人體",
    "animal": "動物",
    "plant": "植物",
    "fungi": "真菌",
    "microorganism": "微生物",
}
STANDARDS = {"bbmri-directory", "miabis", "local"}
CODE = re.compile(r"[A-Z][A-Z0-9_]*")
CJK = re.compile(r"[\u4e00-\u9fff]")

# "Not available" is a placeholder for publishing to the Directory, not a form anyone acquires
# or prepares, so it is the one type neither acquired nor derivable.
PLACEHOLDERS = {"NAV"}
# The Directory's "*" (Any material type) is a search wildcard, not a material type.
DIRECTORY_WILDCARDS = {"*"}

# The MIABIS list we took: every value of MIABIS-SAMPLE-02 "Sample type" in Sample V1.1
# (Sample-V1.1-Data-describing-Sample.md), with its MIABIS on FHIR DetailedSampleTypeCS code and
# our code. Where our code is a Directory id, the MIABIS type is that Directory type's
# equivalent; every other one is a row of its own with standard "miabis".
MIABIS_SAMPLE_TYPES: dict[str, tuple[str, str]] = {
    "Amniotic fluid": ("AmnioticFluid", "AMNIOTIC_FLUID"),
    "Ascites fluid": ("AscitesFluid", "ASCITES_FLUID"),
    "Bile": ("Bile", "BILE"),
    "Body cavity fluid": ("BodyCavityFluid", "BODY_CAVITY_FLUID"),
    "Bone": ("Bone", "BONE"),
    "Bone marrow aspirate": ("BoneMarrowAspirate", "BONE_MARROW_ASPIRATE"),
    "Bone marrow plasma": ("BoneMarrowPlasma", "BONE_MARROW_PLASMA"),
    "Bone marrow, whole": ("BoneMarrowWhole", "BONE_MARROW_WHOLE"),
    "Breast milk": ("BreastMilk", "BREAST_MILK"),
    "Bronchoalveolar lavage": ("BronchLavage", "BRONCHOALVEOLAR_LAVAGE"),
    "Buffy Coat": ("BuffyCoat", "BUFFY_COAT"),
    "Cancer cell lines": ("CancerCellLine", "CANCER_CELL_LINES"),
    "Cerebrospinal fluid": ("CerebrospinalFluid", "CEREBROSPINAL_FLUID"),
    "Cord blood": ("CordBlood", "CORD_BLOOD"),
    "Dental pulp": ("DentalPulp", "DENTAL_PULP"),
    "DNA": ("DNA", "DNA"),
    "Embryo": ("Embryo", "EMBRYO"),
    "Entire body organ": ("EntireOrgan", "ENTIRE_BODY_ORGAN"),
    "Faeces": ("Faeces", "FECES"),
    "Fetal tissue": ("FetalTissue", "FETAL_TISSUE"),
    "Fibroblasts": ("Fibroblast", "FIBROBLASTS"),
    "Food specimen": ("FoodSpecimen", "FOOD_SPECIMEN"),
    "Gas, exhaled (=breath)": ("Gas", "GAS_EXHALED"),
    "Gastric fluid": ("GastricFluid", "GASTRIC_FLUID"),
    "Hair": ("Hair", "HAIR"),
    "Immortalized cell lines": ("ImmortalizedCellLine", "CELL_LINES"),
    "Isolated microbes": ("IsolatedMicrobe", "ISOLATED_MICROBES"),
    "Isolated or enriched exosomes": ("IsolatedExosome", "EXOSOMES"),
    "Isolated Tumor Cell (neoplastic cell)": ("IsolatedTumorCell", "ISOLATED_TUMOR_CELLS"),
    "Menstrual blood": ("MenstrualBlood", "MENSTRUAL_BLOOD"),
    "Nail": ("Nail", "NAIL"),
    "Nasal washing": ("NasalWashing", "NASAL_WASHING"),
    "Organoids": ("Organoid", "ORGANOIDS"),
    "Pericardial fluid": ("PericardialFluid", "PERICARDIAL_FLUID"),
    "Peripheral blood mononuclear cells (PBMC)": ("PBMC", "PBMC"),
    "Placenta": ("Placenta", "PLACENTA"),
    "Plasma": ("Plasma", "PLASMA"),
    "Pleural fluid": ("PleuralFluid", "PLEURAL_FLUID"),
    "Post-mortem tissue": ("PostMortemTissue", "POST_MORTEM_TISSUE"),
    "Primary cells": ("PrimaryCells", "PRIMARY_CELLS"),
    "Protein": ("Protein", "PROTEIN"),
    "Red blood cells": ("RedBloodCells", "RED_BLOOD_CELLS"),
    "RNA": ("RNA", "RNA"),
    "Saliva": ("Saliva", "SALIVA"),
    "Semen": ("Semen", "SEMEN"),
    "Serum": ("Serum", "SERUM"),
    "Specimen from environment": ("SpecimenEnvironment", "ENVIRONMENTAL_SPECIMEN"),
    "Sputum": ("Sputum", "SPUTUM"),
    "Stem cells (and iPS cells)": ("StemCells", "STEM_CELLS"),
    "Swab": ("Swab", "SWAB"),
    "Sweat": ("Sweat", "SWEAT"),
    "Synovial fluid": ("SynovialFluid", "SYNOVIAL_FLUID"),
    "Tears": ("Tears", "TEARS"),
    "Teeth": ("Teeth", "TEETH"),
    # MIABIS V1.1 replaced "Tissue (FFPE)" by "Tissue (fixed)"; its mapping still gives FFPE as
    # the detailed V1.0 type, the Directory's TISSUE_PARAFFIN_EMBEDDED.
    "Tissue (fixed)": ("TissueFixed", "TISSUE_PARAFFIN_EMBEDDED"),
    "Tissue (fresh frozen)": ("TissueFreshFrozen", "TISSUE_FROZEN"),
    "Umbilical cord": ("UmbilicalCord", "UMBILICAL_CORD"),
    "Urine": ("Urine", "URINE"),
    "Urine sediment": ("UrineSediment", "URINE_SEDIMENT"),
    "Vitreous fluid": ("VitreousFluid", "VITREOUS_FLUID"),
    "Whole blood": ("WholeBlood", "WHOLE_BLOOD"),
    "Whole blood, dried (e.g. Guthrie cards)": ("WholeBloodDried", "WHOLE_BLOOD_DRIED"),
    "Other": ("Other", "OTHER"),
}


def _read(name: str, header: list[str]) -> list[dict[str, str]]:
    text = resources.files("biobank.specimens").joinpath("data", name).read_text(encoding="utf-8")
    reader = csv.DictReader(text.splitlines())
    assert reader.fieldnames == header, name
    rows = list(reader)
    for row in rows:
        assert None not in row and None not in row.values(), f"{name}: wrong cell count {row}"
    return rows


def _categories() -> list[dict[str, str]]:
    return _read("categories.csv", CATEGORIES_HEADER)


def _materials() -> list[dict[str, str]]:
    return _read("material_types.csv", MATERIAL_HEADER)


def _materials_by_code() -> dict[str, dict[str, str]]:
    return {row["code"]: row for row in _materials()}


def _storage() -> list[dict[str, str]]:
    return _read("storage_temperatures.csv", STORAGE_HEADER)


def _derivable(row: dict[str, str]) -> list[str]:
    return row["derivable_from"].split()


def _assert_labels(row: dict[str, str]) -> None:
    assert row["label_en"].strip() == row["label_en"] != "", row
    assert row["label_zh"].strip() == row["label_zh"] != "", row
    assert CJK.search(row["label_zh"]), row


# --- our files alone (no shared files needed) ------------------------------------------------


def test_bb03_categories_are_the_five_main_categories():
    rows = _categories()
    assert [row["code"] for row in rows] == list(BB03_CATEGORIES)
    for row in rows:
        _assert_labels(row)
        assert row["label_zh"] == BB03_CATEGORIES[row["code"]], row


def test_bb03_material_types_file_is_well_formed():
    rows = _materials()
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes)), "duplicate codes"
    for row in rows:
        assert CODE.fullmatch(row["code"]), row
        _assert_labels(row)
        assert row["category"] in BB03_CATEGORIES, row
        assert row["standard"] in STANDARDS, row
        assert row["acquired_form_ok"] in {"0", "1"}, row
        assert all(cell == cell.strip() for cell in row.values()), row
        assert re.fullmatch(r"(\d{6,18})?", row["snomed_code"]), row
        assert re.fullmatch(r"([A-Z0-9]{3})?", row["sprec_code"]), row
    miabis_codes = [row["miabis_code"] for row in rows if row["miabis_code"]]
    assert len(miabis_codes) == len(set(miabis_codes)), "a MIABIS code on two rows"


def test_bb03_material_type_standard_code_is_the_code_in_that_standard():
    for row in _materials():
        if row["standard"] == "bbmri-directory":
            assert row["standard_code"] == row["code"], row
        elif row["standard"] == "miabis":
            assert row["standard_code"] == row["miabis_code"] != "", row
        else:
            assert row["standard_code"] == "", row
            assert row["miabis_code"] == "", row


def test_bb03_material_type_parents_exist_come_first_and_share_the_category():
    seen: dict[str, dict[str, str]] = {}
    for row in _materials():
        if row["parent"]:
            # Listed before its children, so a one-pass loader can set the foreign key; this
            # also rules out cycles.
            assert row["parent"] in seen, row
            assert seen[row["parent"]]["category"] == row["category"], row
        seen[row["code"]] = row


def test_bb03_material_type_derivable_from_references_existing_codes():
    by_code = _materials_by_code()
    for code, row in by_code.items():
        sources = _derivable(row)
        assert len(sources) == len(set(sources)), row
        assert code not in sources, row
        for source in sources:
            assert source in by_code, (code, source)
            assert source not in PLACEHOLDERS, (code, source)


def test_bb04_derivations_have_no_cycles():
    by_code = _materials_by_code()
    done: set[str] = set()

    def visit(code: str, path: tuple[str, ...]) -> None:
        assert code not in path, " <- ".join((*path, code))
        if code in done:
            return
        for source in _derivable(by_code[code]):
            visit(source, (*path, code))
        done.add(code)

    for code in by_code:
        visit(code, ())


def test_bb04_every_prepared_type_traces_back_to_an_acquired_type():
    by_code = _materials_by_code()
    for code, row in by_code.items():
        if code in PLACEHOLDERS or row["acquired_form_ok"] == "1":
            continue
        assert _derivable(row), f"{code} is neither acquired nor prepared from anything"
        ancestors: set[str] = set()
        frontier = set(_derivable(row))
        while frontier:
            ancestors |= frontier
            frontier = {s for c in frontier for s in _derivable(by_code[c])} - ancestors
        assert any(by_code[a]["acquired_form_ok"] == "1" for a in ancestors), code


@pytest.mark.parametrize(
    ("code", "acquired", "sources"),
    [
        ("WHOLE_BLOOD", "1", set()),
        ("URINE", "1", set()),
        ("SALIVA", "1", set()),
        ("FECES", "1", set()),
        ("TISSUE_FROZEN", "1", {"TISSUE_FRESH"}),
        ("SERUM", "0", {"WHOLE_BLOOD"}),
        ("PLASMA", "0", {"WHOLE_BLOOD"}),
        ("BUFFY_COAT", "0", {"WHOLE_BLOOD"}),
        ("PBMC", "0", {"WHOLE_BLOOD"}),
        ("TISSUE_PARAFFIN_EMBEDDED", "0", {"TISSUE_FRESH"}),
        ("DNA", "0", {"WHOLE_BLOOD", "BUFFY_COAT", "TISSUE_FROZEN", "SALIVA"}),
        ("RNA", "0", {"WHOLE_BLOOD", "TISSUE_FROZEN"}),
    ],
)
def test_bb04_acquired_and_prepared_forms(code, acquired, sources):
    row = _materials_by_code()[code]
    assert row["acquired_form_ok"] == acquired
    assert sources <= set(_derivable(row))


@pytest.mark.parametrize(
    ("code", "category", "label_zh"),
    [
        ("WHOLE_BLOOD", "human", "全血"),
        ("SERUM", "human", "血清"),
        ("PLASMA", "human", "血漿"),
        ("BUFFY_COAT", "human", "白血球層"),
        ("DNA", "human", "去氧核醣核酸 (DNA)"),
        ("RNA", "human", "核醣核酸 (RNA)"),
        ("TISSUE_FROZEN", "human", "冷凍組織"),
        ("TISSUE_PARAFFIN_EMBEDDED", "human", "福馬林固定石蠟包埋組織 (FFPE)"),
        ("PBMC", "human", "周邊血單核細胞 (PBMC)"),
        ("CELL_LINES", "human", "細胞株"),
        ("PATHOGEN", "microorganism", "病原體"),
        ("ANIMAL_TISSUE", "animal", "動物組織"),
        ("ANIMAL_SERUM", "animal", "動物血清"),
        ("SEED", "plant", "種子"),
        ("PLANT_TISSUE", "plant", "植物組織"),
        ("FUNGAL_CULTURE", "fungi", "真菌培養株"),
        ("BACTERIAL_ISOLATE", "microorganism", "細菌分離株"),
        ("VIRAL_ISOLATE", "microorganism", "病毒分離株"),
    ],
)
def test_bb03_material_type_category_and_chinese_label(code, category, label_zh):
    row = _materials_by_code()[code]
    assert row["category"] == category
    assert row["label_zh"] == label_zh


def test_bb03_every_main_category_has_material_types():
    used = {row["category"] for row in _materials()}
    assert used == set(BB03_CATEGORIES)


def test_bb03_local_rows_are_our_own_types():
    local = {row["code"] for row in _materials() if row["standard"] == "local"}
    assert local == {
        "TISSUE_FRESH",
        "ANIMAL_TISSUE",
        "ANIMAL_SERUM",
        "SEED",
        "PLANT_TISSUE",
        "FUNGAL_CULTURE",
        "BACTERIAL_ISOLATE",
        "VIRAL_ISOLATE",
    }


def test_bb03_storage_temperatures_file_is_well_formed():
    rows = _storage()
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes)), "duplicate codes"
    ranges = []
    for row in rows:
        assert CODE.fullmatch(row["code"]), row
        _assert_labels(row)
        assert row["standard_code"], row
        if row["code"] == "OTHER":
            assert row["min_c"] == row["max_c"] == "", row
            continue
        low, high = float(row["min_c"]), float(row["max_c"])
        assert low < high, row
        assert low > -273.15, row
        ranges.append((low, high, row["code"]))
    ranges.sort()
    for (_, high, code), (low, _, next_code) in itertools.pairwise(ranges):
        assert high <= low, f"{code} overlaps {next_code}"


@pytest.mark.parametrize(
    ("code", "min_c", "max_c", "standard_code"),
    [
        ("RT", "15", "25", "temperatureRoom"),
        ("PLUS_2_TO_10", "2", "10", "temperature2to10"),
        ("MINUS_18_TO_35", "-35", "-18", "temperature-18to-35"),
        ("MINUS_60_TO_85", "-85", "-60", "temperature-60to-85"),
        ("BELOW_MINUS_135", "-190", "-135", "temperatureLN"),
        ("LN2_LIQUID", "-196", "-190", "temperatureLN"),
        ("OTHER", "", "", "temperatureOther"),
    ],
)
def test_bb03_storage_temperature_classes(code, min_c, max_c, standard_code):
    row = {row["code"]: row for row in _storage()}[code]
    assert (row["min_c"], row["max_c"], row["standard_code"]) == (min_c, max_c, standard_code)


# --- against the Directory and MIABIS in ../shared --------------------------------------------


def _directory_names(filename: str) -> list[str]:
    path = shared_path("vectors", "bbmri-directory", "ontologies", filename)
    with path.open(encoding="utf-8", newline="") as f:
        return [row["name"] for row in csv.DictReader(f)]


def _table_cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _miabis_sample_02() -> list[str]:
    text = shared_path("vectors", "miabis", "Sample-V1.1-Data-describing-Sample.md").read_text(
        encoding="utf-8"
    )
    (line,) = [line for line in text.splitlines() if line.startswith("| MIABIS-SAMPLE-02")]
    header = _table_cells(next(line for line in text.splitlines() if "Allowed values" in line))
    allowed = _table_cells(line)[header.index("Allowed values")]
    return [value.strip() for value in allowed.split(";")]


def _miabis_fhir_codes() -> set[str]:
    path = shared_path("vectors", "miabis", "miabis-on-fhir", "sampleDetailedSampleType.fsh")
    return set(re.findall(r'^\* #(\S+) "', path.read_text(encoding="utf-8"), re.MULTILINE))


def _miabis_mapping() -> dict[str, dict[str, str]]:
    """Mapping rows keyed on the lower-cased V1.1 name; struck-out (~~) rows are left out."""
    path = shared_path("vectors", "miabis", "SampleType+SPREC+SCT+OMOP+HL7FHIR.md")
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    header = _table_cells(lines[0])
    assert header[0] == "MIABIS Sample Type V1.1", header
    mapping = {}
    for line in lines[2:]:
        cells = dict(zip(header, _table_cells(line), strict=True))
        name = cells[header[0]].replace("**", "")
        if not name.startswith("~~"):
            mapping[name.lower()] = cells
    return mapping


def _no_mapping(value: str) -> str:
    return "" if value in {"no equivalent", "?"} else value


def test_bb03_every_directory_material_type_is_ours():
    directory = _directory_names("MaterialTypes.csv")
    assert len(directory) == 22
    material_types = set(directory) - DIRECTORY_WILDCARDS
    assert len(material_types) == 21
    ours = {row["standard_code"] for row in _materials() if row["standard"] == "bbmri-directory"}
    assert ours == material_types


def test_bb03_directory_wildcard_is_not_a_material_type():
    assert set(_directory_names("MaterialTypes.csv")) >= DIRECTORY_WILDCARDS
    assert not DIRECTORY_WILDCARDS & {row["standard_code"] for row in _materials()}


def test_bb03_directory_material_types_have_no_hierarchy_to_keep():
    path = shared_path("vectors", "bbmri-directory", "ontologies", "MaterialTypes.csv")
    with path.open(encoding="utf-8", newline="") as f:
        assert all(row["parent"] == "" for row in csv.DictReader(f))


def test_bb03_every_directory_storage_temperature_is_ours():
    directory = _directory_names("StorageTemperatureTypes.csv")
    assert len(directory) == 6
    assert {row["standard_code"] for row in _storage()} == set(directory)


def test_bb03_miabis_list_is_the_miabis_sample_02_list():
    values = _miabis_sample_02()
    assert len(values) == 63
    assert list(MIABIS_SAMPLE_TYPES) == values


def test_bb03_miabis_codes_are_miabis_on_fhir_codes():
    fhir = _miabis_fhir_codes()
    assert len(fhir) == 64
    ours = {miabis_code for miabis_code, _ in MIABIS_SAMPLE_TYPES.values()}
    assert len(ours) == len(MIABIS_SAMPLE_TYPES)
    # The one FHIR code left over is LiquidBiopsy, which MIABIS-SAMPLE-02 does not list.
    assert fhir - ours == {"LiquidBiopsy"}


def test_bb03_every_miabis_sample_type_is_ours_with_its_miabis_code():
    by_code = _materials_by_code()
    directory = set(_directory_names("MaterialTypes.csv"))
    for name, (miabis_code, code) in MIABIS_SAMPLE_TYPES.items():
        assert code in by_code, name
        row = by_code[code]
        assert row["miabis_code"] == miabis_code, name
        expected = "bbmri-directory" if code in directory else "miabis"
        assert row["standard"] == expected, name
    taken = {miabis_code for miabis_code, _ in MIABIS_SAMPLE_TYPES.values()}
    assert {row["miabis_code"] for row in by_code.values() if row["miabis_code"]} == taken
    assert sum(row["standard"] == "miabis" for row in by_code.values()) == 50


def _sprec_sample_types() -> set[str]:
    from biobank.specimens import sprec

    return set(sprec.codes_for(sprec.FLUID, "sample_type")) | set(
        sprec.codes_for(sprec.TISSUE, "sample_type")
    )


_SPREC_TYPES = _sprec_sample_types()


def test_bb03_sprec_and_snomed_codes_follow_the_miabis_mapping():
    mapping = _miabis_mapping()
    by_code = _materials_by_code()
    for name, (_, code) in MIABIS_SAMPLE_TYPES.items():
        cells = mapping[name.lower()]
        row = by_code[code]
        given = _no_mapping(cells["SPREC_Code"])
        # where the mapping gives a SPREC code ours is that code; where it gives none we may
        # add the SPREC 2.0 sample type that plainly fits (plasma PL1, buffy coat BUF, urine URN)
        assert row["sprec_code"] == given or (not given and row["sprec_code"] in _SPREC_TYPES), name
        assert row["snomed_code"] == _no_mapping(cells["SCT_Code"]), name
    for row in by_code.values():
        if not row["miabis_code"]:
            assert row["sprec_code"] == row["snomed_code"] == "", row


def test_bb03_mapping_examples_serum_and_whole_blood():
    mapping = _miabis_mapping()
    assert (mapping["serum"]["SPREC_Code"], mapping["serum"]["SCT_Code"]) == ("SER", "119364003")
    by_code = _materials_by_code()
    assert (by_code["SERUM"]["sprec_code"], by_code["SERUM"]["snomed_code"]) == (
        "SER",
        "119364003",
    )
    assert (by_code["WHOLE_BLOOD"]["sprec_code"], by_code["WHOLE_BLOOD"]["snomed_code"]) == (
        "BLD",
        "258580003",
    )


def test_bb03_main_categories_are_the_rule_text():
    text = shared_path("domain", "RULES.md").read_text(encoding="utf-8")
    (rule,) = [line for line in text.splitlines() if "**BB-03" in line]
    for row in _categories():
        assert f"{row['code']} ({row['label_zh']})" in rule, row
