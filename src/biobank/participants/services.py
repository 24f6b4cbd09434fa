"""Use cases for participants, the identity vault, re-identification and consent.

Identity never reaches the audit trail: events about the vault name the fields that changed,
never their values (HB-01).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace
from datetime import date, datetime, time, timedelta

from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.core import services as core_services
from biobank.core.audit import audit_record, snapshot
from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import AuditEvent, Organization, User
from biobank.core.roles import Role
from biobank.core.tenancy import require_permission
from biobank.participants import links, rules
from biobank.participants.identity_numbers import validate_national_id
from biobank.participants.models import (
    Consent,
    ConsentChange,
    ConsentForm,
    DuoTerm,
    IdentityRecord,
    Participant,
    ReidentificationRequest,
)
from biobank.participants.vault import Identity, get_vault

PARTICIPANT_FIELDS = ["code", "sex", "birth_year", "status", "delinked_at"]
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
DOCUMENT_TYPES = {"pdf", "png", "jpg", "jpeg", "tif", "tiff"}
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
DOCUMENT_SIGNATURES = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")


def _taipei_end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59), tzinfo=timezone.get_default_timezone())


# Participants and the vault ------------------------------------------------------------------


def participant_next_code(organization: Organization) -> str:
    """The next generated code, ``P000001`` and up, per organization."""
    last = (
        Participant.objects.filter(organization=organization, code__regex=r"^P[0-9]{6}$")
        .aggregate(last=Max("code"))
        .get("last")
    )
    number = int(last[1:]) + 1 if last else 1
    return f"P{number:06d}"


@transaction.atomic
def participant_register(
    *,
    actor: User | None,
    organization: Organization,
    code: str | None = None,
    sex: str = Participant.Sex.UNKNOWN,
    birth_year: int | None = None,
    identity: Identity | None = None,
) -> Participant:
    """Register a participant under a code (generated or supplied), identity in the vault."""
    require_permission(actor, "participant.manage", organization)
    # serialise code generation per organization
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    code = (code or "").strip() or participant_next_code(organization)
    if not CODE_PATTERN.match(code):
        raise ApplicationError(
            _("A participant code is 1-40 letters, digits, '.', '_' or '-': %s") % code
        )
    if Participant.objects.filter(organization=organization, code=code).exists():
        raise ApplicationError(_("Participant code %s is already in use.") % code)
    if sex not in Participant.Sex.values:
        raise ApplicationError(_("Sex must be M, F or U."))
    if identity is not None and identity.birth_date and birth_year is None:
        birth_year = date.fromisoformat(identity.birth_date).year
    participant = Participant.objects.create(
        organization=organization, code=code, sex=sex, birth_year=birth_year
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=organization,
        instance=participant,
        after=snapshot(participant, PARTICIPANT_FIELDS),
    )
    if identity is not None:
        identity_store(actor=actor, participant=participant, identity=identity)
    return participant


def _clean_identity(identity: Identity) -> Identity:
    national_id = identity.national_id.strip()
    if national_id:
        try:
            national_id = validate_national_id(national_id).value
        except ValueError as exc:
            raise ApplicationError(str(exc), rule="HB-01") from exc
    birth_date = identity.birth_date.strip()
    if birth_date:
        try:
            parsed = date.fromisoformat(birth_date)
        except ValueError as exc:
            raise ApplicationError(_("Birth date must be YYYY-MM-DD.")) from exc
        if parsed > timezone.localdate():
            raise ApplicationError(_("Birth date is in the future."))
        birth_date = parsed.isoformat()
    return replace(
        identity, national_id=national_id, birth_date=birth_date, name=identity.name.strip()
    )


@transaction.atomic
def identity_store(*, actor: User | None, participant: Participant, identity: Identity) -> None:
    """Seal a participant's identity into the vault (HB-01). A national ID already known in
    the organization is refused with the existing participant's code."""
    require_permission(actor, "participant.manage", participant.organization)
    if participant.is_delinked:
        raise ApplicationError(
            _("This participant is delinked: identity cannot return."), rule="HB-01"
        )
    identity = _clean_identity(identity)
    vault = get_vault()
    lookup = vault.lookup_hash(identity.national_id) if identity.national_id else None
    if lookup:
        existing = (
            IdentityRecord.objects.filter(
                organization=participant.organization, national_id_hash=lookup
            )
            .exclude(participant=participant)
            .select_related("participant")
            .first()
        )
        if existing is not None:
            raise ApplicationError(
                _("This national ID is already registered as participant %s.")
                % existing.participant.code,
                rule="HB-01",
            )
    record = IdentityRecord.objects.filter(participant=participant).first()
    action = AuditEvent.Action.UPDATE if record else AuditEvent.Action.CREATE
    if record is None:
        record = IdentityRecord(participant=participant, organization=participant.organization)
    record.national_id_hash = lookup
    record.sealed = vault.seal(identity, bound_to=str(participant.public_id))
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError as exc:  # a concurrent registration of the same ID
        raise ApplicationError(_("This national ID is already registered."), rule="HB-01") from exc
    audit_record(
        actor=actor,
        action=action,
        organization=participant.organization,
        object_type="participants.identityrecord",
        object_id=str(participant.pk),
        object_repr=f"identity of {participant.code}",
        after={"fields_present": sorted(k for k, v in asdict(identity).items() if v)},
    )


