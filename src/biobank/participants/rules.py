"""Consent rules as pure functions (HB-01 … HB-04, HR-04). No database, no request.

Data uses are GA4GH DUO terms. A consent *permits* a use when every purpose of the use falls
under a consented permission term (the term itself or one of its descendants in the DUO tree:
general research use covers health/medical research covers disease-specific research), and no
consented condition, local option, state or date rules it out.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from django.utils.translation import gettext as _

from biobank.core.rule_registry import implements

DUO_FILE = Path(__file__).resolve().parent / "data" / "duo_terms.csv"

NRES = "DUO:0000004"  # no restriction
GRU = "DUO:0000042"  # general research use
HMB = "DUO:0000006"  # health / medical / biomedical research
DS = "DUO:0000007"  # disease-specific research
POA = "DUO:0000011"  # population origins or ancestry research
NPUNCU = "DUO:0000018"  # not-for-profit, non-commercial use only
NPU = "DUO:0000045"  # not-for-profit organisation use only
NCU = "DUO:0000046"  # non-commercial use only
NPOA = "DUO:0000044"  # population origins or ancestry research prohibited
IRB = "DUO:0000021"  # ethics approval required
GSO = "DUO:0000016"  # genetic studies only
# Conditions the requester must meet; they do not decide whether the consent permits the use.
REQUESTER_CONDITIONS = {
    "DUO:0000019": "publication required",
    "DUO:0000020": "collaboration required",
    "DUO:0000022": "geographical restriction",
    "DUO:0000024": "publication moratorium",
    "DUO:0000025": "time limit on use",
    "DUO:0000026": "user specific restriction",
    "DUO:0000027": "project specific restriction",
    "DUO:0000028": "institution specific restriction",
    "DUO:0000029": "return to database or resource",
    "DUO:0000012": "research specific restrictions",
    "DUO:0000015": "no general methods research",
    "DUO:0000043": "clinical care use",
}

# HB-03: how long the biobank has to destroy material and tell recipients after a withdrawal.
# The Act says "destroy" without a number; these are the platform's defaults (data, not law).
WITHDRAWAL_DESTRUCTION_DAYS = 30
WITHDRAWAL_NOTIFICATION_DAYS = 14


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    rule: str
    conditions: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.allowed


# DUO tree ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DuoTree:
    parents: Mapping[str, str | None]
    kinds: Mapping[str, str]
    shorthands: Mapping[str, str]

    def ancestors_or_self(self, term: str) -> list[str]:
        chain, seen = [], set()
        current: str | None = term
        while current is not None and current not in seen:
            chain.append(current)
            seen.add(current)
            current = self.parents.get(current)
        return chain

    def covers(self, consented: str, requested: str) -> bool:
        """Whether consent to ``consented`` covers a use for ``requested``."""
        if consented == NRES:
            return True
        if consented == GRU and requested == POA:
            # DUO's GRU is "any research purpose", ancestry included, though POA sits beside
            # it in the tree rather than under it.
            return True
        return consented in self.ancestors_or_self(requested)

    def name(self, term: str) -> str:
        return self.shorthands.get(term) or term


def load_duo_tree(rows: Iterable[Mapping[str, str]]) -> DuoTree:
    parents: dict[str, str | None] = {}
    kinds: dict[str, str] = {}
    shorthands: dict[str, str] = {}
    for row in rows:
        parents[row["id"]] = row["parent"] or None
        kinds[row["id"]] = row["kind"]
        shorthands[row["id"]] = row["shorthand"]
    return DuoTree(parents=parents, kinds=kinds, shorthands=shorthands)


@lru_cache(maxsize=1)
def duo_tree() -> DuoTree:
    with DUO_FILE.open(encoding="utf-8", newline="") as handle:
        return load_duo_tree(csv.DictReader(handle))


# Consent terms and proposed uses -------------------------------------------------------------


@dataclass(frozen=True)
class ConsentTerms:
    """What one consent allows, as plain values."""

    state: str  # active, narrowed, withdrawn, expired
    permissions: frozenset[str]
    modifiers: frozenset[str] = frozenset()
    diseases: frozenset[str] = frozenset()
    commercial_use: bool = False
    nhi_linkage: bool = False
    after_death: bool = False
    valid_from: date = date.min
    valid_until: date = date.max


@dataclass(frozen=True)
class ProposedUse:
    """A use someone proposes for a participant's material or data."""

    purposes: frozenset[str]
    on: date
    diseases: frozenset[str] = frozenset()
    commercial: bool = False
    nhi_linkage: bool = False
    participant_deceased: bool = False
    irb_approved: bool = True
    genetic_study: bool = False
    requester_conditions_accepted: frozenset[str] = field(default_factory=frozenset)


