"""Who may see and do what, from memberships and the permission table in ``roles.py``.

Every selector takes the acting user and narrows to the organizations the user belongs to;
every service checks a permission for the organization the record belongs to.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from biobank.core.errors import PermissionDenied
from biobank.core.models import Membership, Organization, User
from biobank.core.roles import PERMISSIONS, Role

AnyUser = User | AnonymousUser


def _active_memberships(user: AnyUser) -> QuerySet[Membership]:
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user=user, ended_at__isnull=True, organization__is_active=True)


def roles_of(user: AnyUser, organization: Organization) -> set[Role]:
    """The user's roles in one organization (memorised on the user object for the request)."""
    cache: dict[int, set[Role]] | None = getattr(user, "_biobank_roles", None)
    if cache is None:
        cache = {}
        for org_id, role in _active_memberships(user).values_list("organization_id", "role"):
            cache.setdefault(org_id, set()).add(Role(role))
        setattr(user, "_biobank_roles", cache)  # noqa: B010 (memo on the user object)
    return cache.get(organization.pk, set())


def forget_roles(user: AnyUser) -> None:
    if hasattr(user, "_biobank_roles"):
        delattr(user, "_biobank_roles")


def has_permission(user: AnyUser, permission: str, organization: Organization) -> bool:
    return bool(roles_of(user, organization) & PERMISSIONS[permission])


def require_permission(user: User | None, permission: str, organization: Organization) -> None:
    """Raise ``PermissionDenied`` unless ``user`` may do ``permission`` in ``organization``.

    ``user`` None is the system itself (management commands such as ``biobank demo``).
    """
    if user is None:
        return
    if not has_permission(user, permission, organization):
        raise PermissionDenied(
            _("You do not have the permission “%(permission)s” in %(organization)s.")
            % {"permission": permission, "organization": organization.code}
        )


def organizations_of(user: AnyUser) -> QuerySet[Organization]:
    """Organizations where the user has an active membership."""
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(pk__in=_active_memberships(user).values("organization_id"))


def organizations_with_permission(user: AnyUser, permission: str) -> QuerySet[Organization]:
    roles = PERMISSIONS[permission]
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(
        pk__in=_active_memberships(user).filter(role__in=roles).values("organization_id")
    )


def has_permission_anywhere(user: AnyUser, permission: str) -> bool:
    return organizations_with_permission(user, permission).exists()
