"""The permission table in roles.py: complete, well-formed, and read-only for auditors."""

from __future__ import annotations

import pytest

from biobank.core.roles import PERMISSIONS, ROLE_ABBREVIATIONS, Role, _parse, role_has


def test_every_role_has_a_column():
    assert set(ROLE_ABBREVIATIONS.values()) == set(Role)


def test_every_role_can_view_its_organization():
    assert PERMISSIONS["organization.view"] == frozenset(Role)


def test_auditor_holds_only_read_permissions():
    writes = [
        name
        for name, roles in PERMISSIONS.items()
        if Role.AUDITOR in roles and not name.endswith((".view", ".export", ".create_own"))
    ]
    assert writes == []


def test_only_managers_and_platform_admins_manage_members():
    assert PERMISSIONS["membership.manage"] == {Role.BIOBANK_MANAGER, Role.PLATFORM_ADMIN}


def test_unknown_permission_is_a_programming_error():
    with pytest.raises(KeyError, match="unknown permission"):
        role_has(Role.TECHNICIAN, "specimen.teleport")


def test_malformed_table_is_refused():
    with pytest.raises(ValueError, match="malformed"):
        _parse("permission BM TE QA BS IA IM RE AU PA\nx.view x x x\n")


def test_role_table_page_shows_the_matrix(cast, client):
    client.force_login(cast.technician)
    body = client.get("/roles/").content.decode()
    assert "membership.manage" in body
    assert body.count("✔") == sum(len(roles) for roles in PERMISSIONS.values())