@transaction.atomic
def participant_delink(*, actor: User | None, participant: Participant, reason: str) -> Participant:
    """去連結 (HB-01): remove the vault entry for good; material and data stay, delinked."""
    require_permission(actor, "participant.delink", participant.organization)
    if not reason.strip():
        raise ApplicationError(_("Delinking needs a reason."))
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    if participant.is_delinked:
        raise ApplicationError(_("This participant is already delinked."))
    before = snapshot(participant, PARTICIPANT_FIELDS)
    IdentityRecord.objects.filter(participant=participant).delete()
    participant.status = Participant.Status.DELINKED
    participant.delinked_at = timezone.now()
    participant.save(update_fields=["status", "delinked_at", "updated_at"])
    links.delinked(participant, actor)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.TRANSITION,
        organization=participant.organization,
        instance=participant,
        before=before,
        after=snapshot(participant, PARTICIPANT_FIELDS),
        reason=reason,
    )
    return participant


# Re-identification (HB-01) -------------------------------------------------------------------


@transaction.atomic
def reidentification_request(
    *, actor: User, participant: Participant, reason: str, hours: int = 24
) -> ReidentificationRequest:
    require_permission(actor, "identity.request", participant.organization)
    if not reason.strip():
        raise ApplicationError(_("Say why the identity is needed."), rule="HB-01")
    if not 1 <= hours <= 72:
        raise ApplicationError(_("Access is granted for 1 to 72 hours."), rule="HB-01")
    if participant.is_delinked:
        raise ApplicationError(
            _("This participant is delinked: there is no identity."), rule="HB-01"
        )
    request = ReidentificationRequest.objects.create(
        participant=participant, requester=actor, reason=reason.strip(), hours=hours
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=participant.organization,
        instance=request,
        after=snapshot(request, ["participant", "requester", "reason", "hours", "state"]),
    )
    return request


@transaction.atomic
def reidentification_decide(
    *, actor: User, request: ReidentificationRequest, approve: bool, note: str = ""
) -> ReidentificationRequest:
    """Approve or refuse; nobody approves their own request (HB-01)."""
    organization = request.participant.organization
    require_permission(actor, "identity.approve", organization)
    request = ReidentificationRequest.objects.select_for_update().get(pk=request.pk)
    if request.state != ReidentificationRequest.State.PENDING:
        raise ApplicationError(_("This request has already been decided."))
    if request.requester_id == actor.pk:
        raise ApplicationError(_("Someone else must approve your own request."), rule="HB-01")
    before = snapshot(request, ["state", "decided_by", "expires_at"])
    now = timezone.now()
    request.state = (
        ReidentificationRequest.State.APPROVED
        if approve
        else ReidentificationRequest.State.REJECTED
    )
    request.decided_by, request.decided_at, request.decision_note = actor, now, note.strip()
    request.expires_at = now + timedelta(hours=request.hours) if approve else None
    request.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.TRANSITION,
        organization=organization,
        instance=request,
        before=before,
        after=snapshot(request, ["state", "decided_by", "expires_at"]),
        reason=note,
    )
    return request


