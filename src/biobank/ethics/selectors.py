"""Reads for IRBs, narrowed to the user's organizations."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet
from django.http import Http404

from biobank.core.tenancy import AnyUser, organizations_with_permission
from biobank.ethics.models import IRB


def irb_list_for_user(user: AnyUser) -> QuerySet[IRB]:
    return IRB.objects.filter(
        organization__in=organizations_with_permission(user, "irb.view")
    ).select_related("organization")


def irb_get_for_user(user: AnyUser, public_id: UUID | str) -> IRB:
    irb = irb_list_for_user(user).filter(public_id=public_id).prefetch_related("members").first()
    if irb is None:
        raise Http404("IRB not found")
    return irb
