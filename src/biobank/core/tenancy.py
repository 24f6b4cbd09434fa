"""Who may see and do what, from memberships and the permission table in ``roles.py``.

Every selector takes the acting user and narrows to the organizations the user belongs to;
every service checks a permission for the organization the record belongs to.
"""

from __future__ import annotations

from collections.abc import Collection

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


def _memberships(user: AnyUser) -> dict[int, tuple[Organization, set[Role]]]:
    """The user's active memberships by organization id, with the organization, in one query
    memorised on the user object for the request (``forget_roles`` drops it when a membership
    changes)."""
    cache: dict[int, tuple[Organization, set[Role]]] | None = getattr(
        user, "_biobank_memberships", None
    )
    if cache is None:
        cache = {}
        # no ordering: the default one joins the user table only to sort
        memberships = _active_memberships(user).select_related("organization").order_by()
        for membership in memberships:
            organization = membership.organization
            cache.setdefault(organization.pk, (organization, set()))[1].add(Role(membership.role))
        setattr(user, "_biobank_memberships", cache)  # noqa: B010 (memo on the user object)
    return cache


def roles_of(user: AnyUser, organization: Organization) -> set[Role]:
    """The user's roles in one organization (memorised on the user object for the request)."""
    found = _memberships(user).get(organization.pk)
    return found[1] if found is not None else set()


def organization_of(user: AnyUser, code: str) -> Organization | None:
    """The organization of that code where the user has an active membership, from the same
    memo as the roles (``organization_get_for_user`` without a query of its own)."""
    return next(
        (organization for organization, _roles in _memberships(user).values()
         if organization.code == code),
        None,
    )  # fmt: skip


def forget_roles(user: AnyUser) -> None:
    if hasattr(user, "_biobank_memberships"):
        delattr(user, "_biobank_memberships")


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
    """Whether the user has ``permission`` in any organization (from the request's memo of
    memberships: the navigation asks this once per area on every page)."""
    return has_role_anywhere(user, PERMISSIONS[permission])


def has_role_anywhere(user: AnyUser, roles: Collection[Role]) -> bool:
    """Whether the user holds one of ``roles`` in any organization (from the memo)."""
    if not user.is_authenticated:
        return False
    wanted = set(roles)
    return any(held & wanted for _organization, held in _memberships(user).values())
