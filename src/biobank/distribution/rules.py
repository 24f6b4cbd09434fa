"""Distribution rules as pure functions (BB-02, HB-01, HB-03, HB-04, HB-05, HR-04, BS-02, BS-14).
No database, no request.

A specimen is eligible for a request only when every check passes: not withdrawn (HB-03), not
on hold, reserved or gone (BB-02), enough left (BB-04), the participant's consent permits the
use on the distribution date (HB-04, HR-04), the request's IRB approval is valid that day
(HB-04) and the destination is allowed (HB-05: specimens stay in Taiwan; derivatives and data
go abroad only with a recorded central-authority approval). Each refusal carries a ``key`` so
that the request page can group excluded specimens by reason.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from biobank.biosafety import rules as biosafety_rules
from biobank.core.rule_registry import implements
from biobank.participants import rules as consent_rules

HOME_COUNTRY = "TW"  # rule: HB-05 — the Act's territory
# rule: HB-01 — identity never travels: these keys are refused in any data release.
IDENTITY_FIELDS = frozenset({"name", "national_id", "birth_date", "contact", "address", "phone"})

# Keys for grouping excluded specimens; the page shows the label beside the rule ID.
WITHDRAWN = "withdrawn"
ON_HOLD = "on_hold"
RESERVED = "reserved"
GONE = "gone"
UNAVAILABLE = "unavailable"
QUANTITY = "quantity"
CONSENT = "consent"
IRB = "irb"
DESTINATION = "destination"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    rule: str
    key: str = ""

    def __bool__(self) -> bool:
        return self.allowed


# Request states (BB-02) ----------------------------------------------------------------------

DRAFT = "draft"
SUBMITTED = "submitted"
UNDER_REVIEW = "under_review"
APPROVED = "approved"
REJECTED = "rejected"
FULFILLING = "fulfilling"
SHIPPED = "shipped"
RECEIVED = "received"
CLOSED = "closed"
CANCELLED = "cancelled"

TRANSITIONS: Mapping[str, frozenset[str]] = {
    DRAFT: frozenset({SUBMITTED, CANCELLED}),
    SUBMITTED: frozenset({UNDER_REVIEW, REJECTED, CANCELLED}),
    UNDER_REVIEW: frozenset({APPROVED, REJECTED, CANCELLED}),
    APPROVED: frozenset({FULFILLING, CANCELLED}),
    FULFILLING: frozenset({SHIPPED, CANCELLED}),
    SHIPPED: frozenset({RECEIVED}),
    RECEIVED: frozenset({CLOSED}),
    REJECTED: frozenset(),
    CLOSED: frozenset(),
    CANCELLED: frozenset(),
}


@implements("BB-02")
def transition_allowed(current: str, target: str) -> Decision:
    """The request's state machine: draft → submitted → under review → approved → fulfilling →
    shipped → received → closed, or rejected / cancelled on the way."""
    if target in TRANSITIONS.get(current, frozenset()):
        return Decision(True, _("allowed"), "BB-02")
    return Decision(
        False,
        _("a request cannot go from %(current)s to %(target)s")
        % {"current": current.replace("_", " "), "target": target.replace("_", " ")},
        "BB-02",
    )


# Eligibility ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpecimenFacts:
    """What eligibility needs to know of one specimen, as plain values."""

    status: str
    remaining: Decimal
    category: str
    material_type: str
    consent_withdrawn: bool = False
    on_hold: bool = False
    delinked: bool = False
    human_participant: bool = True
    participant_withdrawn: bool = False
    participant_deceased: bool = False


@dataclass(frozen=True)
class RequestFacts:
    """What eligibility needs to know of the request."""

    purposes: frozenset[str]
    on: date
    quantity: Decimal | None
    irb_valid_from: date | None
    irb_valid_until: date | None
    country: str
    diseases: frozenset[str] = frozenset()
    commercial: bool = False
    nhi_linkage: bool = False
    genetic_study: bool = False
    irb_approved: bool = True
    export_approved: bool = False
    # HB-05: material type codes the biobank's export list allows abroad (read by the caller)
    export_list: frozenset[str] = frozenset()

    def proposed_use(self, *, participant_deceased: bool = False) -> consent_rules.ProposedUse:
        return consent_rules.ProposedUse(
            purposes=self.purposes,
            on=self.on,
            diseases=self.diseases,
            commercial=self.commercial,
            nhi_linkage=self.nhi_linkage,
            participant_deceased=participant_deceased,
            irb_approved=self.irb_approved,
            genetic_study=self.genetic_study,
        )


@implements("HB-04")
def irb_approval_valid(valid_from: date | None, valid_until: date | None, on: date) -> Decision:
    """The request's IRB approval must cover the distribution date (HB-04)."""
    if valid_from is None or valid_until is None:
        return Decision(False, _("the request has no IRB approval period"), "HB-04", IRB)
    if on < valid_from:
        return Decision(False, _("the IRB approval starts on %s") % valid_from, "HB-04", IRB)
    if on > valid_until:
        return Decision(False, _("the IRB approval ended on %s") % valid_until, "HB-04", IRB)
    return Decision(True, _("the IRB approval is valid on %s") % on, "HB-04", IRB)


