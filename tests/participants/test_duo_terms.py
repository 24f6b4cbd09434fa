"""Our DUO term table (participants/data/duo_terms.csv) against the GA4GH Data Use Ontology.

The reference is ../shared/vectors/duo (DUO release 2021-02-23): duo.csv lists the current
terms, duo_hierarchy_from_owl.tsv the subClassOf parents derived from duo.owl. Our file keeps
only the two trees a consent or a request uses: permissions under DUO:0000001 and modifiers
under DUO:0000017.
"""

from __future__ import annotations

import csv
import re
from importlib import resources

from tests.conftest import shared_path

PERMISSION_ROOT = "DUO:0000001"
MODIFIER_ROOT = "DUO:0000017"
ROOT_KINDS = {PERMISSION_ROOT: "permission", MODIFIER_ROOT: "modifier"}
HEADER = ["id", "shorthand", "kind", "parent", "label_en", "label_zh"]
CJK = re.compile(r"[\u4e00-\u9fff]")


def _our_rows() -> list[dict[str, str]]:
    text = (
        resources.files("biobank.participants")
        .joinpath("data", "duo_terms.csv")
        .read_text(encoding="utf-8")
    )
    reader = csv.DictReader(text.splitlines())
    assert reader.fieldnames == HEADER
    return list(reader)


def _ours() -> dict[str, dict[str, str]]:
    return {row["id"]: row for row in _our_rows()}


def _duo_csv() -> dict[str, dict[str, str]]:
    with shared_path("vectors", "duo", "duo.csv").open(encoding="utf-8", newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def _owl_hierarchy() -> dict[str, dict[str, str]]:
    """Keyed on the oboInOwl id column, never the IRI (NPOA's IRI has eight digits)."""
    path = shared_path("vectors", "duo", "duo_hierarchy_from_owl.tsv")
    with path.open(encoding="utf-8", newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f, delimiter="\t")}


def _parents(row: dict[str, str]) -> set[str]:
    return {parent for parent in re.split(r"[\s|;,]+", row["parents"]) if parent}


def _is_obsolete(row: dict[str, str]) -> bool:
    return row["obsolete"].strip().lower() == "true"


# --- our file alone (no shared files needed) -----------------------------------------------


def test_duo_terms_file_is_well_formed():
    rows = _our_rows()
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)), "duplicate ids"
    by_id = {row["id"]: row for row in rows}
    for row in rows:
        assert re.fullmatch(r"DUO:\d{7}", row["id"]), row
        assert row["kind"] in {"permission", "modifier"}, row
        assert row["label_en"].strip() == row["label_en"] != "", row
        assert row["label_zh"].strip() == row["label_zh"] != "", row
        assert CJK.search(row["label_zh"]), row
        if row["id"] in ROOT_KINDS:
            assert row["parent"] == "", row
            assert row["shorthand"] == "", row
            assert row["kind"] == ROOT_KINDS[row["id"]], row
        else:
            assert row["parent"] in by_id, row
            assert re.fullmatch(r"[A-Z]+", row["shorthand"]), row
            assert by_id[row["parent"]]["kind"] == row["kind"], row
    shorthands = [row["shorthand"] for row in rows if row["shorthand"]]
    assert len(shorthands) == len(set(shorthands)), "duplicate shorthands"


def test_duo_terms_every_term_reaches_its_root():
    ours = _ours()
    for term_id, row in ours.items():
        seen = {term_id}
        current = row
        while current["parent"]:
            current = ours[current["parent"]]
            assert current["id"] not in seen, f"cycle through {term_id}"
            seen.add(current["id"])
        assert current["id"] in ROOT_KINDS, term_id
        assert ROOT_KINDS[current["id"]] == row["kind"], term_id


def test_duo_terms_include_the_terms_consent_forms_use():
    by_shorthand = {row["shorthand"]: row for row in _our_rows() if row["shorthand"]}
    assert by_shorthand["GRU"]["label_zh"] == "一般研究用途"
    assert by_shorthand["HMB"]["label_zh"] == "健康/醫學/生物醫學研究"
    assert by_shorthand["DS"]["label_zh"] == "特定疾病研究"
    assert by_shorthand["NCU"]["label_zh"] == "僅限非商業用途"
    assert by_shorthand["NPOA"]["label_zh"] == "禁止族群起源或祖源研究"
    assert by_shorthand["IRB"]["label_zh"] == "須經倫理審查核准"


# --- against the DUO release in ../shared ----------------------------------------------------


def test_duo_terms_are_the_current_duo_terms():
    duo = _duo_csv()
    owl = _owl_hierarchy()
    current = {term_id for term_id in duo if not _is_obsolete(owl[term_id])}
    assert len(current) == 25
    assert set(_ours()) == current


def test_duo_terms_leave_out_the_obsolete_terms():
    owl = _owl_hierarchy()
    obsolete = {term_id for term_id, row in owl.items() if _is_obsolete(row)}
    assert obsolete == {"DUO:0000002", "DUO:0000003", "DUO:0000005", "DUO:0000014"}
    assert not obsolete & set(_ours())


def test_duo_terms_have_duo_shorthands():
    duo = _duo_csv()
    owl = _owl_hierarchy()
    for term_id, row in _ours().items():
        assert row["shorthand"] == duo[term_id]["shorthand"], term_id
        assert row["shorthand"] == owl[term_id]["shorthand"], term_id


def test_duo_terms_have_the_owl_parents():
    owl = _owl_hierarchy()
    ours = _ours()
    for term_id, row in ours.items():
        # The roots' OWL parent (IAO:0000027) lies outside the two trees.
        parents_in_trees = _parents(owl[term_id]) & set(ours)
        assert len(parents_in_trees) <= 1, term_id
        assert row["parent"] == next(iter(parents_in_trees), ""), term_id


def test_duo_terms_have_the_kind_of_their_owl_root():
    owl = _owl_hierarchy()
    for term_id, row in _ours().items():
        ancestors: set[str] = set()
        frontier = {term_id}
        while frontier:
            ancestors |= frontier
            frontier = {p for t in frontier if t in owl for p in _parents(owl[t])} - ancestors
        roots = ancestors & set(ROOT_KINDS)
        assert len(roots) == 1, term_id
        assert row["kind"] == ROOT_KINDS[roots.pop()], term_id


def test_duo_terms_key_npoa_on_its_id_not_its_eight_digit_iri():
    owl = _owl_hierarchy()
    assert owl["DUO:0000044"]["shorthand"] == "NPOA"
    assert owl["DUO:0000044"]["note_iri_mismatch"].endswith("DUO_00000044")
    assert _ours()["DUO:0000044"]["shorthand"] == "NPOA"
    assert _ours()["DUO:0000044"]["parent"] == MODIFIER_ROOT
