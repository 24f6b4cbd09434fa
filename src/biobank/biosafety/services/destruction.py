"""Destruction of infectious material (BS-15 §13): confirmed by the committee or the
responsible person, recorded; the material destroyed leaves the inventory."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from biobank.biosafety.models import CommitteeDecision, Destruction, InfectiousMaterial
from biobank.biosafety.services.committees import active_committee, decision_basis
from biobank.biosafety.services.common import audit
from biobank.core.audit import snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, User
from biobank.core.rule_registry import implements
from biobank.core.tenancy import require_permission

if TYPE_CHECKING:
    from biobank.biosafety.models import Incident


@implements("BS-15", "BS-13", "HP-04")
@transaction.atomic
def destruction_record(
    *,
    actor: User | None,
    material: InfectiousMaterial,
    method: str,
    destroyed_on: date,
    reason: str,
    confirmed_on: date | None = None,
    committee_reference: str = "",
    quantity: Decimal | None = None,
    witness: str = "",
    incident: Incident | None = None,
    decision: CommitteeDecision | None = None,
) -> Destruction:
    """Record the destruction of ``quantity`` of ``material`` (all of it by default), which the
    committee (or responsible person) confirmed (BS-15): its day and reference, or its
    decision recorded at a meeting. What is destroyed leaves the
    inventory: the quantity falls, and at zero the material is destroyed. An incident may
    order it (BS-13). A controlled agent's record is kept 10 years (HP-04)."""
    organization = material.organization
    require_permission(actor, "biosafety.manage", organization)
    material = (
        InfectiousMaterial.objects.select_for_update()
        .select_related("organization", "agent")
        .get(pk=material.pk)
    )
    if material.status in (
        InfectiousMaterial.Status.DESTROYED,
        InfectiousMaterial.Status.TRANSFERRED,
    ):
        raise ApplicationError(_("The material is no longer held."), rule="BS-15")
    if method not in Destruction.Method.values:
        raise ApplicationError(_("Unknown destruction method %s.") % method)
    if not reason.strip():
        raise ApplicationError(_("Say why the material is destroyed."), rule="BS-15")
    if active_committee(organization, material.regime) is None:
        raise ApplicationError(
            _("Destruction is confirmed by the committee or responsible person: none serves."),
            rule="BS-15",
        )
    if decision is not None:
        confirmed_on, committee_reference = decision_basis(
            decision,
            decides=CommitteeDecision.Decides.DESTRUCTION,
            organization=organization,
            regime=material.regime,
            target=material,
        )
    if not committee_reference.strip() or confirmed_on is None:
        raise ApplicationError(
            _("Give the day and reference of the committee's confirmation."), rule="BS-15"
        )
    if confirmed_on > destroyed_on:
        raise ApplicationError(
            _("The committee confirms the destruction before it happens."), rule="BS-15"
        )
    amount = material.quantity if quantity is None else quantity
    if amount <= 0 or amount > material.quantity:
        raise ApplicationError(
            _("Destroy more than zero and at most the %(q)s %(u)s held.")
            % {"q": material.quantity.normalize(), "u": material.unit}
        )
    destruction = Destruction.objects.create(
        organization=organization,
        material=material,
        quantity=amount,
        unit=material.unit,
        method=method,
        destroyed_on=destroyed_on,
        reason=reason.strip()[:300],
        witness=witness.strip(),
        confirmed_on=confirmed_on,
        committee_reference=committee_reference.strip(),
        controlled=material.agent.controlled,
        incident=incident,
        recorded_by=actor if actor is not None and actor.pk else None,
    )
    audit(actor, organization, destruction, AuditEvent.Action.CREATE)
    before = snapshot(material)
    material.quantity -= amount
    if material.quantity == 0:
        material.status = InfectiousMaterial.Status.DESTROYED
    material.save()
    audit(
        actor,
        organization,
        material,
        AuditEvent.Action.TRANSITION,
        before,
        _("destroyed (%s)") % committee_reference.strip(),
    )
    return destruction