@transaction.atomic
def identity_reveal(*, actor: User, participant: Participant) -> Identity:
    """The identity, for a requester holding an approved, unexpired request; each view is
    audited (HB-01). Without one, nobody sees identity, administrators included."""
    open_request = next(
        (
            r
            for r in ReidentificationRequest.objects.filter(
                participant=participant,
                requester=actor,
                state=ReidentificationRequest.State.APPROVED,
                expires_at__gt=timezone.now(),
            )
        ),
        None,
    )
    if open_request is None:
        raise PermissionDenied(
            _("Identity is shown only through an approved re-identification request.")
        )
    record = IdentityRecord.objects.filter(participant=participant).first()
    if record is None:
        raise ApplicationError(_("No identity is recorded for this participant."), rule="HB-01")
    identity = get_vault().open(bytes(record.sealed), bound_to=str(participant.public_id))
    audit_record(
        actor=actor,
        action=AuditEvent.Action.VIEW,
        organization=participant.organization,
        object_type="participants.identityrecord",
        object_id=str(participant.pk),
        object_repr=f"identity of {participant.code}",
        after={"request": str(open_request.public_id)},
    )
    return identity


# Consent forms -------------------------------------------------------------------------------


def _terms(ids: Iterable[str], kind: str) -> list[DuoTerm]:
    wanted = sorted(set(ids))
    found = list(DuoTerm.objects.filter(id__in=wanted, kind=kind))
    missing = set(wanted) - {term.id for term in found}
    if missing:
        raise ApplicationError(
            _("Unknown DUO %(kind)s: %(ids)s") % {"kind": kind, "ids": ", ".join(sorted(missing))}
        )
    return found


@transaction.atomic
def consent_form_create(
    *,
    actor: User | None,
    organization: Organization,
    code: str,
    version: str,
    title: str,
    committee_reference: str,
    approved_on: date,
    permissions: Sequence[str],
    duration_years: int,
    modifiers: Sequence[str] = (),
    offers_commercial_use: bool = False,
    offers_nhi_linkage: bool = False,
    offers_after_death: bool = False,
    offers_recontact: bool = False,
) -> ConsentForm:
    """Register a consent form version approved by the ethics committee (HB-02)."""
    require_permission(actor, "consent_form.manage", organization)
    if not committee_reference.strip():
        raise ApplicationError(
            _("A consent form needs its ethics committee approval."), rule="HB-02"
        )
    if duration_years < 1:
        raise ApplicationError(_("The duration of use must be at least one year."), rule="HB-02")
    if ConsentForm.objects.filter(organization=organization, code=code, version=version).exists():
        raise ApplicationError(
            _("Form %(code)s version %(version)s already exists.")
            % {"code": code, "version": version}
        )
    permission_terms = _terms(permissions, DuoTerm.Kind.PERMISSION)
    if not permission_terms:
        raise ApplicationError(_("A consent form offers at least one data use."), rule="HB-02")
    form = ConsentForm.objects.create(
        organization=organization,
        code=code.strip(),
        version=version.strip(),
        title=title.strip(),
        committee_reference=committee_reference.strip(),
        approved_on=approved_on,
        offers_commercial_use=offers_commercial_use,
        offers_nhi_linkage=offers_nhi_linkage,
        offers_after_death=offers_after_death,
        offers_recontact=offers_recontact,
        duration_years=duration_years,
    )
    form.permissions.set(permission_terms)
    form.modifiers.set(_terms(modifiers, DuoTerm.Kind.MODIFIER))
    after = snapshot(form)
    after.update(permissions=sorted(permissions), modifiers=sorted(modifiers))
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=organization,
        instance=form,
        after=after,
    )
    return form


# Consent -------------------------------------------------------------------------------------


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def consent_terms(consent: Consent) -> rules.ConsentTerms:
    return rules.ConsentTerms(
        state=consent.state,
        permissions=frozenset(t.id for t in consent.permissions.all()),
        modifiers=frozenset(t.id for t in consent.modifiers.all()),
        diseases=frozenset(consent.diseases),
        commercial_use=consent.commercial_use,
        nhi_linkage=consent.nhi_linkage,
        after_death=consent.after_death,
        valid_from=consent.signed_on,
        valid_until=consent.valid_until,
    )


