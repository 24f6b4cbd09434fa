from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    """``mapping|get_item:key`` for dictionaries in templates (None when absent)."""
    if isinstance(mapping, dict):
        return mapping.get(key)
    return None


@register.simple_tag
def field_label(object_type: str, name: str) -> str:
    """The translated verbose name of field ``name`` of model ``app.model``, else the name."""
    from django.apps import apps
    from django.core.exceptions import FieldDoesNotExist

    try:
        model = apps.get_model(object_type)
        field = model._meta.get_field(name)
    except (LookupError, ValueError, FieldDoesNotExist):
        return name
    label = getattr(field, "verbose_name", name)
    return str(label)


@register.filter
def qty(value: Any) -> str:
    """A quantity without trailing zeros: 7.5000 → 7.5, 10.0000 → 10."""
    from decimal import Decimal, InvalidOperation

    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value)).normalize()
    except InvalidOperation:
        return str(value)
    return format(number, "f")
