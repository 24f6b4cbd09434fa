"""Where each rule ID is enforced in code.

``@implements("TD-01")`` on a function records it, so the ``/rules/`` page can say where a rule
lives without anyone keeping a second list. Modules are registered when imported; the
``rules_page`` imports every app's ``rules`` module first.
"""

from __future__ import annotations

import importlib
import re
from collections import defaultdict
from collections.abc import Callable
from typing import TypeVar

from django.apps import apps

RULE_ID = re.compile(r"^[A-Z]{2}-\d{2}$")
F = TypeVar("F", bound=Callable[..., object])

_ENFORCED_BY: dict[str, set[str]] = defaultdict(set)


def implements(*rule_ids: str) -> Callable[[F], F]:
    """Mark a function as the code that enforces or computes ``rule_ids``."""
    for rule_id in rule_ids:
        if not RULE_ID.match(rule_id):
            raise ValueError(f"{rule_id!r} is not a rule ID like 'BS-09'")

    def mark(func: F) -> F:
        name = f"{func.__module__}.{getattr(func, '__qualname__', repr(func))}"
        for rule_id in rule_ids:
            _ENFORCED_BY[rule_id].add(name)
        return func

    return mark


def _import_rule_modules() -> None:
    for config in apps.get_app_configs():
        if not config.name.startswith("biobank."):
            continue
        for module in ("rules", "calendar", "services"):
            try:
                importlib.import_module(f"{config.name}.{module}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.{module}":
                    raise


def enforced_by() -> dict[str, list[str]]:
    """Rule ID → the functions that enforce it, sorted."""
    _import_rule_modules()
    return {rule_id: sorted(names) for rule_id, names in _ENFORCED_BY.items()}