def _consent_state(consent: Consent) -> dict[str, object]:
    data = snapshot(
        consent,
        [
            "state",
            "commercial_use",
            "nhi_linkage",
            "after_death",
            "recontact",
            "valid_until",
            "diseases",
        ],
    )
    data["permissions"] = sorted(t.id for t in consent.permissions.all())
    data["modifiers"] = sorted(t.id for t in consent.modifiers.all())
    return data


def _store_document(consent: Consent, document: File) -> None:
    name = document.name or "document"
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in DOCUMENT_TYPES:
        raise ApplicationError(_("The scanned consent must be PDF, PNG, JPEG or TIFF."))
    if document.size is not None and document.size > DOCUMENT_MAX_BYTES:
        raise ApplicationError(_("The scanned consent is larger than 10 MB."))
    document.seek(0)
    head = document.read(8)
    document.seek(0)
    if not any(head.startswith(magic) for magic in DOCUMENT_SIGNATURES):
        raise ApplicationError(_("The file is not a PDF, PNG, JPEG or TIFF document."))
    digest = hashlib.sha256()
    for chunk in document.chunks():
        digest.update(chunk)
    document.seek(0)
    consent.document_sha256 = digest.hexdigest()
    consent.document.save(name, document, save=False)


@transaction.atomic
def consent_record(
    *,
    actor: User | None,
    participant: Participant,
    form: ConsentForm,
    signed_on: date,
    capacity: str,
    signed_by: str,
    permissions: Sequence[str],
    representative_relation: str = "",
    modifiers: Sequence[str] = (),
    diseases: Sequence[str] = (),
    commercial_use: bool = False,
    nhi_linkage: bool = False,
    after_death: bool = False,
    recontact: bool = False,
    document: File | None = None,
) -> Consent:
    """Record a signed consent (HB-02) and open the obligation its end brings (HR-04)."""
    organization = participant.organization
    require_permission(actor, "consent.record", organization)
    if form.organization_id != organization.pk:
        raise ApplicationError(_("This consent form belongs to another organization."))
    if participant.status in {Participant.Status.WITHDRAWN, Participant.Status.DELINKED}:
        raise ApplicationError(_("This participant has withdrawn or is delinked."), rule="HB-03")
    if signed_on > timezone.localdate():
        raise ApplicationError(_("The signing date is in the future."), rule="HB-02")
    if signed_on < form.approved_on:
        raise ApplicationError(
            _("The form version was not yet approved on the signing date."), rule="HB-02"
        )
    signers = rules.signers_are_valid(capacity, signed_by, representative_relation)
    if not signers:
        raise ApplicationError(signers.reason, rule=signers.rule)
    age = rules.capacity_fits_birth_year(capacity, participant.birth_year, signed_on)
    if not age:
        raise ApplicationError(age.reason, rule=age.rule)
    offered = {t.id for t in form.permissions.all()}
    chosen = set(permissions)
    if not chosen:
        raise ApplicationError(
            _("Choose at least one data use the participant agreed to."), rule="HB-02"
        )
    if chosen - offered:
        raise ApplicationError(
            _("The form does not offer: %s") % ", ".join(sorted(chosen - offered)), rule="HB-02"
        )
    options = {
        _("commercial use"): (commercial_use, form.offers_commercial_use),
        _("linkage with health-insurance data"): (nhi_linkage, form.offers_nhi_linkage),
        _("use after death or loss of capacity"): (after_death, form.offers_after_death),
        _("re-contact"): (recontact, form.offers_recontact),
    }
    for label, (chosen_option, offered_option) in options.items():
        if chosen_option and not offered_option:
            raise ApplicationError(_("The form does not offer %s.") % label, rule="HB-02")
    if rules.DS in chosen and not diseases:
        raise ApplicationError(_("Disease-specific consent names its diseases."), rule="HB-02")
    consent = Consent(
        participant=participant,
        form=form,
        signed_on=signed_on,
        capacity=capacity,
        signed_by=signed_by,
        representative_relation=representative_relation.strip(),
        diseases=sorted({d.strip() for d in diseases if d.strip()}),
        commercial_use=commercial_use,
        nhi_linkage=nhi_linkage,
        after_death=after_death,
        recontact=recontact,
        valid_until=_add_years(signed_on, form.duration_years),
        recorded_by=actor,
    )
    if document is not None:
        _store_document(consent, document)
    consent.save()
    consent.permissions.set(_terms(chosen, DuoTerm.Kind.PERMISSION))
    form_modifiers = {t.id for t in form.modifiers.all()}
    consent.modifiers.set(_terms(set(modifiers) | form_modifiers, DuoTerm.Kind.MODIFIER))
    after = _consent_state(consent)
    after.update(
        form=str(form),
        signed_on=signed_on,
        capacity=capacity,
        signed_by=signed_by,
        document_sha256=consent.document_sha256,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=organization,
        instance=consent,
        after=after,
    )
    core_services.obligation_open(
        organization=organization,
        rule_id="HR-04",
        title=_("Consent of %(code)s ends: destroy the material or obtain new consent")
        % {"code": participant.code},
        due_at=_taipei_end_of(consent.valid_until),
        subject=consent,
        responsible_role=Role.BIOBANK_MANAGER,
    )
    return consent