@implements("HB-04", "HB-03", "HR-04")
def consent_permits(
    consent: ConsentTerms, use: ProposedUse, *, tree: DuoTree | None = None
) -> Decision:
    """Whether ``use`` stays within the consented scope, period and method (HB-04)."""
    tree = tree or duo_tree()
    if consent.state == "withdrawn":
        return Decision(False, _("consent was withdrawn"), "HB-03")
    if consent.state == "expired" or use.on > consent.valid_until:
        return Decision(False, _("consent period ended on %s") % consent.valid_until, "HR-04")
    if use.on < consent.valid_from:
        return Decision(False, _("consent starts on %s") % consent.valid_from, "HB-04")
    if not use.purposes:
        return Decision(False, _("the use names no purpose (DUO term)"), "HB-04")
    for purpose in sorted(use.purposes):
        if not any(tree.covers(granted, purpose) for granted in consent.permissions):
            return Decision(False, _("consent does not cover %s use") % tree.name(purpose), "HB-04")
        if _only_disease_specific(consent, purpose, tree) and (
            not use.diseases or not use.diseases <= consent.diseases
        ):
            named = ", ".join(sorted(consent.diseases)) or "no disease"
            return Decision(False, _("consent covers research on %s only") % named, "HB-04")
    if use.commercial and (not consent.commercial_use or consent.modifiers & {NCU, NPUNCU, NPU}):
        return Decision(False, _("consent does not permit commercial use"), "HB-04")
    if POA in use.purposes and NPOA in consent.modifiers:
        return Decision(False, _("consent prohibits ancestry research"), "HB-04")
    if use.nhi_linkage and not consent.nhi_linkage:
        return Decision(False, _("consent does not permit health-insurance data linkage"), "HB-04")
    if use.participant_deceased and not consent.after_death:
        return Decision(
            False, _("consent does not extend beyond death or loss of capacity"), "HB-02"
        )
    if IRB in consent.modifiers and not use.irb_approved:
        return Decision(False, _("consent requires ethics committee approval of the use"), "HB-04")
    if GSO in consent.modifiers and not use.genetic_study:
        return Decision(False, _("consent is for genetic studies only"), "HB-04")
    conditions = tuple(
        sorted(REQUESTER_CONDITIONS[m] for m in consent.modifiers if m in REQUESTER_CONDITIONS)
    )
    return Decision(True, _("within the consented scope and period"), "HB-04", conditions)


def _only_disease_specific(consent: ConsentTerms, purpose: str, tree: DuoTree) -> bool:
    """True when the only consented permissions covering ``purpose`` are disease-specific."""
    covering = [granted for granted in consent.permissions if tree.covers(granted, purpose)]
    return bool(covering) and all(granted == DS for granted in covering)


@implements("HB-03")
def narrowing_is_valid(
    old: ConsentTerms, new: ConsentTerms, *, tree: DuoTree | None = None
) -> Decision:
    """A narrowed consent may only take away: never a new use, option or longer period."""
    tree = tree or duo_tree()
    for granted in new.permissions:
        if not any(tree.covers(previous, granted) for previous in old.permissions):
            return Decision(False, _("%s was not consented before") % tree.name(granted), "HB-03")
    if not new.permissions:
        return Decision(
            False, "a narrowed consent keeps at least one use; withdraw instead", "HB-03"
        )
    if old.modifiers - new.modifiers:
        return Decision(False, _("conditions of the consent cannot be removed"), "HB-03")
    if old.diseases and (not new.diseases or new.diseases - old.diseases):
        return Decision(False, _("disease-specific consent cannot gain diseases"), "HB-03")
    for option in ("commercial_use", "nhi_linkage", "after_death"):
        if getattr(new, option) and not getattr(old, option):
            return Decision(
                False, _("%s was not consented before") % option.replace("_", " "), "HB-03"
            )
    if new.valid_until > old.valid_until or new.valid_from < old.valid_from:
        return Decision(False, _("the consented period cannot grow"), "HB-03")
    return Decision(True, _("narrower than before"), "HB-03")


