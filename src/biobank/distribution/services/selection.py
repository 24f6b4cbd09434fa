"""Candidate selection and eligibility of specimens for a request (HB-03, HB-04, HB-05,
HR-04).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from biobank.distribution import rules
from biobank.distribution.models import (
    Approval,
    DistributionRequest,
    RequestItem,
)
from biobank.distribution.services.common import (
    _approved_bodies,
)
from biobank.distribution.services.export_list import export_list_codes
from biobank.participants import services as participant_services
from biobank.participants.models import Consent, Participant
from biobank.specimens.models import DataValue, Specimen


def request_facts(request: DistributionRequest, on: date | None = None) -> rules.RequestFacts:
    return rules.RequestFacts(
        purposes=frozenset(t.pk for t in request.purposes.all()),
        on=on or request.planned_on or timezone.localdate(),
        quantity=request.quantity_per_specimen,
        irb_valid_from=request.irb_valid_from,
        irb_valid_until=request.irb_valid_until,
        country=request.destination_country,
        diseases=frozenset(request.diseases),
        commercial=request.commercial,
        nhi_linkage=request.nhi_linkage,
        genetic_study=request.genetic_study,
        irb_approved=True,
        export_approved=Approval.Body.EXPORT in _approved_bodies(request),
        export_list=export_list_codes(request.organization) if request.abroad else frozenset(),
    )


def specimen_facts(specimen: Specimen) -> rules.SpecimenFacts:
    participant = specimen.participant
    return rules.SpecimenFacts(
        status=specimen.status,
        remaining=specimen.remaining,
        category=specimen.category_id,
        material_type=(specimen.material_type.maps_to or specimen.material_type).code,
        consent_withdrawn=specimen.consent_withdrawn,
        on_hold=specimen.on_hold,
        delinked=specimen.delinked,
        human_participant=participant is not None,
        participant_withdrawn=participant is not None
        and participant.status == Participant.Status.WITHDRAWN,
        participant_deceased=participant is not None
        and participant.status == Participant.Status.DECEASED,
    )


def candidates(request: DistributionRequest) -> QuerySet[Specimen]:
    """Specimens of the organization that match the request's criteria (not yet judged), in
    barcode order. A query, not a list: callers count, page or walk it in batches."""
    specimens = Specimen.objects.filter(organization=request.organization).exclude(
        status__in=[Specimen.Status.EXPECTED, Specimen.Status.DESTROYED]
    )
    types = list(request.material_types.all())
    if types:
        specimens = specimens.filter(
            Q(material_type__in=types) | Q(material_type__maps_to__in=types)
        )
    if request.collection_id:
        specimens = specimens.filter(collection_id=request.collection_id)
    if request.diagnosis:
        with_diagnosis = DataValue.objects.filter(
            field__key="diagnosis", value__istartswith=request.diagnosis
        )
        specimens = specimens.filter(
            Q(participant__in=with_diagnosis.values("participant"))
            | Q(pk__in=with_diagnosis.values("specimen"))
        )
    specimens = specimens.exclude(
        pk__in=request.items.exclude(state=RequestItem.State.RELEASED).values("specimen")
    )
    return specimens.select_related("participant", "material_type__maps_to").order_by("barcode")


@dataclass
class Eligibility:
    decisions: list[tuple[Specimen, rules.Decision]]
    summary: rules.Summary

    @property
    def eligible(self) -> list[Specimen]:
        return [s for s, d in self.decisions if d]


def _consents_by_participant(
    participant_ids: set[int],
) -> dict[int, list[Any]]:
    consents = (
        Consent.objects.filter(
            participant_id__in=participant_ids,
            state__in=[Consent.State.ACTIVE, Consent.State.NARROWED],
        )
        .select_related("form")
        .prefetch_related("permissions", "modifiers")
    )
    grouped: dict[int, list[Any]] = {}
    for consent in consents:
        grouped.setdefault(consent.participant_id, []).append(
            participant_services.consent_terms(consent)
        )
    return grouped


def eligibility(
    request: DistributionRequest,
    *,
    on: date | None = None,
    specimens: Sequence[Specimen] | None = None,
    facts: rules.RequestFacts | None = None,
) -> Eligibility:
    """The given specimens (or, for a small pool, every candidate) with their decisions and
    the summary by reason (HB-03, HB-04, HB-05, HR-04). Pages use ``eligibility_summary`` and
    ``candidate_page``, which never load every candidate."""
    facts = facts or request_facts(request, on)
    pool = list(specimens) if specimens is not None else list(candidates(request))
    consents = _consents_by_participant({s.participant_id for s in pool if s.participant_id})
    decisions = [
        (
            specimen,
            rules.specimen_eligibility(
                specimen_facts(specimen), facts, consents.get(specimen.participant_id or 0, [])
            ),
        )
        for specimen in pool
    ]
    return Eligibility(decisions, rules.summarise(d for _s, d in decisions))


CONSENT_BATCH = 500


def eligibility_summary(request: DistributionRequest, *, on: date | None = None) -> rules.Summary:
    """How many candidates match and how many are excluded, by reason, without loading them:
    the candidates are counted in groups of equal facts (status, flags, category, material
    type, enough quantity, participant state) and each group is judged once by the same rule
    as a single specimen (``rules.specimen_eligibility``). Only specimens that reach the
    consent check are grouped by participant, and their consents are read in batches."""
    facts = request_facts(request, on)
    quantity = facts.quantity
    reaches_consent = Q(
        consent_withdrawn=False,
        on_hold=False,
        status=Specimen.Status.AVAILABLE,
        remaining__gt=0,
        delinked=False,
        participant__isnull=False,
    ) & ~Q(participant__status=Participant.Status.WITHDRAWN)
    if quantity is not None:
        reaches_consent &= Q(remaining__gte=quantity)
    rows = (
        candidates(request)
        .select_related(None)
        .order_by()
        .annotate(
            type_code=Coalesce("material_type__maps_to__code", "material_type__code"),
            positive=Case(When(remaining__gt=0, then=True), default=False),
            enough=(
                Case(When(remaining__gte=quantity, then=True), default=False)
                if quantity is not None
                else Value(True)
            ),
            human=Case(When(participant__isnull=False, then=True), default=False),
            participant_state=Coalesce("participant__status", Value("")),
            judged_participant=Case(
                When(reaches_consent, then=F("participant_id")),
                default=None,
                output_field=IntegerField(),
            ),
        )
        .values(
            "status",
            "consent_withdrawn",
            "on_hold",
            "delinked",
            "category_id",
            "type_code",
            "positive",
            "enough",
            "human",
            "participant_state",
            "judged_participant",
        )
        .annotate(n=Count("pk"))
        .order_by("judged_participant")
    )
    weighted: list[tuple[rules.Decision, int]] = []
    batch: list[dict[str, Any]] = []

    def judge(group: list[dict[str, Any]]) -> None:
        ids = {row["judged_participant"] for row in group if row["judged_participant"]}
        consents = _consents_by_participant(ids) if ids else {}
        for row in group:
            decision = rules.specimen_eligibility(
                _group_facts(row, quantity), facts, consents.get(row["judged_participant"], [])
            )
            weighted.append((decision, row["n"]))

    for row in rows.iterator(chunk_size=2000):
        batch.append(row)
        if len(batch) >= CONSENT_BATCH:
            judge(batch)
            batch = []
    judge(batch)
    return rules.summarise_counts(weighted)


def _group_facts(row: dict[str, Any], quantity: Decimal | None) -> rules.SpecimenFacts:
    """The facts of a group of equal specimens. The rule compares the quantity left with the
    quantity asked, so a representative amount stands for the group: none, less than asked,
    or enough."""
    wanted = quantity if quantity is not None else Decimal(1)
    if not row["positive"]:
        remaining = Decimal(0)
    elif row["enough"]:
        remaining = wanted
    else:
        remaining = wanted / 2
    return rules.SpecimenFacts(
        status=row["status"],
        remaining=remaining,
        category=row["category_id"],
        material_type=row["type_code"],
        consent_withdrawn=row["consent_withdrawn"],
        on_hold=row["on_hold"],
        delinked=row["delinked"],
        human_participant=row["human"],
        participant_withdrawn=row["participant_state"] == Participant.Status.WITHDRAWN,
        participant_deceased=row["participant_state"] == Participant.Status.DECEASED,
    )


@dataclass
class CandidatePage:
    page: Page[Specimen]
    decisions: list[tuple[Specimen, rules.Decision]]


def candidate_page(
    request: DistributionRequest, *, number: int | str | None = 1, size: int = 25
) -> CandidatePage:
    """One page of the candidates, in barcode order, each with its decision."""
    paginator = Paginator(candidates(request), size)
    page = paginator.get_page(number)
    return CandidatePage(page, eligibility(request, specimens=list(page.object_list)).decisions)
