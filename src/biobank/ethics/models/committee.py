"""IRBs, their members, the audit criteria and the IRB's self-assessment (EC-01 … EC-05, HR-02)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class IRB(models.Model):
    """人體研究倫理審查委員會 of an organization."""

    class Kind(models.TextChoices):
        FOUNDATION = "foundation", _("set up by a health or medical foundation")
        INSTITUTION = "institution", _("set up by a medical institution")
        AGENCY = "agency", _("set up by an MOHW agency or Academia Sinica")
        JOINT = "joint", _("set up jointly by a medical university and institutions")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="irbs"
    )
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    previously_passed = models.BooleanField(_("passed a periodic audit before"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="irb_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class IRBMember(models.Model):
    class Role(models.TextChoices):
        CHAIR = "chair", _("chair")
        VICE_CHAIR = "vice_chair", _("vice-chair")
        MEMBER = "member", _("member")
        STAFF = "staff", _("staff")

    class Gender(models.TextChoices):
        FEMALE = "F", _("female")
        MALE = "M", _("male")
        OTHER = "X", _("other")

    irb = models.ForeignKey(IRB, on_delete=models.PROTECT, related_name="members")
    name = models.CharField(_("name"), max_length=120)
    role = models.CharField(_("role"), max_length=12, choices=Role.choices, default=Role.MEMBER)
    external = models.BooleanField(_("external to the institution"), default=False)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices)
    scientist = models.BooleanField(_("medical or scientific background"), default=True)
    legal_expert = models.BooleanField(_("legal expert"), default=False)
    term_start = models.DateField(_("term from"))
    term_end = models.DateField(_("term until"), null=True, blank=True)

    class Meta:
        ordering = ["irb_id", "role", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def voting(self) -> bool:
        return self.role != self.Role.STAFF


class AuditCriterion(models.Model):
    """One of the 57 criteria (loaded from ``ethics/data/criteria.csv`` by migration, EC-02)."""

    number = models.CharField(primary_key=True, max_length=6)
    chapter = models.PositiveSmallIntegerField()
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=24)
    text_zh = models.TextField()
    text_en = models.TextField()
    na_condition_zh = models.TextField(blank=True)
    na_condition_en = models.TextField(blank=True)

    class Meta:
        ordering = ["chapter", "position"]

    def __str__(self) -> str:
        return self.number

    @property
    def text(self) -> str:
        return self.text_en if (get_language() or "").startswith("en") else self.text_zh


class SelfAssessment(models.Model):
    """An IRB's self-assessment of one audit year: a rating and evidence per criterion."""

    irb = models.ForeignKey(IRB, on_delete=models.PROTECT, related_name="self_assessments")
    year = models.PositiveSmallIntegerField(_("audit year"))
    ratings = models.JSONField(default=dict)  # item number → rating (validated by the service)
    evidence = models.JSONField(default=dict)  # item number → text
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-year"]
        constraints = [
            models.UniqueConstraint(fields=["irb", "year"], name="one_self_assessment_a_year"),
            models.CheckConstraint(condition=Q(year__gte=2000), name="self_assessment_year"),
        ]

    def __str__(self) -> str:
        return f"{self.irb} {self.year}"
