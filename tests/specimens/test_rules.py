"""Specimen rules (BB-03, BB-04, HB-03): pure functions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biobank.specimens.rules import (
    QuantityError,
    can_process,
    lineage_is_valid,
    new_use_block,
    source_is_valid,
    take_from,
)

amounts = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False, allow_infinity=False)


@settings(max_examples=400, deadline=None)
@given(remaining=amounts, takes=st.lists(amounts, max_size=8))
def test_bb04_property_quantity_is_conserved(remaining, takes):
    """Children never take more than the parent holds; what is left is exactly the rest."""
    total = sum(takes, Decimal(0))
    if total > remaining:
        with pytest.raises(QuantityError):
            take_from(remaining, takes)
        return
    result = take_from(remaining, takes)
    assert result.remaining == remaining - total
    assert result.remaining >= 0
    assert result.depleted == (result.remaining == 0)


@settings(max_examples=200, deadline=None)
@given(remaining=amounts, takes=st.lists(amounts, min_size=1, max_size=8))
def test_bb04_property_taking_in_steps_equals_taking_at_once(remaining, takes):
    if sum(takes, Decimal(0)) > remaining:
        return
    left = remaining
    for amount in takes:
        left = take_from(left, [amount], keep_when_empty=True).remaining
    assert left == take_from(remaining, takes).remaining


def test_bb04_an_emptied_parent_may_be_kept():
    assert take_from(Decimal(1), [Decimal(1)], keep_when_empty=True).depleted is False
    assert take_from(Decimal(1), [Decimal(1)]).depleted is True


def test_bb04_negative_amounts_are_refused():
    with pytest.raises(ValueError):
        take_from(Decimal(1), [Decimal(-1)])


@pytest.mark.parametrize(
    ("kind", "parents", "child", "allowed"),
    [
        ("aliquot", ["PLASMA"], "PLASMA", True),
        ("aliquot", ["PLASMA"], "SERUM", False),
        ("derivative", ["WHOLE_BLOOD"], "PLASMA", True),
        ("derivative", ["WHOLE_BLOOD"], "WHOLE_BLOOD", False),
        ("derivative", ["WHOLE_BLOOD", "WHOLE_BLOOD"], "PLASMA", False),
        ("pool", ["SERUM", "SERUM"], "SERUM", True),
        ("pool", ["SERUM"], "SERUM", False),
        ("pool", ["SERUM", "PLASMA"], "SERUM", False),
        ("teleport", ["SERUM"], "SERUM", False),
    ],
)
def test_bb04_lineage_kinds(kind, parents, child, allowed):
    decision = lineage_is_valid(kind, parents, child)
    assert decision.allowed is allowed
    assert decision.rule == "BB-04"


def test_bb03_human_material_has_a_participant_and_other_material_a_source_organism():
    assert source_is_valid("human", True, "")
    assert not source_is_valid("human", False, "")
    assert source_is_valid("animal", False, "Mus musculus")
    assert not source_is_valid("plant", False, " ")
    assert not source_is_valid("microorganism", True, "E. coli")
    assert source_is_valid("fungi", False, "Candida albicans").rule == "BB-03"


def test_hb03_withdrawn_material_is_blocked_from_new_use_and_processing():
    use = new_use_block(
        status="available", consent_withdrawn=True, on_hold=False, remaining=Decimal(1)
    )
    assert (use.allowed, use.rule) == (False, "HB-03")
    process = can_process(status="available", consent_withdrawn=True, on_hold=False)
    assert (process.allowed, process.rule) == (False, "HB-03")


def test_new_use_needs_an_available_specimen_with_material_left():
    assert new_use_block(
        status="available", consent_withdrawn=False, on_hold=False, remaining=Decimal(1)
    )
    assert not new_use_block(
        status="reserved", consent_withdrawn=False, on_hold=False, remaining=Decimal(1)
    )
    assert not new_use_block(
        status="available", consent_withdrawn=False, on_hold=True, remaining=Decimal(1)
    )
    assert not new_use_block(
        status="available", consent_withdrawn=False, on_hold=False, remaining=Decimal(0)
    )
    assert can_process(status="collected", consent_withdrawn=False, on_hold=False)
    assert not can_process(status="destroyed", consent_withdrawn=False, on_hold=False)


@settings(max_examples=300, deadline=None)
@given(
    taken=st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False),
    children=st.lists(
        st.decimals(min_value=0, max_value=100, places=4, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=12,
    ),
)
def test_bb04_property_lineage_shares_add_up_to_what_was_taken(taken, children):
    from biobank.specimens.rules import split_taken

    shares = split_taken(taken, children)
    assert len(shares) == len(children)
    assert sum(shares, Decimal(0)) == taken
    assert all(share >= 0 for share in shares)
    assert all(share == share.quantize(Decimal("0.0001")) for share in shares)