def is_abroad(country: str) -> bool:
    return country.strip().upper() != HOME_COUNTRY


@implements("HB-05")
def destination_allows(
    *,
    country: str,
    category: str,
    material_type: str,
    export_approved: bool,
    export_list: frozenset[str],
) -> Decision:
    """Specimens may not leave Taiwan; derivatives on the biobank's export list (e.g. extracted
    DNA) may, only with a recorded central-authority approval written into the contract (HB-05,
    Human Biobank Act §15). ``export_list`` holds the material type codes the biobank's export
    list allows (the standard list with its own changes), read by the caller."""
    if not is_abroad(country):
        return Decision(True, _("the destination is in Taiwan"), "HB-05", DESTINATION)
    if category != "human":
        return Decision(
            True, _("the Human Biobank Act's export rule covers human material"), "HB-05"
        )
    if material_type not in export_list:
        return Decision(
            False,
            _("specimens may not leave Taiwan; only derivatives and data may"),
            "HB-05",
            DESTINATION,
        )
    if not export_approved:
        return Decision(
            False,
            _("a derivative goes abroad only with the central authority's approval"),
            "HB-05",
            DESTINATION,
        )
    return Decision(True, _("a derivative with central export approval"), "HB-05", DESTINATION)


@implements("HB-05")
def export_entry_allowed(
    *, code: str, category: str, acquired_as_is: bool, derived_from: Sequence[str]
) -> Decision:
    """What a biobank may put on its export list (HB-05): derivatives of human material, made
    from another material in the laboratory (extracted DNA, RNA, protein), never a specimen as
    it is collected (whole blood, tissue, urine). The facts are the material type's: its
    category, whether it can be acquired as it is, and what it can be derived from."""
    if category != "human":
        return Decision(
            False, _("the Human Biobank Act's export list covers human material only"), "HB-05"
        )
    if acquired_as_is or not derived_from:
        return Decision(
            False,
            _("%s is a specimen as collected: specimens may not leave Taiwan") % code,
            "HB-05",
        )
    return Decision(
        True,
        _("%(code)s is derived from %(sources)s")
        % {"code": code, "sources": ", ".join(sorted(derived_from))},
        "HB-05",
    )


@implements("HB-05")
def export_requested_types(
    *,
    country: str,
    material_types: Sequence[tuple[str, str]],
    export_list: frozenset[str],
) -> Decision:
    """A request for material abroad asks only for derivatives on the export list (HB-05):
    ``material_types`` are (code, category) pairs; only human material is covered."""
    if not is_abroad(country):
        return Decision(True, _("the destination is in Taiwan"), "HB-05", DESTINATION)
    refused = sorted(
        {code for code, category in material_types if category == "human"} - export_list
    )
    if refused:
        return Decision(
            False,
            _("specimens may not leave Taiwan: %s not on the export list of derivatives")
            % ", ".join(refused),
            "HB-05",
            DESTINATION,
        )
    return Decision(True, _("only derivatives on the export list"), "HB-05", DESTINATION)


@implements("HB-05")
def mta_states_export(terms: str) -> Decision:
    """Going abroad, the export approval is written into the contract (HB-05)."""
    if "export" in terms.lower() or "出口" in terms:
        return Decision(True, _("the MTA states the export approval"), "HB-05")
    return Decision(
        False, _("Material or data going abroad: the MTA states the export approval."), "HB-05"
    )


@implements("HB-05")
def data_destination_allows(*, country: str, export_approved: bool) -> Decision:
    """Data go abroad only with the central authority's approval (HB-05)."""
    if not is_abroad(country) or export_approved:
        return Decision(True, _("data may go to this destination"), "HB-05", DESTINATION)
    return Decision(
        False, _("data go abroad only with the central authority's approval"), "HB-05", DESTINATION
    )


