"""Roles and what each may do: the one place permissions are defined.

Read the table across: one row per permission, one column per role, ``x`` where the role has it.
Tests parse the same table, and ``/roles/`` shows it to users.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    BIOBANK_MANAGER = "biobank_manager", _("Biobank manager")
    TECHNICIAN = "technician", _("Technician")
    QA_OFFICER = "qa_officer", _("QA officer")
    BIOSAFETY_OFFICER = "biosafety_officer", _("Biosafety officer")
    IRB_ADMIN = "irb_admin", _("IRB administrator")
    IRB_MEMBER = "irb_member", _("IRB member")
    RESEARCHER = "researcher", _("Researcher")
    AUDITOR = "auditor", _("Auditor (read-only)")
    PLATFORM_ADMIN = "platform_admin", _("Platform administrator")


# Column order of the table below.
_COLUMNS = (
    Role.BIOBANK_MANAGER,
    Role.TECHNICIAN,
    Role.QA_OFFICER,
    Role.BIOSAFETY_OFFICER,
    Role.IRB_ADMIN,
    Role.IRB_MEMBER,
    Role.RESEARCHER,
    Role.AUDITOR,
    Role.PLATFORM_ADMIN,
)

# fmt: off
PERMISSION_TABLE = """
permission              BM TE QA BS IA IM RE AU PA
organization.view       x  x  x  x  x  x  x  x  x
organization.manage     x  .  .  .  .  .  .  .  x
organization.register   .  .  .  .  .  .  .  .  x
site.manage             x  .  .  x  .  .  .  .  x
membership.manage       x  .  .  .  .  .  .  .  x
audit.view              x  .  x  x  x  .  .  x  x
audit.export            x  .  x  .  .  .  .  x  x
obligation.view         x  x  x  x  x  x  .  x  x
obligation.close        x  .  x  x  x  .  .  .  .
calendar.manage         x  .  x  .  x  .  .  .  x
token.create_own        x  x  x  x  x  x  x  x  x
participant.view        x  x  x  .  .  .  .  x  .
participant.manage      x  x  .  .  .  .  .  .  .
participant.delink      x  .  .  .  .  .  .  .  .
consent_form.manage     x  .  .  .  x  .  .  .  .
consent.record          x  x  .  .  .  .  .  .  .
consent.withdraw        x  x  .  .  .  .  .  .  .
identity.request        x  x  x  .  .  .  .  .  .
identity.approve        x  .  .  .  .  .  .  .  .
specimen.view           x  x  x  x  .  .  .  x  .
specimen.manage         x  x  .  .  .  .  .  .  .
specimen.destroy        x  .  .  x  .  .  .  .  .
collection.manage       x  .  .  .  .  .  .  .  .
storage.view            x  x  x  x  .  .  .  x  .
storage.manage          x  x  .  .  .  .  .  .  .
storage.grant           x  .  .  x  .  .  .  .  .
irb.view                x  .  x  .  x  x  .  x  .
irb.manage              .  .  .  .  x  .  .  .  .
irb.review              .  .  .  .  x  x  .  .  .
irb_audit.view          .  .  .  .  x  x  .  x  x
irb_audit.manage        .  .  .  .  x  .  .  .  x
irb_audit.rate          .  .  .  .  x  x  .  .  .
distribution.view       x  x  x  x  x  .  .  x  .
distribution.request    x  .  .  .  .  .  x  .  .
distribution.review     x  .  .  .  x  .  .  .  .
distribution.fulfil     x  x  .  .  .  .  .  .  .
biosafety.view          x  x  x  x  .  .  .  x  .
biosafety.manage        x  .  .  x  .  .  .  .  .
biosafety.inspect       x  x  .  x  .  .  .  .  .
"""
# fmt: on


def _parse(table: str) -> dict[str, frozenset[Role]]:
    lines = [line.split() for line in table.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    if len(header) != len(_COLUMNS) + 1:
        raise ValueError("permission table header does not match the role columns")
    parsed: dict[str, frozenset[Role]] = {}
    for row in rows:
        name, marks = row[0], row[1:]
        if len(marks) != len(_COLUMNS) or set(marks) - {"x", "."}:
            raise ValueError(f"permission table row {name!r} is malformed")
        parsed[name] = frozenset(
            role for role, mark in zip(_COLUMNS, marks, strict=True) if mark == "x"
        )
    return parsed


PERMISSIONS: dict[str, frozenset[Role]] = _parse(PERMISSION_TABLE)
ROLE_ABBREVIATIONS: dict[str, Role] = dict(
    zip(PERMISSION_TABLE.strip().splitlines()[0].split()[1:], _COLUMNS, strict=True)
)


def role_has(role: str, permission: str) -> bool:
    """Whether ``role`` carries ``permission``; an unknown permission is a programming error."""
    try:
        allowed = PERMISSIONS[permission]
    except KeyError:
        raise KeyError(f"unknown permission {permission!r}; add it to PERMISSION_TABLE") from None
    return role in allowed


def roles_with(permission: str) -> frozenset[Role]:
    return PERMISSIONS[permission]
