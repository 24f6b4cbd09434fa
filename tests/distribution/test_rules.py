"""Distribution rules (BB-02, HB-01, HB-03, HB-04, HB-05, HR-04, BS-02, BS-14): pure functions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biobank.distribution import rules
from biobank.participants import rules as consent_rules

ON = date(2026, 3, 2)
GENERAL = consent_rules.ConsentTerms(
    state="active",
    permissions=frozenset({consent_rules.GRU}),
    modifiers=frozenset({consent_rules.NCU}),
    valid_from=date(2024, 1, 1),
    valid_until=date(2044, 1, 1),
)
PLASMA = rules.SpecimenFacts(
    status="available", remaining=Decimal("0.5"), category="human", material_type="PLASMA"
)
# HB-05: the export list is data the caller reads (the standard list's codes here)
EXPORT_LIST = frozenset({"DNA", "RNA", "MICRO_RNA", "CDNA", "PROTEIN"})
REQUEST = rules.RequestFacts(
    purposes=frozenset({consent_rules.HMB}),
    on=ON,
    quantity=Decimal("0.5"),
    irb_valid_from=date(2025, 1, 1),
    irb_valid_until=date(2026, 12, 31),
    country="TW",
    export_list=EXPORT_LIST,
)


def test_bb02_an_available_consented_specimen_is_eligible():
    assert rules.specimen_eligibility(PLASMA, REQUEST, [GENERAL])


def test_hb03_a_withdrawn_participants_specimen_is_never_eligible():
    decision = rules.specimen_eligibility(replace(PLASMA, consent_withdrawn=True), REQUEST, [])
    assert (decision.allowed, decision.rule, decision.key) == (False, "HB-03", rules.WITHDRAWN)


@pytest.mark.parametrize(
    ("change", "key", "rule"),
    [
        ({"on_hold": True}, rules.ON_HOLD, "BB-02"),
        ({"status": "reserved"}, rules.RESERVED, "BB-02"),
        ({"status": "depleted"}, rules.GONE, "BB-02"),
        ({"status": "distributed"}, rules.GONE, "BB-02"),
        ({"status": "in_process"}, rules.UNAVAILABLE, "BB-02"),
        ({"remaining": Decimal("0.2")}, rules.QUANTITY, "BB-04"),
    ],
)
def test_bb02_held_back_specimens_are_excluded_with_their_reason(change, key, rule):
    decision = rules.specimen_eligibility(replace(PLASMA, **change), REQUEST, [GENERAL])
    assert (decision.allowed, decision.key, decision.rule) == (False, key, rule)


def test_hb04_consent_must_permit_the_use():
    commercial = replace(REQUEST, commercial=True)
    decision = rules.specimen_eligibility(PLASMA, commercial, [GENERAL])
    assert (decision.allowed, decision.rule, decision.key) == (False, "HB-04", rules.CONSENT)
    assert "commercial" in decision.reason


def test_hr04_consent_past_its_period_does_not_permit_the_use():
    ended = replace(GENERAL, valid_until=date(2025, 12, 31))
    decision = rules.specimen_eligibility(PLASMA, REQUEST, [ended])
    assert (decision.allowed, decision.rule) == (False, "HR-04")


def test_hb02_no_consent_on_record_excludes_human_material():
    assert rules.specimen_eligibility(PLASMA, REQUEST, []).key == rules.CONSENT


def test_delinked_and_non_human_material_need_no_consent():
    assert rules.specimen_eligibility(replace(PLASMA, delinked=True), REQUEST, [])
    mouse = replace(PLASMA, category="animal", material_type="ANIMAL_SERUM")
    assert rules.specimen_eligibility(replace(mouse, human_participant=False), REQUEST, [])


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "allowed"),
    [
        (date(2025, 1, 1), date(2026, 12, 31), True),
        (ON, ON, True),
        (ON + timedelta(days=1), date(2027, 1, 1), False),
        (date(2025, 1, 1), ON - timedelta(days=1), False),
        (None, None, False),
    ],
)
def test_hb04_irb_approval_must_be_valid_on_the_distribution_date(valid_from, valid_until, allowed):
    decision = rules.irb_approval_valid(valid_from, valid_until, ON)
    assert (decision.allowed, decision.rule) == (allowed, "HB-04")


def test_hb04_an_expired_irb_approval_excludes_every_specimen():
    expired = replace(REQUEST, irb_valid_until=date(2025, 12, 31))
    assert rules.specimen_eligibility(PLASMA, expired, [GENERAL]).key == rules.IRB


def test_hb05_whole_blood_cannot_go_abroad_even_with_approval():
    blood = replace(PLASMA, material_type="WHOLE_BLOOD")
    abroad = replace(REQUEST, country="JP", export_approved=True)
    decision = rules.specimen_eligibility(blood, abroad, [GENERAL])
    assert (decision.allowed, decision.rule, decision.key) == (False, "HB-05", rules.DESTINATION)


def test_hb05_dna_goes_abroad_only_with_central_approval():
    dna = replace(PLASMA, material_type="DNA")
    abroad = replace(REQUEST, country="JP")
    refused = rules.specimen_eligibility(dna, abroad, [GENERAL])
    assert (refused.allowed, refused.rule) == (False, "HB-05")
    assert rules.specimen_eligibility(dna, replace(abroad, export_approved=True), [GENERAL])


def test_hb05_within_taiwan_any_material_may_go():
    assert rules.destination_allows(
        country="tw",
        category="human",
        material_type="WHOLE_BLOOD",
        export_approved=False,
        export_list=frozenset(),
    )


def test_hb05_data_abroad_need_central_approval():
    assert not rules.data_destination_allows(country="US", export_approved=False)
    assert rules.data_destination_allows(country="US", export_approved=True)
    assert rules.data_destination_allows(country="TW", export_approved=False)


def test_hb05_the_export_list_is_passed_in_not_read_by_the_rule():
    dna = replace(PLASMA, material_type="DNA")
    abroad = replace(REQUEST, country="JP", export_approved=True)
    assert rules.specimen_eligibility(dna, abroad, [GENERAL])
    # a biobank that struck DNA off its list: DNA no longer goes abroad
    struck = replace(abroad, export_list=EXPORT_LIST - {"DNA"})
    assert rules.specimen_eligibility(dna, struck, [GENERAL]).key == rules.DESTINATION
    # a biobank that added exosomes: they go
    exosomes = replace(PLASMA, material_type="EXOSOMES")
    added = replace(abroad, export_list=EXPORT_LIST | {"EXOSOMES"})
    assert rules.specimen_eligibility(exosomes, added, [GENERAL])
    assert not rules.specimen_eligibility(exosomes, abroad, [GENERAL])


@pytest.mark.parametrize(
    ("code", "category", "acquired_as_is", "derived_from", "allowed"),
    [
        ("DNA", "human", False, ["WHOLE_BLOOD", "SALIVA"], True),
        ("EXOSOMES", "human", False, ["PLASMA"], True),
        ("WHOLE_BLOOD", "human", True, [], False),
        ("TISSUE_FROZEN", "human", True, ["TISSUE_FRESH"], False),
        ("NAV", "human", False, [], False),
        ("ANIMAL_SERUM", "animal", True, [], False),
    ],
)
def test_hb05_only_derivatives_of_human_material_go_on_the_export_list(
    code, category, acquired_as_is, derived_from, allowed
):
    decision = rules.export_entry_allowed(
        code=code, category=category, acquired_as_is=acquired_as_is, derived_from=derived_from
    )
    assert (decision.allowed, decision.rule) == (allowed, "HB-05")


facts = st.builds(
    rules.SpecimenFacts,
    status=st.sampled_from(["available", "reserved", "depleted", "distributed", "in_process"]),
    remaining=st.decimals(min_value=0, max_value=10, places=2),
    category=st.sampled_from(["human", "animal"]),
    material_type=st.sampled_from(["WHOLE_BLOOD", "PLASMA", "DNA", "RNA"]),
    consent_withdrawn=st.booleans(),
    on_hold=st.booleans(),
    delinked=st.booleans(),
)
requests = st.builds(
    rules.RequestFacts,
    purposes=st.just(frozenset({consent_rules.HMB})),
    on=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 1, 1)),
    quantity=st.one_of(st.none(), st.decimals(min_value=0, max_value=10, places=2)),
    irb_valid_from=st.just(date(2025, 1, 1)),
    irb_valid_until=st.just(date(2027, 1, 1)),
    country=st.sampled_from(["TW", "JP", "US"]),
    commercial=st.booleans(),
    export_approved=st.booleans(),
    export_list=st.sampled_from([EXPORT_LIST, frozenset(), frozenset({"PLASMA"})]),
)


@settings(max_examples=400, deadline=None)
@given(specimen=facts, request=requests)
def test_hb03_hb05_property_eligible_means_every_check_passes(specimen, request):
    decision = rules.specimen_eligibility(specimen, request, [GENERAL])
    if decision:
        assert not specimen.consent_withdrawn and not specimen.on_hold
        assert specimen.status == "available"
        assert request.quantity is None or specimen.remaining >= request.quantity
        assert rules.irb_approval_valid(request.irb_valid_from, request.irb_valid_until, request.on)
        if request.country != "TW" and specimen.category == "human":
            assert specimen.material_type in request.export_list
            assert request.export_approved
    else:
        assert decision.key
        assert decision.rule in {"HB-02", "HB-03", "HB-04", "HB-05", "HR-04", "BB-02", "BB-04"}


@settings(max_examples=200, deadline=None)
@given(specimen=facts, request=requests)
def test_hb03_property_withdrawal_always_wins(specimen, request):
    withdrawn = replace(specimen, consent_withdrawn=True)
    assert rules.specimen_eligibility(withdrawn, request, [GENERAL]).rule == "HB-03"


def test_summary_groups_exclusions_by_reason():
    decisions = [
        rules.Decision(True, "eligible", "HB-04"),
        rules.Decision(False, "a", "HB-04", rules.CONSENT),
        rules.Decision(False, "b", "HB-04", rules.CONSENT),
        rules.Decision(False, "c", "HB-03", rules.WITHDRAWN),
    ]
    summary = rules.summarise(decisions)
    assert (summary.eligible, summary.excluded) == (1, 3)
    assert summary.by_reason[0][:3] == (rules.CONSENT, "HB-04", 2)
    assert summary.by_reason[1][:3] == (rules.WITHDRAWN, "HB-03", 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["a", "b", "c"])), max_size=30))
def test_summary_property_counts_add_up(items):
    decisions = [rules.Decision(ok, "r", "HB-04", key) for ok, key in items]
    summary = rules.summarise(decisions)
    assert summary.eligible + summary.excluded == len(items)
    assert sum(count for _k, _r, count, _why in summary.by_reason) == summary.excluded


@pytest.mark.parametrize(
    ("wants_data", "abroad", "approved", "mta", "allowed", "rule"),
    [
        (False, False, {"ethics_committee"}, True, True, "HB-04"),
        (False, False, set(), True, False, "HB-04"),
        (True, False, {"ethics_committee"}, True, False, "HB-04"),
        (True, False, {"ethics_committee", "central_authority"}, True, True, "HB-04"),
        (False, True, {"ethics_committee"}, True, False, "HB-05"),
        (False, True, {"ethics_committee", "export"}, True, True, "HB-04"),
        (False, False, {"ethics_committee"}, False, False, "HB-04"),
    ],
)
def test_hb04_approvals_complete_before_fulfilment(
    wants_data, abroad, approved, mta, allowed, rule
):
    decision = rules.approvals_complete(
        wants_data=wants_data, abroad=abroad, approved=approved, mta_signed=mta
    )
    assert (decision.allowed, decision.rule) == (allowed, rule)


@pytest.mark.parametrize(
    ("infectious", "risk_group", "category_a", "humans", "expected", "instruction"),
    [
        (False, None, False, True, "exempt", None),
        (True, 2, False, True, "UN3373", "P650"),
        (True, 3, True, True, "UN2814", "P620"),
        (True, 3, True, False, "UN2900", "P620"),
        (True, 1, False, True, "exempt", None),
    ],
)
def test_bs02_packaging_by_risk_group_and_category(
    infectious, risk_group, category_a, humans, expected, instruction
):
    packaging = rules.shipment_packaging(
        any_infectious=infectious,
        risk_group=risk_group,
        category_a_pathogen=category_a,
        affects_humans=humans,
    )
    assert (packaging.category, packaging.packing_instruction, packaging.rule) == (
        expected,
        instruction,
        "BS-02",
    )


def test_bs02_infectious_material_needs_its_risk_group():
    with pytest.raises(ValueError):
        rules.shipment_packaging(any_infectious=True, risk_group=None)


@pytest.mark.parametrize(
    ("mode", "kg", "allowed"),
    [
        ("dry_ice", Decimal("5"), True),
        ("dry_ice", None, False),
        ("dry_ice", Decimal("0"), False),
        ("ambient", None, True),
        ("ambient", Decimal("2"), False),
        ("ln2_dry_shipper", None, True),
        ("teleport", None, False),
    ],
)
def test_bs02_temperature_mode_declares_dry_ice(mode, kg, allowed):
    assert rules.temperature_valid(mode, kg).allowed is allowed


def test_bs14_spill_of_infectious_material_opens_a_24_hour_report():
    notified = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    deadlines = rules.spill_deadlines(infectious=True, notified_at=notified)
    report = next(d for d in deadlines if d.key == "authority_report")
    assert report.rule == "BS-14"
    assert report.due == notified + timedelta(hours=24)
    assert rules.spill_deadlines(infectious=False, notified_at=notified) == []


def test_bb02_request_state_machine():
    assert rules.transition_allowed("draft", "submitted")
    assert rules.transition_allowed("fulfilling", "shipped")
    assert not rules.transition_allowed("draft", "shipped")
    assert not rules.transition_allowed("closed", "draft")
    assert rules.transition_allowed("draft", "cancelled")
    assert not rules.transition_allowed("shipped", "cancelled")


@settings(max_examples=200, deadline=None)
@given(
    a=st.text(min_size=1, max_size=12),
    b=st.text(min_size=1, max_size=12),
    participant=st.from_regex(r"DM[0-9]{4}", fullmatch=True),
)
def test_hb01_property_request_codes_differ_between_requests(a, b, participant):
    secret = b"k" * 32
    code_a = rules.request_code(secret, a, participant)
    assert code_a == rules.request_code(secret, a, participant)
    assert participant not in code_a.removeprefix(f"{a}-")
    if a != b:
        assert code_a != rules.request_code(secret, b, participant)


def test_hb01_data_release_keeps_only_approved_fields_and_never_identity():
    assert not rules.release_fields_allowed(["name", "hba1c"], ["name", "hba1c"])
    assert rules.release_fields_allowed(["name"], ["name"]).rule == "HB-01"
    refused = rules.release_fields_allowed(["hba1c", "diagnosis"], ["hba1c"])
    assert (refused.allowed, refused.rule) == (False, "HB-04")
    rows = rules.code_rows(
        [{"participant": "DM0001", "hba1c": "6.1", "diagnosis": "E11", "name": "王小明"}],
        fields=["hba1c", "name"],
        secret=b"s",
        request_key="DR-1",
    )
    assert set(rows[0]) == {"code", "hba1c"}
    assert "DM0001" not in str(rows)


def test_bs02_register_risk_group_wins_over_the_entered_one():
    recorded = [
        rules.RecordedAgent("WB-1", "Hepatitis B virus", 2),
        rules.RecordedAgent("WB-2", "Mycobacterium tuberculosis", 3),
    ]
    chosen = rules.shipment_risk_group(recorded, 2)
    assert (chosen.risk_group, chosen.source, chosen.rule) == (3, rules.REGISTER, "BS-02")
    assert "Hepatitis B virus (RG2, WB-1)" in chosen.reason
    assert "entered (2) is not used" in chosen.reason
    assert rules.shipment_risk_group(recorded, 3).reason.count("entered") == 0


def test_bs02_entered_risk_group_when_the_register_has_none():
    chosen = rules.shipment_risk_group([], 2)
    assert (chosen.risk_group, chosen.source) == (2, rules.FORM)
    nothing = rules.shipment_risk_group([], None)
    assert (nothing.risk_group, nothing.source) == (None, "")


def test_bb02_receipt_condition_agrees_with_the_items():
    assert rules.receipt_consistent("complete", received=3, damaged=0, missing=0)
    assert not rules.receipt_consistent("complete", received=2, damaged=0, missing=1)
    assert not rules.receipt_consistent("partial", received=3, damaged=0, missing=0)
    assert rules.receipt_consistent("partial", received=2, damaged=0, missing=1)
    assert not rules.receipt_consistent("damaged", received=3, damaged=0, missing=0)
    assert rules.receipt_consistent("damaged", received=2, damaged=1, missing=0)
    assert rules.receipt_consistent("temperature_breach", received=3, damaged=0, missing=0)
    assert not rules.receipt_consistent("temperature_breach", received=0, damaged=0, missing=0)


def test_summarise_counts_weighs_each_decision():
    allowed = rules.Decision(True, "ok", "HB-04")
    consent = rules.Decision(False, "no", "HB-04", rules.CONSENT)
    weighted = rules.summarise_counts([(allowed, 5), (consent, 2), (consent, 0)])
    assert (weighted.eligible, weighted.excluded) == (5, 2)
    assert weighted == rules.summarise([allowed] * 5 + [consent] * 2)


def test_hb05_a_request_abroad_asks_only_for_derivatives_on_the_export_list():
    human = lambda *codes: [(code, "human") for code in codes]  # noqa: E731
    listed = {"export_list": EXPORT_LIST}
    assert rules.export_requested_types(country="TW", material_types=human("WHOLE_BLOOD"), **listed)
    refused = rules.export_requested_types(
        country="JP", material_types=human("WHOLE_BLOOD", "DNA"), **listed
    )
    assert (refused.allowed, refused.rule) == (False, "HB-05")
    assert "WHOLE_BLOOD" in refused.reason and "DNA" not in refused.reason
    assert rules.export_requested_types(country="JP", material_types=human("DNA", "RNA"), **listed)
    assert rules.export_requested_types(
        country="JP", material_types=[("CULTURE", "microbial")], **listed
    )
    assert not rules.export_requested_types(
        country="JP", material_types=human("DNA"), export_list=frozenset()
    )


def test_hb05_the_mta_states_the_export_approval():
    assert rules.mta_states_export("Export approved by MOHW-1")
    assert rules.mta_states_export("經衛福部核准出口")
    assert not rules.mta_states_export("Use for the study only").allowed