@implements("HB-03", "HB-04", "HR-04", "HB-05", "BB-02")
def specimen_eligibility(
    specimen: SpecimenFacts,
    request: RequestFacts,
    consents: Sequence[consent_rules.ConsentTerms] = (),
    *,
    tree: consent_rules.DuoTree | None = None,
) -> Decision:
    """Whether one specimen may go to the request, and if not, the first reason why. The
    export list the destination check reads travels with the request's facts (HB-05)."""
    if specimen.consent_withdrawn or specimen.participant_withdrawn:
        return Decision(False, _("the participant withdrew consent"), "HB-03", WITHDRAWN)
    if specimen.on_hold:
        return Decision(False, _("the specimen is on hold"), "BB-02", ON_HOLD)
    if specimen.status == "reserved":
        return Decision(False, _("the specimen is reserved"), "BB-02", RESERVED)
    if specimen.status in {"depleted", "destroyed", "distributed", "missing"}:
        return Decision(False, _("the specimen is depleted or gone"), "BB-02", GONE)
    if specimen.status != "available":
        return Decision(False, _("the specimen is not available yet"), "BB-02", UNAVAILABLE)
    if specimen.remaining <= 0:
        return Decision(False, _("the specimen is depleted or gone"), "BB-02", GONE)
    if request.quantity is not None and specimen.remaining < request.quantity:
        return Decision(False, _("not enough quantity remains"), "BB-04", QUANTITY)
    if specimen.human_participant and not specimen.delinked:
        consent = consent_permits_any(
            consents,
            request.proposed_use(participant_deceased=specimen.participant_deceased),
            tree=tree,
        )
        if not consent:
            return Decision(False, consent.reason, consent.rule, CONSENT)
    irb = irb_approval_valid(request.irb_valid_from, request.irb_valid_until, request.on)
    if not irb:
        return irb
    destination = destination_allows(
        country=request.country,
        category=specimen.category,
        material_type=specimen.material_type,
        export_approved=request.export_approved,
        export_list=request.export_list,
    )
    if not destination:
        return destination
    return Decision(True, _("eligible"), "HB-04")


@implements("HB-04", "HR-04")
def consent_permits_any(
    consents: Sequence[consent_rules.ConsentTerms],
    use: consent_rules.ProposedUse,
    *,
    tree: consent_rules.DuoTree | None = None,
) -> Decision:
    """Whether any current consent of the participant permits the use (HB-04); a consent past
    its period no longer does (HR-04)."""
    if not consents:
        return Decision(False, _("no consent on record"), "HB-02", CONSENT)
    decisions = [consent_rules.consent_permits(c, use, tree=tree) for c in consents]
    for decision in decisions:
        if decision:
            return Decision(True, decision.reason, decision.rule, CONSENT)
    first = decisions[0]
    return Decision(False, first.reason, first.rule, CONSENT)


def reason_label(key: str) -> str:
    labels = {
        WITHDRAWN: _("the participant withdrew consent"),
        ON_HOLD: _("on hold"),
        RESERVED: _("reserved for another request"),
        GONE: _("depleted or gone"),
        UNAVAILABLE: _("not available yet"),
        QUANTITY: _("not enough quantity remains"),
        CONSENT: _("consent does not permit this use"),
        IRB: _("the IRB approval is not valid on the distribution date"),
        DESTINATION: _("the destination is not allowed"),
    }
    return labels.get(key, key)


@dataclass(frozen=True)
class Summary:
    eligible: int
    excluded: int
    by_reason: tuple[tuple[str, str, int, tuple[str, ...]], ...]  # key, rule, count, reasons


def summarise(decisions: Iterable[Decision]) -> Summary:
    """Count eligible and excluded, and group the exclusions by reason (largest first)."""
    return summarise_counts((decision, 1) for decision in decisions)


def summarise_counts(weighted: Iterable[tuple[Decision, int]]) -> Summary:
    """As ``summarise``, for decisions that each stand for a number of specimens."""
    eligible = 0
    groups: dict[tuple[str, str], tuple[int, set[str]]] = {}
    for decision, count in weighted:
        if not count:
            continue
        if decision:
            eligible += count
        else:
            total, reasons = groups.get((decision.key, decision.rule), (0, set()))
            groups[(decision.key, decision.rule)] = (total + count, reasons | {decision.reason})
    by_reason = tuple(
        (key, rule, total, tuple(sorted(reasons)))
        for (key, rule), (total, reasons) in sorted(
            groups.items(), key=lambda kv: (-kv[1][0], kv[0])
        )
    )
    return Summary(eligible, sum(total for total, _r in groups.values()), by_reason)


