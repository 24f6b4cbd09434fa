"""Tenants (organizations), their sites (作業場所), users and memberships."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from biobank.core.roles import Role

ORGANIZATION_CODE = RegexValidator(
    r"^[A-Z0-9][A-Z0-9_-]{1,19}$",
    _("2-20 characters: capital letters, digits, '-' or '_'."),
)


class User(AbstractUser):
    """A person who signs in. What they may do comes from their memberships."""

    display_name = models.CharField(_("display name"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username


class Organization(models.Model):
    """設置單位 / 機構: the legal entity that holds material and data, and the tenant."""

    class Kind(models.TextChoices):
        BIOBANK = "biobank", _("Biobank")
        HOSPITAL = "hospital", _("Hospital")
        UNIVERSITY = "university", _("University")
        COMPANY = "company", _("Company")
        AUTHORITY = "authority", _("Authority")
        PLATFORM = "platform", _("National platform")

    code = models.CharField(_("code"), max_length=20, unique=True, validators=[ORGANIZATION_CODE])
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    staff_count = models.PositiveIntegerField(
        _("staff count"), default=0, help_text=_("Drives committee rules (BS-06, HP-01).")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.display_name}"

    @property
    def display_name(self) -> str:
        language = get_language() or "zh-hant"
        if language.startswith("en") and self.name_en:
            return self.name_en
        return self.name_zh


class Site(models.Model):
    """作業場所: a lab or storage place, with the signage data of BS-08."""

    class Kind(models.TextChoices):
        LAB = "lab", _("Laboratory")
        STORAGE = "storage", _("Storage place")
        ANIMAL_ROOM = "animal_room", _("Animal room")
        PROCESSING = "processing", _("Processing room")

    class Containment(models.TextChoices):
        NONE = "none", _("None")
        BSL1 = "BSL1", "BSL-1"
        BSL2 = "BSL2", "BSL-2"
        BSL3 = "BSL3", "BSL-3"
        BSL4 = "BSL4", "BSL-4"
        ABSL1 = "ABSL1", "ABSL-1"
        ABSL2 = "ABSL2", "ABSL-2"
        ABSL3 = "ABSL3", "ABSL-3"
        ABSL4 = "ABSL4", "ABSL-4"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="sites")
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    containment = models.CharField(
        _("containment level"), max_length=8, choices=Containment.choices, default="none"
    )
    location = models.CharField(_("location"), max_length=200, blank=True)
    person_in_charge = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sites_in_charge",
        verbose_name=_("person in charge"),
    )
    manager_name = models.CharField(_("facility manager"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    emergency_contact = models.CharField(_("emergency contact"), max_length=200, blank=True)
    emergency_measures = models.TextField(_("emergency measures"), blank=True)
    access_controlled = models.BooleanField(_("access controlled"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="site_code_unique_in_org")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Membership(models.Model):
    """A user's role in an organization. Ending a membership keeps the row (who had access when)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        ordering = ["organization__code", "user__username", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization", "role"],
                condition=Q(ended_at__isnull=True),
                name="membership_unique_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization.code}: {self.role}"
