"""Consent rules (HB-02, HB-03, HB-04, HR-04): pure functions, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biobank.participants.rules import (
    DS,
    GRU,
    HMB,
    IRB,
    NCU,
    NPOA,
    NRES,
    POA,
    ConsentTerms,
    HeldItem,
    ProposedUse,
    Recipient,
    capacity_from_age,
    consent_permits,
    duo_tree,
    narrowing_is_valid,
    signers_are_valid,
    withdrawal_effects,
)

TODAY = date(2026, 6, 1)


def terms(**kwargs) -> ConsentTerms:
    base = ConsentTerms(
        state="active",
        permissions=frozenset({GRU}),
        valid_from=date(2024, 1, 1),
        valid_until=date(2044, 1, 1),
    )
    return replace(base, **kwargs)


def use(**kwargs) -> ProposedUse:
    return replace(ProposedUse(purposes=frozenset({HMB}), on=TODAY), **kwargs)


def test_hb04_general_research_consent_covers_medical_and_disease_research():
    assert consent_permits(terms(), use())
    assert consent_permits(terms(), use(purposes=frozenset({DS}), diseases=frozenset({"E11"})))
    assert consent_permits(terms(), use(purposes=frozenset({POA})))


def test_hb04_medical_research_consent_does_not_cover_ancestry_research():
    decision = consent_permits(terms(permissions=frozenset({HMB})), use(purposes=frozenset({POA})))
    assert not decision
    assert decision.rule == "HB-04"


def test_hb04_disease_specific_consent_covers_only_its_diseases():
    consent = terms(permissions=frozenset({DS}), diseases=frozenset({"ICD-10 E11"}))
    assert consent_permits(
        consent, use(purposes=frozenset({DS}), diseases=frozenset({"ICD-10 E11"}))
    )
    assert not consent_permits(consent, use(purposes=frozenset({DS}), diseases=frozenset({"C50"})))
    assert not consent_permits(consent, use(purposes=frozenset({DS})))
    assert not consent_permits(consent, use(purposes=frozenset({HMB})))


def test_hb04_no_restriction_covers_everything():
    assert consent_permits(terms(permissions=frozenset({NRES})), use(purposes=frozenset({POA})))


def test_hb04_commercial_use_needs_the_option_and_no_non_commercial_condition():
    assert not consent_permits(terms(), use(commercial=True))
    assert consent_permits(terms(commercial_use=True), use(commercial=True))
    refused = consent_permits(
        terms(commercial_use=True, modifiers=frozenset({NCU})), use(commercial=True)
    )
    assert not refused
    assert "commercial" in refused.reason


def test_hb04_ancestry_prohibition_and_ethics_condition():
    assert not consent_permits(terms(modifiers=frozenset({NPOA})), use(purposes=frozenset({POA})))
    assert not consent_permits(terms(modifiers=frozenset({IRB})), use(irb_approved=False))
    assert consent_permits(terms(modifiers=frozenset({IRB})), use(irb_approved=True))


def test_hb04_linkage_with_health_insurance_data_needs_consent():
    assert not consent_permits(terms(), use(nhi_linkage=True))
    assert consent_permits(terms(nhi_linkage=True), use(nhi_linkage=True))


def test_hb02_use_after_death_needs_the_after_death_choice():
    assert not consent_permits(terms(), use(participant_deceased=True))
    assert consent_permits(terms(after_death=True), use(participant_deceased=True))


def test_requester_conditions_come_with_the_permission():
    publication = "DUO:0000019"
    decision = consent_permits(terms(modifiers=frozenset({publication})), use())
    assert decision
    assert decision.conditions == ("publication required",)


def test_hb03_withdrawn_consent_permits_nothing():
    decision = consent_permits(terms(state="withdrawn"), use())
    assert (decision.allowed, decision.rule) == (False, "HB-03")


def test_hr04_expired_consent_permits_nothing():
    assert not consent_permits(terms(state="expired"), use())
    late = consent_permits(terms(valid_until=date(2026, 5, 31)), use())
    assert (late.allowed, late.rule) == (False, "HR-04")


def test_a_use_without_purpose_is_refused():
    assert not consent_permits(terms(), use(purposes=frozenset()))


def test_use_before_consent_was_signed_is_refused():
    assert not consent_permits(terms(valid_from=date(2026, 7, 1)), use())


def test_duo_tree_is_the_one_in_the_data_file():
    tree = duo_tree()
    assert tree.ancestors_or_self(DS) == [DS, HMB, GRU, "DUO:0000001"]
    assert tree.kinds[NCU] == "modifier"


# HB-02: who signs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("capacity", "signed_by", "relation", "allowed"),
    [
        ("adult", "participant", "", True),
        ("adult", "representative", "子女", False),
        ("minor_under_7", "representative", "母親", True),
        ("minor_under_7", "both", "母親", False),
        ("minor_under_7", "representative", "", False),
        ("guardianship", "representative", "監護人", True),
        ("minor_7_plus", "both", "父親", True),
        ("minor_7_plus", "participant", "", False),
        ("assistance", "both", "輔助人", True),
        ("assistance", "representative", "輔助人", False),
        ("astronaut", "participant", "", False),
    ],
)
def test_hb02_who_signs(capacity, signed_by, relation, allowed):
    decision = signers_are_valid(capacity, signed_by, relation)
    assert decision.allowed is allowed
    assert decision.rule == "HB-02"


def test_hb02_age_on_the_signing_day_decides_minor_categories():
    assert capacity_from_age(date(2020, 6, 2), date(2027, 6, 1)) == "minor_under_7"
    assert capacity_from_age(date(2020, 6, 1), date(2027, 6, 1)) == "minor_7_plus"
    assert capacity_from_age(date(2008, 6, 1), date(2026, 6, 1)) is None
    assert capacity_from_age(None, date(2026, 6, 1)) is None


# HB-03: withdrawal effects -------------------------------------------------------------------


def test_hb03_withdrawal_destroys_all_but_agreed_and_delinked_material_and_notifies_recipients():
    held = [
        HeldItem("S1", "plasma S1"),
        HeldItem("S2", "plasma S2"),
        HeldItem("S3", "DNA S3", delinked=True),
    ]
    effects = withdrawal_effects(held, [Recipient("R1", "Lab of Dr. Huang")], ["S2"])
    assert [item.key for item in effects.destroy] == ["S1"]
    assert [(item.key, why) for item, why in effects.keep] == [
        ("S2", "kept by the participant's written agreement"),
        ("S3", "delinked"),
    ]
    assert [r.key for r in effects.notify] == ["R1"]
    assert effects.documents_kept


# Properties ----------------------------------------------------------------------------------

PERMISSIONS = [NRES, GRU, HMB, DS, POA]
MODIFIERS = [NCU, NPOA, IRB, "DUO:0000019", "DUO:0000016"]
DISEASES = ["E11", "C50", "I10"]

consent_terms_strategy = st.builds(
    ConsentTerms,
    state=st.sampled_from(["active", "narrowed"]),
    permissions=st.frozensets(st.sampled_from(PERMISSIONS), min_size=1),
    modifiers=st.frozensets(st.sampled_from(MODIFIERS)),
    diseases=st.frozensets(st.sampled_from(DISEASES)),
    commercial_use=st.booleans(),
    nhi_linkage=st.booleans(),
    after_death=st.booleans(),
    valid_from=st.just(date(2024, 1, 1)),
    valid_until=st.dates(min_value=date(2025, 1, 1), max_value=date(2045, 1, 1)),
)
use_strategy = st.builds(
    ProposedUse,
    purposes=st.frozensets(st.sampled_from(PERMISSIONS), min_size=1, max_size=2),
    on=st.dates(min_value=date(2023, 1, 1), max_value=date(2046, 1, 1)),
    diseases=st.frozensets(st.sampled_from(DISEASES)),
    commercial=st.booleans(),
    nhi_linkage=st.booleans(),
    participant_deceased=st.booleans(),
    irb_approved=st.booleans(),
    genetic_study=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(consent=consent_terms_strategy, proposed=use_strategy)
def test_hb03_property_withdrawal_never_permits_anything(consent, proposed):
    assert not consent_permits(replace(consent, state="withdrawn"), proposed)


@st.composite
def narrowings(draw):
    old = draw(consent_terms_strategy)
    tree = duo_tree()
    # any permission covered by an old one may remain (a narrower DUO term counts)
    candidates = [p for p in PERMISSIONS if any(tree.covers(o, p) for o in old.permissions)]
    new = replace(
        old,
        state="narrowed",
        permissions=draw(st.frozensets(st.sampled_from(candidates), min_size=1)),
        modifiers=old.modifiers | draw(st.frozensets(st.sampled_from(MODIFIERS))),
        diseases=old.diseases
        and draw(st.frozensets(st.sampled_from(sorted(old.diseases)), min_size=1)),
        commercial_use=old.commercial_use and draw(st.booleans()),
        nhi_linkage=old.nhi_linkage and draw(st.booleans()),
        after_death=old.after_death and draw(st.booleans()),
        valid_until=draw(st.dates(min_value=old.valid_from, max_value=old.valid_until)),
    )
    return old, new


@settings(max_examples=400, deadline=None)
@given(pair=narrowings(), proposed=use_strategy)
def test_hb03_property_narrowing_never_widens(pair, proposed):
    old, new = pair
    assert narrowing_is_valid(old, new), narrowing_is_valid(old, new).reason
    if consent_permits(new, proposed):
        assert consent_permits(old, proposed)


@settings(max_examples=300, deadline=None)
@given(old=consent_terms_strategy, new=consent_terms_strategy, proposed=use_strategy)
def test_hb03_property_an_accepted_narrowing_permits_nothing_new(old, new, proposed):
    if narrowing_is_valid(old, new) and consent_permits(new, proposed):
        assert consent_permits(old, proposed)


def test_hb03_narrowing_refuses_each_kind_of_widening():
    old = terms(permissions=frozenset({HMB}), modifiers=frozenset({NCU}))
    assert not narrowing_is_valid(old, replace(old, permissions=frozenset({GRU})))
    assert not narrowing_is_valid(old, replace(old, modifiers=frozenset()))
    assert not narrowing_is_valid(old, replace(old, commercial_use=True))
    assert not narrowing_is_valid(old, replace(old, valid_until=date(2050, 1, 1)))
    assert not narrowing_is_valid(old, replace(old, permissions=frozenset()))
    assert narrowing_is_valid(old, replace(old, permissions=frozenset({DS}), diseases=frozenset()))