# Approvals before fulfilment (HB-04, HB-05) --------------------------------------------------

ETHICS_COMMITTEE = "ethics_committee"
CENTRAL_AUTHORITY = "central_authority"
EXPORT = "export"


def required_approvals(*, wants_data: bool, abroad: bool) -> tuple[str, ...]:
    """The biobank's ethics committee always; the central review when data are used (HB-04,
    §5); the central authority's export approval when anything goes abroad (HB-05)."""
    needed = [ETHICS_COMMITTEE]
    if wants_data:
        needed.append(CENTRAL_AUTHORITY)
    if abroad:
        needed.append(EXPORT)
    return tuple(needed)


@implements("HB-04", "HB-05")
def approvals_complete(
    *, wants_data: bool, abroad: bool, approved: Iterable[str], mta_signed: bool
) -> Decision:
    """A request is fulfilled only once its approvals and the signed MTA are in place."""
    have = set(approved)
    names = {
        ETHICS_COMMITTEE: _("the biobank's ethics committee approval"),
        CENTRAL_AUTHORITY: _("the central review"),
        EXPORT: _("the central authority's export approval"),
    }
    missing = [b for b in required_approvals(wants_data=wants_data, abroad=abroad) if b not in have]
    if missing:
        rule = "HB-05" if missing == [EXPORT] else "HB-04"
        return Decision(
            False,
            _("missing: %s") % ", ".join(str(names[b]) for b in missing),
            rule,
        )
    if not mta_signed:
        return Decision(False, _("the material transfer agreement is not signed"), "HB-04")
    return Decision(True, _("approvals and MTA in place"), "HB-04")


# Packaging and temperature (BS-02) -----------------------------------------------------------

AMBIENT = "ambient"
COLD_CHAIN = "cold_chain"
DRY_ICE = "dry_ice"
LN2_DRY_SHIPPER = "ln2_dry_shipper"
DRY_ICE_UN = "UN1845"  # carbon dioxide, solid, class 9, marked with the net mass


@implements("BS-02")
def shipment_packaging(
    *,
    any_infectious: bool,
    risk_group: int | None,
    category_a_pathogen: bool = False,
    affects_humans: bool = True,
) -> biosafety_rules.Packaging:
    """Packaging class by risk group and category (BS-02): material not known to be infectious
    travels as an exempt specimen; infectious material by its risk group (UN3373, P650) or as
    category A (UN2814 / UN2900, P620)."""
    if not any_infectious:
        return biosafety_rules.packaging_class(1, category_a_pathogen=False, exempt=True)
    if risk_group is None:
        raise ValueError(_("infectious material needs its risk group to be packed"))
    return biosafety_rules.packaging_class(
        risk_group,
        category_a_pathogen=category_a_pathogen,
        exempt=False,
        affects_humans=affects_humans,
    )


REGISTER = "register"
FORM = "form"


@dataclass(frozen=True)
class RecordedAgent:
    """An infectious-material record of the biosafety register on a specimen in the shipment."""

    barcode: str
    agent: str
    risk_group: int


@dataclass(frozen=True)
class RiskGroupChoice:
    risk_group: int | None
    source: str  # REGISTER, FORM or "" (none)
    reason: str
    rule: str = "BS-02"


@implements("BS-02")
def shipment_risk_group(recorded: Sequence[RecordedAgent], entered: int | None) -> RiskGroupChoice:
    """The risk group that chooses the packaging (BS-02): the highest among the register's
    infectious-material records on the shipment's specimens; only when none is recorded, the
    value entered on the shipment."""
    if recorded:
        highest = max(r.risk_group for r in recorded)
        agents = ", ".join(sorted({f"{r.agent} (RG{r.risk_group}, {r.barcode})" for r in recorded}))
        reason = _("risk group %(rg)d from the biosafety register: %(agents)s") % {
            "rg": highest,
            "agents": agents,
        }
        if entered is not None and entered != highest:
            reason += "; " + _("the risk group entered (%d) is not used") % entered
        return RiskGroupChoice(highest, REGISTER, reason)
    if entered is not None:
        return RiskGroupChoice(
            entered, FORM, _("risk group %d as entered: nothing in the register") % entered
        )
    return RiskGroupChoice(None, "", _("no risk group in the register or entered"))


