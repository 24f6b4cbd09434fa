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
