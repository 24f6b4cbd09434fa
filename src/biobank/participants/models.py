"""Participants (pseudonymised), the identity vault, re-identification, DUO terms, consent."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Participant(models.Model):
    """參與者: known everywhere by ``code``; identity lives only in ``IdentityRecord``."""

    class Sex(models.TextChoices):
        MALE = "M", _("male")
        FEMALE = "F", _("female")
        UNKNOWN = "U", _("unknown")

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        WITHDRAWN = "withdrawn", _("withdrawn")
        DECEASED = "deceased", _("deceased")
        DELINKED = "delinked", _("delinked")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="participants"
    )
    code = models.CharField(_("participant code"), max_length=40)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    birth_year = models.PositiveSmallIntegerField(_("birth year"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE
    )
    delinked_at = models.DateTimeField(_("delinked"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization__code", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="participant_code_unique_in_org"
            )
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_delinked(self) -> bool:
        return self.status == self.Status.DELINKED


class IdentityRecord(models.Model):
    """The vault entry (HB-01): encrypted identity and the keyed hash of the national ID."""

    participant = models.OneToOneField(
        Participant, on_delete=models.CASCADE, related_name="identity_record"
    )
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="+"
    )
    # NULL, not "", for "no national ID": the unique constraint must ignore those rows
    national_id_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    sealed = models.BinaryField()
    key_version = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "national_id_hash"],
                condition=Q(national_id_hash__isnull=False),
                name="identity_national_id_unique_in_org",
            )
        ]

    def __str__(self) -> str:
        return f"identity of {self.participant_id}"


class ReidentificationRequest(models.Model):
    """A request to see a participant's identity (HB-01): who, why, approved by whom, until."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="reidentification_requests"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason"))
    hours = models.PositiveSmallIntegerField(_("hours of access"), default=24)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"re-identification of {self.participant} by {self.requester}"

    @property
    def is_open(self) -> bool:
        return (
            self.state == self.State.APPROVED
            and self.expires_at is not None
            and timezone.now() < self.expires_at
        )

    @property
    def display_state(self) -> str:
        if self.state == self.State.APPROVED and not self.is_open:
            return "expired"
        return self.state


class DuoTerm(models.Model):
    """A GA4GH Data Use Ontology term (loaded from ``participants/data/duo_terms.csv``)."""

    class Kind(models.TextChoices):
        PERMISSION = "permission", _("data use permission")
        MODIFIER = "modifier", _("data use modifier")

    id = models.CharField(primary_key=True, max_length=12)
    shorthand = models.CharField(max_length=10, blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True)
    label_en = models.CharField(max_length=120)
    label_zh = models.CharField(max_length=120)

    class Meta:
        ordering = ["kind", "id"]

    def __str__(self) -> str:
        return f"{self.shorthand or self.id} {self.label}"

    @property
    def label(self) -> str:
        return self.label_en if (get_language() or "").startswith("en") else self.label_zh


class ConsentForm(models.Model):
    """A version of a consent form approved by the ethics committee (HB-02)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="consent_forms"
    )
    code = models.CharField(_("form code"), max_length=40)
    version = models.CharField(_("version"), max_length=20)
    title = models.CharField(_("title"), max_length=200)
    committee_reference = models.CharField(_("ethics committee approval"), max_length=100)
    approved_on = models.DateField(_("approved on"))
    permissions = models.ManyToManyField(
        DuoTerm, related_name="+", verbose_name=_("data uses offered")
    )
    modifiers = models.ManyToManyField(
        DuoTerm, related_name="+", blank=True, verbose_name=_("conditions always applied")
    )
    offers_commercial_use = models.BooleanField(_("offers commercial use"), default=False)
    offers_nhi_linkage = models.BooleanField(
        _("offers linkage with health-insurance data"), default=False
    )
    offers_after_death = models.BooleanField(
        _("offers use after death or loss of capacity"), default=False
    )
    offers_recontact = models.BooleanField(_("offers re-contact"), default=False)
    duration_years = models.PositiveSmallIntegerField(_("duration of use (years)"))
    is_active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization__code", "code", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code", "version"], name="consent_form_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(duration_years__gte=1), name="consent_form_duration_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version} {self.title}"


def consent_document_path(instance: Consent, filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"consents/{instance.participant.organization.code}/{uuid.uuid4()}.{suffix[:8]}"


class Consent(models.Model):
    """A participant's consent on one form version, with the choices made (HB-02)."""

    class Capacity(models.TextChoices):
        ADULT = "adult", _("adult with full capacity")
        MINOR_UNDER_7 = "minor_under_7", _("minor under 7")
        MINOR_7_PLUS = "minor_7_plus", _("minor aged 7 or over")
        GUARDIANSHIP = "guardianship", _("person under guardianship")
        ASSISTANCE = "assistance", _("person under assistance")

    class SignedBy(models.TextChoices):
        PARTICIPANT = "participant", _("the participant")
        REPRESENTATIVE = "representative", _("the legal representative")
        BOTH = "both", _("the participant and the legal representative")

    class State(models.TextChoices):
        ACTIVE = "active", _("active")
        NARROWED = "narrowed", _("narrowed")
        WITHDRAWN = "withdrawn", _("withdrawn")
        EXPIRED = "expired", _("expired")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="consents")
    form = models.ForeignKey(ConsentForm, on_delete=models.PROTECT, related_name="consents")
    signed_on = models.DateField(_("signed on"))
    capacity = models.CharField(_("capacity"), max_length=16, choices=Capacity.choices)
    signed_by = models.CharField(_("signed by"), max_length=16, choices=SignedBy.choices)
    representative_relation = models.CharField(
        _("representative's relation"), max_length=60, blank=True
    )
    permissions = models.ManyToManyField(DuoTerm, related_name="+", verbose_name=_("data uses"))
    modifiers = models.ManyToManyField(
        DuoTerm, related_name="+", blank=True, verbose_name=_("conditions")
    )
    diseases = models.JSONField(_("diseases (for disease-specific use)"), default=list, blank=True)
    commercial_use = models.BooleanField(_("commercial use"), default=False)
    nhi_linkage = models.BooleanField(_("linkage with health-insurance data"), default=False)
    after_death = models.BooleanField(_("use after death or loss of capacity"), default=False)
    recontact = models.BooleanField(_("re-contact"), default=False)
    valid_until = models.DateField(_("valid until"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default="active")
    document = models.FileField(_("signed document"), upload_to=consent_document_path, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    withdrawn_on = models.DateField(_("withdrawn on"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-signed_on", "-id"]

    def __str__(self) -> str:
        return f"{self.participant.code} · {self.form.code} v{self.form.version} ({self.signed_on})"


class ConsentChange(models.Model):
    """A withdrawal or narrowing of consent (HB-03): what changed, when, and what it caused."""

    class Kind(models.TextChoices):
        WITHDRAWAL = "withdrawal", _("withdrawal")
        NARROWING = "narrowing", _("narrowing")
        EXPIRY = "expiry", _("expiry")

    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    on = models.DateField(_("date"))
    before = models.JSONField()
    after = models.JSONField()
    kept_by_agreement = models.TextField(_("kept by written agreement"), blank=True)
    note = models.TextField(_("note"), blank=True)
    effects = models.JSONField(default=dict)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} of {self.consent_id} on {self.on}"