@implements("BS-02")
def temperature_valid(mode: str, dry_ice_kg: Decimal | None) -> Decision:
    """Dry ice is declared with its net mass (UN1845); other modes carry none."""
    if mode not in {AMBIENT, COLD_CHAIN, DRY_ICE, LN2_DRY_SHIPPER}:
        return Decision(False, _("unknown temperature mode %s") % mode, "BS-02")
    if mode == DRY_ICE and (dry_ice_kg is None or dry_ice_kg <= 0):
        return Decision(False, _("give the amount of dry ice in kg (UN1845)"), "BS-02")
    if mode != DRY_ICE and dry_ice_kg:
        return Decision(False, _("dry ice is declared only for a dry-ice shipment"), "BS-02")
    return Decision(True, _("temperature mode declared"), "BS-02")


# Receipt (BB-02) ----------------------------------------------------------------------------

COMPLETE = "complete"
PARTIAL = "partial"
DAMAGED = "damaged"
TEMPERATURE_BREACH = "temperature_breach"


@implements("BB-02")
def receipt_consistent(condition: str, *, received: int, damaged: int, missing: int) -> Decision:
    """The condition the recipient reports agrees with the items it names: a complete receipt
    has every item in good order, a partial one names what is missing, a damaged one names
    what arrived damaged; a temperature breach may concern any of them."""
    if condition == COMPLETE and (damaged or missing):
        return Decision(
            False, _("some items are missing or damaged: this is not a complete receipt"), "BB-02"
        )
    if condition == PARTIAL and not missing:
        return Decision(False, _("a partial receipt names the items missing"), "BB-02")
    if condition == DAMAGED and not damaged:
        return Decision(False, _("a damaged receipt names the items damaged"), "BB-02")
    if received + damaged + missing == 0:
        return Decision(False, _("the shipment has no items"), "BB-02")
    return Decision(True, _("the receipt names each item's outcome"), "BB-02")


# Spill in transport (BS-14) ------------------------------------------------------------------


@implements("BS-14")
def spill_deadlines(*, infectious: bool, notified_at: datetime) -> list[biosafety_rules.Deadline]:
    """A spill or leak in transit: when the material is infectious, the unit notifies the
    committee at once and reports to the local and central authorities within 24 hours."""
    if not infectious:
        return []
    return biosafety_rules.spill_report_due(notified_at)


# Data release coding (HB-01, HB-04) ----------------------------------------------------------


@implements("HB-01")
def request_code(secret: bytes, request_key: str, participant_code: str) -> str:
    """A participant's code for one request: keyed, so codes differ between requests and no
    recipient can join two releases, and never the biobank's own participant code."""
    digest = hmac.new(
        secret, f"{request_key}\x1f{participant_code}".encode(), hashlib.sha256
    ).hexdigest()
    return f"{request_key}-{digest[:10].upper()}"


@implements("HB-01", "HB-04")
def release_fields_allowed(requested: Iterable[str], approved: Iterable[str]) -> Decision:
    """A data release holds only the fields the approval covers, and never identity."""
    wanted, allowed = set(requested), set(approved)
    identity = wanted & IDENTITY_FIELDS
    if identity:
        return Decision(
            False, _("identity is never released: %s") % ", ".join(sorted(identity)), "HB-01"
        )
    if wanted - allowed:
        return Decision(
            False, _("fields not approved: %s") % ", ".join(sorted(wanted - allowed)), "HB-04"
        )
    return Decision(True, _("only approved, coded fields"), "HB-04")


@implements("HB-01", "HB-04")
def code_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    fields: Sequence[str],
    secret: bytes,
    request_key: str,
    participant_key: str = "participant",
) -> list[dict[str, Any]]:
    """Rows as released: the participant code replaced by the request-specific code, only the
    approved ``fields`` kept, in their order."""
    coded = []
    for row in rows:
        participant = str(row.get(participant_key) or "")
        out: dict[str, Any] = {
            "code": request_code(secret, request_key, participant) if participant else ""
        }
        for name in fields:
            if name in IDENTITY_FIELDS or name == participant_key:
                continue
            out[name] = row.get(name, "")
        coded.append(out)
    return coded