def active_consents(participant: Participant) -> list[Consent]:
    return list(
        participant.consents.filter(state__in=[Consent.State.ACTIVE, Consent.State.NARROWED])
        .select_related("form")
        .prefetch_related("permissions", "modifiers")
    )


def consent_check_use(participant: Participant, use: rules.ProposedUse) -> rules.Decision:
    """Whether any current consent of the participant permits ``use`` (HB-04)."""
    if participant.status == Participant.Status.WITHDRAWN:
        return rules.Decision(False, "the participant withdrew", "HB-03")
    consents = active_consents(participant)
    if not consents:
        return rules.Decision(False, "no consent on record", "HB-02")
    decisions = [rules.consent_permits(consent_terms(c), use) for c in consents]
    allowed = [d for d in decisions if d.allowed]
    return allowed[0] if allowed else decisions[0]


def withdrawal_preview(
    participant: Participant, kept_by_agreement: Iterable[str] = ()
) -> rules.WithdrawalEffects:
    return rules.withdrawal_effects(
        links.held_items(participant), links.recipients(participant), kept_by_agreement
    )


@transaction.atomic
def consent_withdraw(
    *,
    actor: User | None,
    participant: Participant,
    on: date,
    kept_by_agreement: Sequence[str] = (),
    note: str = "",
) -> rules.WithdrawalEffects:
    """Withdrawal of consent (HB-03). The biobank cannot refuse: there is no approval step.
    Material and data become unavailable at once; destruction and notification obligations
    open for what the rule computes; the consent documents are kept."""
    organization = participant.organization
    require_permission(actor, "consent.withdraw", organization)
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    if participant.status == Participant.Status.WITHDRAWN:
        raise ApplicationError(_("This participant has already withdrawn."), rule="HB-03")
    if on > timezone.localdate():
        raise ApplicationError(_("The withdrawal date is in the future."), rule="HB-03")
    effects = withdrawal_preview(participant, kept_by_agreement)
    summary = {
        "destroy": [item.key for item in effects.destroy],
        "keep": [[item.key, why] for item, why in effects.keep],
        "notify": [r.key for r in effects.notify],
        "documents_kept": effects.documents_kept,
    }
    for consent in participant.consents.filter(
        state__in=[Consent.State.ACTIVE, Consent.State.NARROWED, Consent.State.EXPIRED]
    ):
        before = _consent_state(consent)
        consent.state = Consent.State.WITHDRAWN
        consent.withdrawn_on = on
        consent.save(update_fields=["state", "withdrawn_on", "updated_at"])
        ConsentChange.objects.create(
            consent=consent,
            kind=ConsentChange.Kind.WITHDRAWAL,
            on=on,
            before=before,
            after=_consent_state(consent),
            kept_by_agreement="\n".join(kept_by_agreement),
            note=note,
            effects=summary,
            recorded_by=actor,
        )
        audit_record(
            actor=actor,
            action=AuditEvent.Action.TRANSITION,
            organization=organization,
            instance=consent,
            before=before,
            after=_consent_state(consent),
            reason=note or "withdrawal of consent",
        )
        core_services.obligations_settle_for_subject(
            subject=consent, rule_id="HR-04", reason="consent withdrawn before its end"
        )
    before = snapshot(participant, PARTICIPANT_FIELDS)
    participant.status = Participant.Status.WITHDRAWN
    participant.save(update_fields=["status", "updated_at"])
    links.withdrawn(participant, actor)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.TRANSITION,
        organization=organization,
        instance=participant,
        before=before,
        after=snapshot(participant, PARTICIPANT_FIELDS),
        reason=note or "withdrawal of consent",
    )
    start = _taipei_end_of(on)
    for item in effects.destroy:
        core_services.obligation_open(
            organization=organization,
            rule_id="HB-03",
            title=_("Destroy %(item)s after withdrawal of %(code)s")
            % {"item": item.description, "code": participant.code},
            due_at=start + timedelta(days=rules.WITHDRAWAL_DESTRUCTION_DAYS),
            subject_ref=("withdrawal.destroy", item.key, item.description),
            responsible_role=Role.BIOBANK_MANAGER,
        )
    for recipient in effects.notify:
        core_services.obligation_open(
            organization=organization,
            rule_id="HB-03",
            title=_("Tell %(who)s to destroy what they received of %(code)s")
            % {"who": recipient.description, "code": participant.code},
            due_at=start + timedelta(days=rules.WITHDRAWAL_NOTIFICATION_DAYS),
            subject_ref=("withdrawal.notify", recipient.key, recipient.description),
            responsible_role=Role.BIOBANK_MANAGER,
        )
    return effects


