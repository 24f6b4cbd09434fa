"""Fulfilment: reserving eligible specimens and retrieving them, aliquoting on the way
(BB-02, BB-04, HB-03, HB-04).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from biobank.core.audit import snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import User
from biobank.core.tenancy import require_permission
from biobank.distribution.models import (
    DistributionRequest,
    RequestItem,
)
from biobank.distribution.services.common import (
    Status,
    _audit_item,
    _check,
    _locked,
    _move,
    _specimen_status,
    _tell_requester,
    _tell_staff,
    approvals_decision,
)
from biobank.distribution.services.selection import (
    candidates,
    eligibility,
    request_facts,
)
from biobank.specimens.models import Specimen
from biobank.specimens.services.specimens import specimen_aliquot

RESERVE_BATCH = 200


def _batches(pool: QuerySet[Specimen], size: int | None = None) -> Iterator[list[int]]:
    """The candidates' keys in barcode order, a batch at a time (keyset paging), so that
    reserving never loads every candidate."""
    size = size or RESERVE_BATCH
    ordered = pool.select_related(None).order_by("barcode", "pk")
    after: tuple[str, int] | None = None
    while True:
        page = ordered
        if after is not None:
            page = ordered.filter(Q(barcode__gt=after[0]) | Q(barcode=after[0], pk__gt=after[1]))
        rows = list(page.values_list("barcode", "pk")[:size])
        if not rows:
            return
        after = rows[-1]
        yield [pk for _barcode, pk in rows]


def _lock(pks: list[int]) -> list[Specimen]:
    """The specimens locked for update (in key order, as everywhere), returned in barcode
    order, with what eligibility reads."""
    locked = (
        Specimen.objects.select_for_update(of=("self",))
        .filter(pk__in=pks)
        .select_related("participant", "material_type__maps_to", "organization")
        .order_by("pk")
    )
    return sorted(locked, key=lambda s: (s.barcode, s.pk))


@transaction.atomic
def request_reserve(
    *,
    actor: User | None,
    request: DistributionRequest,
    barcodes: Sequence[str] = (),
    limit: int | None = None,
) -> list[RequestItem]:
    """Reserve eligible specimens for the request: the given barcodes, or the eligible ones up
    to the number of participants wanted (one specimen per participant). Approvals and the MTA
    come first (HB-04, HB-05); every specimen is judged again under lock (HB-03)."""
    require_permission(actor, "distribution.fulfil", request.organization)
    request = _locked(request)
    if request.status not in {Status.APPROVED, Status.FULFILLING}:
        raise ApplicationError(_("Only an approved request is fulfilled."), rule="HB-04")
    _check(approvals_decision(request))
    facts = request_facts(request)
    pool = candidates(request)
    chosen: list[Specimen] = []
    if barcodes:
        wanted = {b.strip() for b in barcodes if b.strip()}
        found = list(pool.filter(barcode__in=wanted).values_list("pk", "barcode"))
        missing = wanted - {barcode for _pk, barcode in found}
        if missing:
            raise ApplicationError(
                _("Not candidates for this request: %s") % ", ".join(sorted(missing))
            )
        result = eligibility(request, specimens=_lock([pk for pk, _b in found]), facts=facts)
        refused = [(s, d) for s, d in result.decisions if not d]
        if refused:
            specimen, decision = refused[0]
            raise ApplicationError(f"{specimen.barcode}: {decision.reason}", rule=decision.rule)
        chosen = result.eligible[:limit] if limit else result.eligible
    else:
        seen: set[int | None] = set(
            request.items.exclude(state=RequestItem.State.RELEASED).values_list(
                "specimen__participant_id", flat=True
            )
        )
        cap = limit or request.participants_wanted or None
        for batch in _batches(pool):
            result = eligibility(request, specimens=_lock(batch), facts=facts)
            for specimen in result.eligible:
                if specimen.participant_id is not None:
                    if specimen.participant_id in seen:
                        continue
                    seen.add(specimen.participant_id)
                chosen.append(specimen)
                if cap is not None and len(chosen) >= cap:
                    break
            if cap is not None and len(chosen) >= cap:
                break
    if not chosen:
        raise ApplicationError(_("No eligible specimen to reserve."), rule="HB-04")
    items = []
    for specimen in chosen:
        _specimen_status(
            actor, specimen, Specimen.Status.RESERVED, reason=f"reserved for {request.code}"
        )
        item = RequestItem.objects.create(
            request=request,
            specimen=specimen,
            quantity=request.quantity_per_specimen or specimen.remaining,
            unit=request.unit or specimen.unit,
        )
        _audit_item(actor, request, item, None, reason=f"reserved for {request.code}")
        items.append(item)
    if request.status == Status.APPROVED:
        _move(actor, request, Status.FULFILLING)
    _tell_staff(request, "distribution.fulfil", "reserved", items=items)
    _tell_requester(request, "reserved_requester", count=len(items))
    return items


@transaction.atomic
def item_retrieve(*, actor: User | None, item: RequestItem) -> RequestItem:
    """Take a reserved specimen out for the request; where the request asks for part of it,
    an aliquot of the requested quantity is made on the way (BB-04) and that is what ships."""
    request = item.request
    require_permission(actor, "distribution.fulfil", request.organization)
    item = RequestItem.objects.select_for_update().select_related("request").get(pk=item.pk)
    if item.state != RequestItem.State.RESERVED:
        raise ApplicationError(_("Only a reserved item is retrieved."))
    specimen = (
        Specimen.objects.select_for_update().select_related("organization").get(pk=item.specimen_id)
    )
    if specimen.consent_withdrawn:
        raise ApplicationError(_("the participant withdrew consent"), rule="HB-03")
    before = snapshot(item)
    if item.quantity < specimen.remaining:
        _specimen_status(actor, specimen, Specimen.Status.AVAILABLE, f"aliquot for {request.code}")
        child = specimen_aliquot(
            actor=actor, parent=specimen, count=1, quantity_each=item.quantity
        )[0]
        _specimen_status(actor, child, Specimen.Status.RESERVED, f"reserved for {request.code}")
        item.shipped = child
    else:
        item.shipped = specimen
    item.state = RequestItem.State.RETRIEVED
    item.save(update_fields=["shipped", "state", "updated_at"])
    _audit_item(actor, request, item, before, reason="retrieved")
    return item
