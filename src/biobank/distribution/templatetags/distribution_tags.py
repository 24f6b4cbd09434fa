"""The navigation link to distribution, for users who may request or see requests."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from biobank.core.tenancy import has_permission_anywhere

register = template.Library()


@register.simple_tag(takes_context=True)
def distribution_nav_link(context: dict[str, Any]) -> SafeString | str:
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return ""
    if not (
        has_permission_anywhere(user, "distribution.view")
        or has_permission_anywhere(user, "distribution.request")
    ):
        return ""
    url = reverse("distribution:request-list")
    current = ' aria-current="page"' if request.path.startswith(url) else ""
    return format_html('<a href="{}"{}>{}</a>', url, SafeString(current), _("Distribution"))