@transaction.atomic
def consent_narrow(
    *,
    actor: User | None,
    consent: Consent,
    on: date,
    permissions: Sequence[str],
    modifiers: Sequence[str] = (),
    diseases: Sequence[str] = (),
    commercial_use: bool = False,
    nhi_linkage: bool = False,
    after_death: bool = False,
    note: str = "",
) -> Consent:
    """Narrow a consent (HB-03): recorded at once, no approval, never wider than before."""
    organization = consent.participant.organization
    require_permission(actor, "consent.withdraw", organization)
    consent = Consent.objects.select_for_update().select_related("participant").get(pk=consent.pk)
    if consent.state not in {Consent.State.ACTIVE, Consent.State.NARROWED}:
        raise ApplicationError(_("Only a current consent can be narrowed."), rule="HB-03")
    old = consent_terms(consent)
    new = replace(
        old,
        permissions=frozenset(permissions),
        modifiers=frozenset(modifiers) | old.modifiers,
        diseases=frozenset(d.strip() for d in diseases if d.strip()) or old.diseases,
        commercial_use=commercial_use,
        nhi_linkage=nhi_linkage,
        after_death=after_death,
    )
    decision = rules.narrowing_is_valid(old, new)
    if not decision:
        raise ApplicationError(decision.reason, rule=decision.rule)
    before = _consent_state(consent)
    consent.state = Consent.State.NARROWED
    consent.commercial_use, consent.nhi_linkage, consent.after_death = (
        commercial_use,
        nhi_linkage,
        after_death,
    )
    consent.diseases = sorted(new.diseases)
    consent.save()
    consent.permissions.set(_terms(new.permissions, DuoTerm.Kind.PERMISSION))
    consent.modifiers.set(_terms(new.modifiers, DuoTerm.Kind.MODIFIER))
    after = _consent_state(consent)
    ConsentChange.objects.create(
        consent=consent,
        kind=ConsentChange.Kind.NARROWING,
        on=on,
        before=before,
        after=after,
        note=note,
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.TRANSITION,
        organization=organization,
        instance=consent,
        before=before,
        after=after,
        reason=note or "narrowing of consent",
    )
    return consent


@transaction.atomic
def consents_expire(*, today: date | None = None) -> int:
    """Mark consents past their period as expired (HR-04); their obligation is already open."""
    today = today or timezone.localdate()
    count = 0
    for consent in Consent.objects.filter(
        state__in=[Consent.State.ACTIVE, Consent.State.NARROWED], valid_until__lt=today
    ).select_related("participant__organization"):
        before = _consent_state(consent)
        consent.state = Consent.State.EXPIRED
        consent.save(update_fields=["state", "updated_at"])
        ConsentChange.objects.create(
            consent=consent,
            kind=ConsentChange.Kind.EXPIRY,
            on=today,
            before=before,
            after=_consent_state(consent),
        )
        audit_record(
            actor=None,
            action=AuditEvent.Action.TRANSITION,
            organization=consent.participant.organization,
            instance=consent,
            before=before,
            after=_consent_state(consent),
            reason="consent period ended (HR-04)",
        )
        count += 1
    return count
