"""Specimen rules as pure functions (BB-01 … BB-04, HB-03). No database, no request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from biobank.core.rule_registry import implements

STATUS_WORDS = {
    "expected": _lazy("expected"),
    "collected": _lazy("collected"),
    "received": _lazy("received"),
    "in_process": _lazy("in process"),
    "available": _lazy("available"),
    "reserved": _lazy("reserved"),
    "distributed": _lazy("distributed"),
    "depleted": _lazy("depleted"),
    "destroyed": _lazy("destroyed"),
    "missing": _lazy("missing"),
}
HELD_STATUSES = frozenset(
    {"expected", "collected", "received", "in_process", "available", "reserved", "missing"}
)
GONE_STATUSES = frozenset({"distributed", "depleted", "destroyed"})
USABLE_STATUS = "available"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    rule: str

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class Take:
    """The outcome of taking material from a parent."""

    remaining: Decimal
    depleted: bool


@implements("BB-04", "BB-01")
def take_from(
    remaining: Decimal, amounts: Sequence[Decimal], *, keep_when_empty: bool = False
) -> Take:
    """Children never take more than the parent holds (quantities are conserved); a parent at
    zero becomes depleted unless it is kept (an empty tube kept for its record)."""
    if any(amount < 0 for amount in amounts):
        raise ValueError("an amount taken cannot be negative")
    total = sum(amounts, Decimal(0))
    if total > remaining:
        raise QuantityError(
            _("the children need %(need)s but only %(left)s remain")
            % {"need": f"{total.normalize():f}", "left": f"{remaining.normalize():f}"}
        )
    left = remaining - total
    return Take(remaining=left, depleted=left == 0 and not keep_when_empty)


class QuantityError(ValueError):
    rule = "BB-04"


@implements("BB-04")
def lineage_is_valid(kind: str, parent_types: Sequence[str], child_type: str) -> Decision:
    """Aliquots keep the material type; derivatives change it (whole blood → plasma, BB-04);
    a pool joins several parents of one type."""
    if kind == "aliquot":
        if len(parent_types) != 1 or parent_types[0] != child_type:
            return Decision(
                False, _("an aliquot has one parent of the same material type"), "BB-04"
            )
    elif kind == "derivative":
        if len(parent_types) != 1:
            return Decision(False, _("a derivative has one parent"), "BB-04")
        if parent_types[0] == child_type:
            return Decision(
                False, "a derivative changes the material type; use an aliquot", "BB-04"
            )
    elif kind == "pool":
        if len(parent_types) < 2:
            return Decision(False, _("a pool joins at least two parents"), "BB-04")
        if len(set(parent_types)) != 1 or parent_types[0] != child_type:
            return Decision(False, _("a pool joins parents of one material type"), "BB-04")
    else:
        return Decision(False, _("unknown lineage kind %s") % kind, "BB-04")
    return Decision(True, _("lineage kind fits the material types"), "BB-04")


@implements("BB-03")
def source_is_valid(category: str, has_participant: bool, source_organism: str) -> Decision:
    """Human material comes from a participant; animal, plant, fungal and microbial material
    names its source organism instead (BB-03)."""
    if category == "human":
        if not has_participant:
            return Decision(False, _("human material belongs to a participant"), "BB-03")
        return Decision(True, _("human material from a participant"), "BB-03")
    if has_participant:
        return Decision(False, _("non-human material has no participant"), "BB-03")
    if not source_organism.strip():
        return Decision(False, _("name the source organism (species, strain)"), "BB-03")
    return Decision(True, _("non-human material with its source organism"), "BB-03")


@implements("HB-03", "BB-01")
def new_use_block(
    *, status: str, consent_withdrawn: bool, on_hold: bool, remaining: Decimal
) -> Decision:
    """Whether a specimen may be put to a new use (reserved, aliquoted for a request, shipped)."""
    if consent_withdrawn:
        return Decision(False, _("the participant withdrew consent"), "HB-03")
    if on_hold:
        return Decision(False, _("the specimen is on hold"), "BB-02")
    if status != USABLE_STATUS:
        return Decision(False, _("the specimen is %s") % STATUS_WORDS.get(status, status), "BB-02")
    if remaining <= 0:
        return Decision(False, _("nothing remains"), "BB-04")
    return Decision(True, _("available for new use"), "BB-02")


PROCESSABLE_STATUSES = frozenset({"collected", "received", "in_process", "available"})


@implements("BB-02", "HB-03")
def can_process(*, status: str, consent_withdrawn: bool, on_hold: bool) -> Decision:
    """Whether material may be prepared further (aliquoted, derived, pooled)."""
    if consent_withdrawn:
        return Decision(False, _("the participant withdrew consent"), "HB-03")
    if on_hold:
        return Decision(False, _("the specimen is on hold"), "BB-02")
    if status not in PROCESSABLE_STATUSES:
        return Decision(False, _("the specimen is %s") % STATUS_WORDS.get(status, status), "BB-02")
    return Decision(True, _("may be prepared"), "BB-02")


QUANTUM = Decimal("0.0001")  # the database keeps four decimal places


@implements("BB-04")
def split_taken(taken: Decimal, child_quantities: list[Decimal]) -> list[Decimal]:
    """Share what was taken from a parent among its children, in proportion to their size,
    rounded to the stored precision, so that the shares add up to exactly ``taken``."""
    if not child_quantities:
        return []
    total = sum(child_quantities, Decimal(0))
    if total <= 0:
        weights = [Decimal(1)] * len(child_quantities)
        total = Decimal(len(child_quantities))
    else:
        weights = list(child_quantities)
    shares = [(taken * w / total).quantize(QUANTUM, rounding="ROUND_DOWN") for w in weights[:-1]]
    shares.append(taken - sum(shares, Decimal(0)))
    return shares
