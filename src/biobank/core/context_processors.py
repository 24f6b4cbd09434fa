"""What every page's layout needs: the navigation the user may see."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from biobank.core.import_jobs import may_import_anywhere
from biobank.core.tenancy import has_permission_anywhere


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated:
        return {"nav_items": []}
    items = [
        (reverse("core:dashboard"), _("Dashboard")),
        (reverse("core:obligation-list"), _("Obligations")),
        (reverse("core:organization-list"), _("Organizations")),
    ]
    if has_permission_anywhere(user, "participant.view"):
        items.append((reverse("participants:participant-list"), _("Participants")))
    if has_permission_anywhere(user, "specimen.view"):
        items.append((reverse("specimens:specimen-search"), _("Specimens")))
        items.append((reverse("specimens:collection-list"), _("Collections")))
    if has_permission_anywhere(user, "irb.view"):
        items.append((reverse("ethics:irb-list"), _("Ethics committees")))
    if has_permission_anywhere(user, "storage.view"):
        items.append((reverse("storage:unit-roots"), _("Storage")))
    if has_permission_anywhere(user, "distribution.view") or has_permission_anywhere(
        user, "distribution.request"
    ):
        items.append((reverse("distribution:request-list"), _("Distribution")))
    if has_permission_anywhere(user, "biosafety.view"):
        items.append((reverse("biosafety:home"), _("Biosafety")))
    if may_import_anywhere(user):
        items.append((reverse("core:import-list"), _("Imports")))
    items += [
        (reverse("core:rule-list"), _("Rules")),
    ]
    if has_permission_anywhere(user, "audit.view"):
        items.append((reverse("core:audit-search"), _("Audit trail")))
    items.append((reverse("core:calendar"), _("Calendar")))
    items.append((reverse("api:openapi-view"), _("API")))
    current = request.path
    return {
        "nav_items": [
            {
                "url": url,
                "label": label,
                "active": current == url or (url != "/" and current.startswith(url)),
            }
            for url, label in items
        ]
    }
