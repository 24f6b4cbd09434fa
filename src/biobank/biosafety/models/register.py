"""The register: agents (病原) and infectious materials (感染性生物材料), BS-01 … BS-04."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Regime(models.TextChoices):
    ANIMAL = "animal", _("animal (designated animal diseases)")
    HUMAN = "human", _("human (communicable diseases)")


class Agent(models.Model):
    """A pathogen or toxin. ``organization`` empty: the shared catalogue loaded by migration
    (edited in the admin); otherwise an organization's own entry."""

    class Kind(models.TextChoices):
        BACTERIUM = "bacterium", _("bacterium")
        VIRUS = "virus", _("virus")
        FUNGUS = "fungus", _("fungus")
        PARASITE = "parasite", _("parasite")
        PRION = "prion", _("prion")
        TOXIN = "toxin", _("toxin")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="biosafety_agents",
        verbose_name=_("organization"),
    )
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    taxonomy = models.CharField(_("taxonomy"), max_length=200, blank=True)
    risk_group = models.PositiveSmallIntegerField(_("risk group"))
    zoonotic = models.BooleanField(_("zoonotic"), default=False)
    controlled = models.BooleanField(_("controlled pathogen or toxin"), default=False)
    designated_animal_disease = models.BooleanField(_("designated animal disease"), default=False)
    disease = models.CharField(_("disease"), max_length=200, blank=True)
    source = models.CharField(_("source of the classification"), max_length=300)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["risk_group", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(risk_group__gte=1, risk_group__lte=4), name="agent_risk_group_1_4"
            ),
            models.UniqueConstraint(
                fields=["organization", "code"], name="agent_code_unique_in_org"
            ),
            models.UniqueConstraint(
                fields=["code"],
                condition=Q(organization__isnull=True),
                name="agent_code_unique_in_catalogue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (RG{self.risk_group})"


class InfectiousMaterial(models.Model):
    """A holding of infectious material: class 1 pathogen, 2 derivative, 3 containing
    substance (BS-01), in one regime, owned by a lab (a core site)."""

    class MaterialClass(models.IntegerChoices):
        PATHOGEN = 1, _("class 1: pathogen")
        DERIVATIVE = 2, _("class 2: derivative")
        SUBSTANCE = 3, _("class 3: substance containing class 1 or 2")

    class Form(models.TextChoices):
        CULTURE = "culture", _("culture")
        STOCK = "stock", _("frozen stock")
        ISOLATE = "isolate", _("isolate")
        NUCLEIC_ACID = "nucleic_acid", _("nucleic acid")
        SERUM = "serum", _("serum or plasma")
        TISSUE = "tissue", _("tissue")
        TOXIN = "toxin", _("toxin")
        OTHER = "other", _("other")

    class Inactivation(models.TextChoices):
        NONE = "none", _("not inactivated")
        SOLVENT = "solvent", _("solvent")
        HEAT = "heat", _("heat")
        RADIATION = "radiation", _("radiation")
        OTHER = "other", _("other method")

    class Status(models.TextChoices):
        HELD = "held", pgettext_lazy("material status", "held")
        SUSPENDED = "suspended", _("suspended")
        SEALED = "sealed", _("sealed")
        TRANSFERRED = "transferred", _("transferred")
        DESTROYED = "destroyed", _("destroyed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="infectious_materials"
    )
    code = models.CharField(_("code"), max_length=40)
    agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, related_name="materials", verbose_name=_("agent")
    )
    material_class = models.PositiveSmallIntegerField(_("class"), choices=MaterialClass.choices)
    regime = models.CharField(_("regime"), max_length=6, choices=Regime.choices)
    form = models.CharField(_("form"), max_length=14, choices=Form.choices)
    description = models.CharField(_("description"), max_length=200, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=10)
    site = models.ForeignKey(
        "core.Site", on_delete=models.PROTECT, related_name="+", verbose_name=_("owner lab")
    )
    storage_unit = models.ForeignKey(
        "storage.StorageUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("stored in"),
    )
    specimen = models.ForeignKey(
        "specimens.Specimen",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("specimen"),
    )
    inactivation = models.CharField(
        _("inactivation"), max_length=10, choices=Inactivation.choices, default="none"
    )
    inactivation_validated = models.BooleanField(_("validated method"), default=False)
    inactivation_reference = models.CharField(_("validation reference"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.HELD
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "code", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="infectious_material_code_unique"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=0), name="infectious_material_quantity_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(material_class__in=[1, 2, 3]), name="infectious_material_class_1_3"
            ),
            models.CheckConstraint(
                condition=Q(inactivation="none", inactivation_validated=False)
                | ~Q(inactivation="none"),
                name="infectious_material_validated_needs_method",
            ),
        ]
        indexes = [models.Index(fields=["organization", "site", "material_class"])]

    def __str__(self) -> str:
        return f"{self.code} {self.agent.name}"

    @property
    def validly_inactivated(self) -> bool:
        """BS-04(3): inactivated by a validated method (solvent, heat, radiation, other)."""
        return self.inactivation != self.Inactivation.NONE and self.inactivation_validated

    @property
    def regimes(self) -> tuple[str, ...]:
        """A zoonotic agent brings the human regime's duties too (BS-01, §3.1)."""
        if self.agent.zoonotic and self.regime == Regime.ANIMAL:
            return (Regime.ANIMAL.value, Regime.HUMAN.value)
        return (self.regime,)
