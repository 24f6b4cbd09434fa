"""What distribution tells the participants app (HB-03): who received a participant's material
or data, so a withdrawal opens an obligation to tell each of them; and reservations released at
once when a participant withdraws, so their material never reaches a pick list."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from biobank.core.audit import audit_record
from biobank.core.models import AuditEvent
from biobank.distribution.models import DataRelease, DistributionRequest, RequestItem
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


def release_reservations(participant: Participant) -> None:
    """A withdrawal releases the participant's reserved and retrieved items at once (HB-03)."""
    items = RequestItem.objects.filter(
        specimen__participant=participant,
        state__in=[RequestItem.State.RESERVED, RequestItem.State.RETRIEVED],
    ).select_related("specimen", "request__organization")
    for item in items:
        item.state = RequestItem.State.RELEASED
        item.save(update_fields=["state", "updated_at"])
        Specimen.objects.filter(
            pk__in=[item.specimen_id, item.shipped_id or item.specimen_id],
            status=Specimen.Status.RESERVED,
        ).update(status=Specimen.Status.AVAILABLE)
        audit_record(
            actor=None,
            action=AuditEvent.Action.TRANSITION,
            organization=item.request.organization,
            instance=item,
            before={"state": "reserved"},
            after={"state": "released"},
            reason="participant withdrew consent (HB-03)",
        )
