"""What distribution tells the participants app (HB-03): who received a participant's material
or data, so a withdrawal opens an obligation to tell each of them; and reservations released at
once when a participant withdraws, so their material never reaches a pick list."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from biobank.core.audit import snapshot
from biobank.core.models import User
from biobank.distribution.models import DataRelease, DistributionRequest, RequestItem
from biobank.distribution.services.common import _audit_item, _specimen_status, _tell_staff
from biobank.participants.models import Participant
from biobank.participants.rules import Recipient
from biobank.specimens.models import Specimen

SENT = [
    RequestItem.State.SHIPPED,
    RequestItem.State.RECEIVED,
    RequestItem.State.RETURNED,
    RequestItem.State.DESTROYED,
]


def recipients_of(participant: Participant) -> list[Recipient]:
    """Every request whose recipient got the participant's material or data (HB-03)."""
    requests = (
        DistributionRequest.objects.filter(
            Q(items__specimen__participant=participant, items__state__in=SENT)
            | Q(pk__in=DataRelease.objects.filter(participants=participant).values("request_id"))
        )
        .distinct()
        .order_by("code")
    )
    return [
        Recipient(
            key=request.recipient_key,
            description=_("%(institution)s (request %(code)s)")
            % {"institution": request.destination_institution, "code": request.code},
        )
        for request in requests
    ]


def release_reservations(participant: Participant, actor: User | None) -> None:
    """A withdrawal releases the participant's reserved and retrieved items at once (HB-03).

    Each item released and each specimen set free gets its own audit event, naming the request
    and the withdrawal, and the people fulfilling each request are told that its pick list
    changed. The events are by the person who recorded the withdrawal, in its transaction."""
    reason = f"participant {participant.code} withdrew consent (HB-03)"
    items = list(
        RequestItem.objects.select_for_update(of=("self",))
        .filter(
            specimen__participant=participant,
            state__in=[RequestItem.State.RESERVED, RequestItem.State.RETRIEVED],
        )
        .select_related("request__organization", "request__requester")
        .order_by("pk")
    )
    released: dict[int, tuple[DistributionRequest, list[str]]] = {}
    for item in items:
        request = item.request
        freed = (
            Specimen.objects.select_for_update(of=("self",))
            .filter(
                pk__in={item.specimen_id, item.shipped_id or item.specimen_id},
                status=Specimen.Status.RESERVED,
            )
            .select_related("organization")
            .order_by("pk")
        )
        barcodes = released.setdefault(request.pk, (request, []))[1]
        for specimen in freed:
            _specimen_status(
                actor,
                specimen,
                Specimen.Status.AVAILABLE,
                f"{reason}: reservation for {request.code} released",
            )
            barcodes.append(specimen.barcode)
        before = snapshot(item)
        item.state = RequestItem.State.RELEASED
        item.save(update_fields=["state", "updated_at"])
        _audit_item(actor, request, item, before, reason=reason)
    for request, barcodes in released.values():
        _tell_staff(
            request, "distribution.fulfil", "withdrawal_released", barcodes=sorted(barcodes)
        )
