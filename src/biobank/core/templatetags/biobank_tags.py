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
