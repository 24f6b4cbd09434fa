"""Use cases of the core: organizations, sites, memberships, obligations, calendar, tokens.

Each function runs in one transaction, checks the actor's permission (``actor=None`` is the
system, used by management commands), writes, and records the audit event.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from biobank.core.audit import audit_record, changed_fields, object_label, snapshot
from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import (
    ApiToken,
    AuditEvent,
    CalendarOverride,
    Membership,
    Obligation,
    Organization,
    Site,
    User,
)
from biobank.core.roles import Role
from biobank.core.rule_registry import implements
from biobank.core.tenancy import forget_roles, has_permission_anywhere, require_permission

ORGANIZATION_FIELDS = {"name_zh", "name_en", "kind", "staff_count", "is_active"}
SITE_FIELDS = {
    "code",
    "name",
    "kind",
    "containment",
    "location",
    "person_in_charge",
    "manager_name",
    "phone",
    "emergency_contact",
    "emergency_measures",
    "access_controlled",
    "is_active",
}


def _validate(instance: models.Model, *, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        messages = "; ".join(
            f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items()
        )
        raise ApplicationError(messages) from exc


def _apply(instance: models.Model, fields: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ApplicationError(_("Unknown fields: %s") % ", ".join(sorted(unknown)))
    for name, value in fields.items():
        setattr(instance, name, value)


# Organizations -------------------------------------------------------------------------------


@transaction.atomic
def organization_create(
    *,
    actor: User | None,
    code: str,
    name_zh: str,
    kind: str,
    name_en: str = "",
    staff_count: int = 0,
) -> Organization:
    if actor is not None and not has_permission_anywhere(actor, "organization.register"):
        raise PermissionDenied(_("Only platform administrators may register organizations."))
    if Organization.objects.filter(code=code.strip().upper()).exists():
        raise ApplicationError(_("An organization with code %s already exists.") % code.upper())
    organization = Organization(
        code=code.strip().upper(),
        name_zh=name_zh,
        name_en=name_en,
        kind=kind,
        staff_count=staff_count,
    )
    _validate(organization)
    organization.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=organization,
        instance=organization,
        after=snapshot(organization),
    )
    if actor is not None:
        # the platform administrator who registers it can then add its first manager
        membership_add(actor=None, organization=organization, user=actor, role=Role.PLATFORM_ADMIN)
    return organization


@transaction.atomic
def organization_update(
    *, actor: User | None, organization: Organization, reason: str = "", **fields: Any
) -> Organization:
    require_permission(actor, "organization.manage", organization)
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    before = snapshot(organization)
    _apply(organization, fields, ORGANIZATION_FIELDS)
    _validate(organization)
    after = snapshot(organization)
    if changed_fields(before, after):
        organization.save()
        audit_record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            organization=organization,
            instance=organization,
            before=before,
            after=after,
            reason=reason,
        )
    return organization


# Sites ---------------------------------------------------------------------------------------


@implements("BS-07")
def _check_person_in_charge(site: Site) -> None:
    person = site.person_in_charge
    if (
        person is not None
        and not Membership.objects.filter(
            user=person, organization=site.organization, ended_at__isnull=True
        ).exists()
    ):
        raise ApplicationError(
            _("The person in charge must be a member of %(code)s.")
            % {"code": site.organization.code},
            rule="BS-07",
        )


@implements("BS-07", "BS-08")
@transaction.atomic
def site_create(
    *,
    actor: User | None,
    organization: Organization,
    code: str,
    name: str,
    kind: str,
    **fields: Any,
) -> Site:
    """Register a lab or storage place with its signage data (BS-07, BS-08)."""
    require_permission(actor, "site.manage", organization)
    site = Site(organization=organization, code=code.strip(), name=name, kind=kind)
    _apply(site, fields, SITE_FIELDS)
    _validate(site, exclude=["organization"])
    _check_person_in_charge(site)
    if Site.objects.filter(organization=organization, code=site.code).exists():
        raise ApplicationError(_("A site with code %s already exists.") % site.code)
    site.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=organization,
        instance=site,
        after=snapshot(site),
    )
    return site


@implements("BS-07", "BS-08")
@transaction.atomic
def site_update(*, actor: User | None, site: Site, reason: str = "", **fields: Any) -> Site:
    require_permission(actor, "site.manage", site.organization)
    site = Site.objects.select_for_update().select_related("organization").get(pk=site.pk)
    before = snapshot(site)
    _apply(site, fields, SITE_FIELDS)
    _validate(site, exclude=["organization"])
    _check_person_in_charge(site)
    if (
        Site.objects.filter(organization=site.organization, code=site.code)
        .exclude(pk=site.pk)
        .exists()
    ):
        raise ApplicationError(_("A site with code %s already exists.") % site.code)
    after = snapshot(site)
    if changed_fields(before, after):
        site.save()
        audit_record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            organization=site.organization,
            instance=site,
            before=before,
            after=after,
            reason=reason,
        )
    return site


# Users and memberships -----------------------------------------------------------------------


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    organization: Organization,
    username: str,
    password: str | None,
    role: str,
    email: str = "",
    display_name: str = "",
) -> User:
    """Create a person and their first membership in ``organization``."""
    require_permission(actor, "membership.manage", organization)
    if User.objects.filter(username__iexact=username).exists():
        raise ApplicationError(_("The user name %s is taken.") % username)
    user = User(username=username, email=email, display_name=display_name)
    if password:
        from django.contrib.auth.password_validation import validate_password

        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ApplicationError(" ".join(exc.messages)) from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=organization,
        instance=user,
        after=snapshot(user, ["username", "email", "display_name", "is_active"]),
    )
    membership_add(actor=actor, organization=organization, user=user, role=role)
    return user


@transaction.atomic
def membership_add(
    *, actor: User | None, organization: Organization, user: User, role: str
) -> Membership:
    require_permission(actor, "membership.manage", organization)
    if role not in Role.values:
        raise ApplicationError(_("Unknown role: %s") % role)
    try:
        with transaction.atomic():
            membership = Membership.objects.create(user=user, organization=organization, role=role)
    except IntegrityError as exc:
        raise ApplicationError(
            _("%(user)s already has the role %(role)s here.")
            % {"user": user.get_username(), "role": Role(role).label}
        ) from exc
    forget_roles(user)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=organization,
        instance=membership,
        after=snapshot(membership),
    )
    return membership


@transaction.atomic
def membership_end(*, actor: User | None, membership: Membership, reason: str = "") -> Membership:
    require_permission(actor, "membership.manage", membership.organization)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.ended_at is not None:
        raise ApplicationError(_("This membership has already ended."))
    if (
        actor is not None
        and membership.user_id == actor.pk
        and membership.role
        in {
            Role.BIOBANK_MANAGER,
            Role.PLATFORM_ADMIN,
        }
    ):
        raise ApplicationError(_("You cannot end your own managing role."))
    before = snapshot(membership)
    membership.ended_at = timezone.now()
    membership.save(update_fields=["ended_at"])
    forget_roles(membership.user)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.TRANSITION,
        organization=membership.organization,
        instance=membership,
        before=before,
        after=snapshot(membership),
        reason=reason,
    )
    return membership


# Obligations ---------------------------------------------------------------------------------


@transaction.atomic
def obligation_open(
    *,
    organization: Organization,
    rule_id: str,
    title: str,
    due_at: datetime,
    subject: models.Model | None = None,
    subject_ref: tuple[str, str, str] | None = None,
    responsible_role: str = "",
    assignee: User | None = None,
    actor: User | None = None,
) -> Obligation:
    """Open a deadline a rule creates. Called by other services, not by people directly.

    The subject is a record (``subject``) or, for things without a row of their own yet,
    ``subject_ref`` = (type, id, description).
    """
    if timezone.is_naive(due_at):
        raise ValueError("due_at must be timezone-aware")
    if subject is not None:
        subject_ref = (object_label(subject), str(subject.pk), str(subject))
    subject_type, subject_id, subject_repr = subject_ref or ("", "", "")
    obligation = Obligation.objects.create(
        organization=organization,
        rule_id=rule_id,
        title=title,
        due_at=due_at,
        subject_type=subject_type,
        subject_id=subject_id,
        subject_repr=subject_repr[:200],
        responsible_role=responsible_role,
        assignee=assignee,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=organization,
        instance=obligation,
        after=snapshot(obligation),
    )
    return obligation


def _close(
    *, actor: User | None, obligation: Obligation, state: str, evidence: str, waiver_reason: str
) -> Obligation:
    require_permission(actor, "obligation.close", obligation.organization)
    obligation = Obligation.objects.select_for_update().get(pk=obligation.pk)
    if obligation.state != Obligation.State.OPEN:
        raise ApplicationError(_("This obligation is already closed."))
    before = snapshot(obligation)
    obligation.state = state
    obligation.closed_by = actor
    obligation.closed_at = timezone.now()
    obligation.evidence = evidence
    obligation.waiver_reason = waiver_reason
    obligation.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.TRANSITION,
        organization=obligation.organization,
        instance=obligation,
        before=before,
        after=snapshot(obligation),
        reason=waiver_reason or evidence,
    )
    return obligation


@transaction.atomic
def obligation_close(*, actor: User | None, obligation: Obligation, evidence: str) -> Obligation:
    """Mark an obligation done, with the evidence (a reference, a document, a note)."""
    if not evidence.strip():
        raise ApplicationError(_("Say what shows the obligation was met (evidence)."))
    return _close(
        actor=actor,
        obligation=obligation,
        state=Obligation.State.DONE,
        evidence=evidence.strip(),
        waiver_reason="",
    )


@transaction.atomic
def obligation_waive(*, actor: User | None, obligation: Obligation, reason: str) -> Obligation:
    if not reason.strip():
        raise ApplicationError(_("A waiver needs a reason."))
    return _close(
        actor=actor,
        obligation=obligation,
        state=Obligation.State.WAIVED,
        evidence="",
        waiver_reason=reason.strip(),
    )


@transaction.atomic
def obligations_settle_for_subject(*, subject: models.Model, rule_id: str, reason: str) -> int:
    """Waive the open obligations of ``rule_id`` on ``subject`` that an event made moot
    (a consent withdrawn before its end no longer needs re-consent). The system acts."""
    settled = 0
    for obligation in Obligation.objects.filter(
        subject_type=object_label(subject),
        subject_id=str(subject.pk),
        rule_id=rule_id,
        state=Obligation.State.OPEN,
    ):
        _close(
            actor=None,
            obligation=obligation,
            state=Obligation.State.WAIVED,
            evidence="",
            waiver_reason=reason,
        )
        settled += 1
    return settled


def obligation_recipients(obligation: Obligation) -> list[str]:
    """E-mail addresses of the people responsible: the assignee, else everyone in the role."""
    if obligation.assignee is not None and obligation.assignee.email:
        return [obligation.assignee.email]
    roles = [obligation.responsible_role] if obligation.responsible_role else [Role.BIOBANK_MANAGER]
    emails = (
        User.objects.filter(
            memberships__organization=obligation.organization,
            memberships__role__in=roles,
            memberships__ended_at__isnull=True,
            is_active=True,
        )
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    return sorted(emails)


def obligation_notify(
    *, now: datetime | None = None, within_days: int = 7
) -> list[tuple[str, int]]:
    """E-mail each responsible person their overdue and soon-due obligations.

    Returns (address, number of obligations) for each message sent. An obligation is notified
    at most once a day.
    """
    now = now or timezone.now()
    horizon = now + timedelta(days=within_days)
    pending = (
        Obligation.objects.filter(state=Obligation.State.OPEN, due_at__lte=horizon)
        .filter(
            models.Q(last_notified_at__isnull=True)
            | models.Q(last_notified_at__lt=now - timedelta(hours=23))
        )
        .select_related("organization", "assignee")
        .order_by("due_at")
    )
    by_address: dict[str, list[Obligation]] = {}
    for obligation in pending:
        for address in obligation_recipients(obligation):
            by_address.setdefault(address, []).append(obligation)
    sent = []
    for address, items in sorted(by_address.items()):
        lines = []
        for item in items:
            when = timezone.localtime(item.due_at).strftime("%Y-%m-%d %H:%M")
            flag = _("OVERDUE") if item.due_at < now else _("due")
            lines.append(f"[{item.rule_id}] {item.title} ({item.organization.code}) {flag} {when}")
        send_mail(
            subject=ngettext(
                "biobank: %(count)d obligation needs attention",
                "biobank: %(count)d obligations need attention",
                len(items),
            )
            % {"count": len(items)},
            message="\n".join(lines),
            from_email=None,
            recipient_list=[address],
        )
        sent.append((address, len(items)))
    notified_ids = {item.pk for items in by_address.values() for item in items}
    Obligation.objects.filter(pk__in=notified_ids).update(last_notified_at=now)
    return sent


# Calendar ------------------------------------------------------------------------------------


@implements("TD-01")
@transaction.atomic
def calendar_override_set(
    *,
    actor: User | None,
    organization: Organization,
    day: date,
    is_working_day: bool,
    reason: str,
) -> CalendarOverride:
    """Declare a local exception to the Taiwan calendar (TD-01): e.g. a typhoon day off."""
    require_permission(actor, "calendar.manage", organization)
    if not reason.strip():
        raise ApplicationError(_("Say why this day is an exception (e.g. typhoon day off)."))
    override = CalendarOverride.objects.select_for_update().filter(date=day).first()
    before = snapshot(override) if override else None
    if override is None:
        override = CalendarOverride(date=day, created_by=actor)
    override.is_working_day = is_working_day
    override.reason = reason.strip()
    override.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE if before else AuditEvent.Action.CREATE,
        organization=organization,
        instance=override,
        before=before,
        after=snapshot(override),
        reason=reason,
    )
    return override


# API tokens ----------------------------------------------------------------------------------

TOKEN_PREFIX = "bb_"  # noqa: S105 (a marker, not a secret)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@transaction.atomic
def token_create(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new personal API token; the plain token is returned once and never stored."""
    prefix = secrets.token_hex(4)
    plain = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user, name=name, prefix=prefix, key_hash=_token_hash(plain)
    )
    audit_record(
        actor=user,
        action=AuditEvent.Action.CREATE,
        instance=token,
        after={"prefix": prefix, "name": name, "user": user.pk},
    )
    return token, plain


@transaction.atomic
def token_revoke(*, actor: User | None, token: ApiToken) -> ApiToken:
    if actor is not None and token.user_id != actor.pk:
        raise PermissionDenied(_("You can only revoke your own tokens."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action=AuditEvent.Action.TRANSITION,
            instance=token,
            after={"prefix": token.prefix, "revoked_at": token.revoked_at},
        )
    return token


def token_authenticate(plain: str) -> User | None:
    """The active user a bearer token belongs to, or None."""
    if not plain.startswith(TOKEN_PREFIX):
        return None
    try:
        # get, not first: the hash is unique, and first() would compile an ORDER BY on every
        # API request (a quarter of a bare request's time)
        token = ApiToken.objects.select_related("user").get(
            key_hash=_token_hash(plain), revoked_at__isnull=True, user__is_active=True
        )
    except ApiToken.DoesNotExist:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
