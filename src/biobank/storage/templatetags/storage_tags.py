"""The storage panel on a specimen's page: where it is, time out of storage, check-out/in."""

from __future__ import annotations

from typing import Any

from django import template

from biobank.core.tenancy import has_permission
from biobank.specimens.models import Specimen
from biobank.storage import services
from biobank.storage.models import CheckOut, Placement

register = template.Library()


@register.inclusion_tag("storage/_specimen_panel.html", takes_context=True)
def storage_panel(context: dict[str, Any], specimen: Specimen) -> dict[str, Any]:
    placement = Placement.objects.filter(specimen=specimen).select_related("unit").first()
    trail = [*services.ancestors(placement.unit), placement.unit] if placement else []
    user = context["request"].user
    return {
        "specimen": specimen,
        "placement": placement,
        "label": services.label_of(placement) if placement else "",
        "trail": trail,
        "checkout": CheckOut.objects.filter(specimen=specimen, returned_at__isnull=True).first(),
        "time_out": services.time_out_of_storage(specimen),
        "can_manage": has_permission(user, "specimen.manage", specimen.organization),
        "csrf_token": context.get("csrf_token"),
    }