# Who signs (HB-02) ---------------------------------------------------------------------------

REQUIRED_SIGNERS = {
    "adult": "participant",
    "minor_under_7": "representative",
    "guardianship": "representative",
    "minor_7_plus": "both",
    "assistance": "both",
}


@implements("HB-02")
def signers_are_valid(capacity: str, signed_by: str, representative_relation: str) -> Decision:
    """Minors under 7 and persons under guardianship: the legal representative signs;
    minors 7 and over and persons under assistance: both sign; adults sign themselves."""
    try:
        required = REQUIRED_SIGNERS[capacity]
    except KeyError:
        return Decision(False, _("unknown capacity %s") % capacity, "HB-02")
    if signed_by != required:
        wording = {
            "participant": _("for this participant the participant signs"),
            "representative": _("for this participant the legal representative signs"),
            "both": _(
                "for this participant both the participant and the legal representative sign"
            ),
        }[required]
        return Decision(False, wording, "HB-02")
    if required in {"representative", "both"} and not representative_relation.strip():
        return Decision(
            False, _("record the representative's relation to the participant"), "HB-02"
        )
    return Decision(True, _("signed as the Act requires"), "HB-02")


@implements("HB-02")
def capacity_fits_birth_year(capacity: str, birth_year: int | None, signed_on: date) -> Decision:
    """The capacity recorded must fit the participant's age that year: a minor (under 18) is
    recorded as a minor, an adult is not; under 7 / 7 and over likewise where the year decides."""
    if birth_year is None:
        return Decision(True, _("age unknown"), "HB-02")
    oldest = signed_on.year - birth_year  # age at the end of that year
    youngest = oldest - 1
    minors = {"minor_under_7", "minor_7_plus"}
    if oldest < 18 and capacity not in minors:
        return Decision(
            False, _("the participant is a minor: record the minor's capacity"), "HB-02"
        )
    if youngest >= 18 and capacity in minors:
        return Decision(False, _("the participant is an adult"), "HB-02")
    if oldest < 7 and capacity == "minor_7_plus":
        return Decision(False, _("the participant is under 7"), "HB-02")
    if youngest >= 7 and capacity == "minor_under_7":
        return Decision(False, _("the participant is 7 or over"), "HB-02")
    return Decision(True, _("capacity fits the age"), "HB-02")


def capacity_from_age(birth_date: date | None, on: date) -> str | None:
    """The minor categories implied by a birth date on the day of signing (None: adult age
    or unknown; guardianship and assistance are court decisions the user records)."""
    if birth_date is None:
        return None
    years = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    if years < 7:
        return "minor_under_7"
    if years < 18:
        return "minor_7_plus"
    return None


# Withdrawal effects (HB-03) ------------------------------------------------------------------


@dataclass(frozen=True)
class HeldItem:
    """Material or data of the participant the biobank still holds."""

    key: str  # e.g. a specimen barcode
    description: str
    delinked: bool = False


@dataclass(frozen=True)
class Recipient:
    """Someone who received the participant's material or data."""

    key: str
    description: str


@dataclass(frozen=True)
class WithdrawalEffects:
    destroy: tuple[HeldItem, ...]
    keep: tuple[tuple[HeldItem, str], ...]  # item, why it is kept
    notify: tuple[Recipient, ...]
    documents_kept: bool = True
    rule: str = "HB-03"


@implements("HB-03")
def withdrawal_effects(
    held: Iterable[HeldItem], recipients: Iterable[Recipient], kept_by_agreement: Iterable[str]
) -> WithdrawalEffects:
    """What a withdrawal sets off: everything held is destroyed except what the participant
    agreed in writing to keep and delinked material; every recipient is told to destroy what
    they received; the consent documents themselves are kept for audit."""
    agreed = set(kept_by_agreement)
    destroy: list[HeldItem] = []
    keep: list[tuple[HeldItem, str]] = []
    for item in held:
        if item.key in agreed:
            keep.append((item, _("kept by the participant's written agreement")))
        elif item.delinked:
            keep.append((item, _("delinked")))
        else:
            destroy.append(item)
    return WithdrawalEffects(destroy=tuple(destroy), keep=tuple(keep), notify=tuple(recipients))
