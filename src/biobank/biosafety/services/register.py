"""Register use cases: the agent catalogue and infectious materials (BS-01 … BS-04)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from biobank.biosafety import rules
from biobank.biosafety.models import Agent, InfectiousMaterial, Regime
from biobank.biosafety.services.common import audit
from biobank.core.audit import snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, Organization, Site, User
from biobank.core.rule_registry import implements
from biobank.core.tenancy import require_permission
from biobank.specimens.models import Specimen
from biobank.storage.models import StorageUnit

AGENT_FIELDS = {
    "name",
    "name_zh",
    "kind",
    "taxonomy",
    "risk_group",
    "zoonotic",
    "controlled",
    "designated_animal_disease",
    "disease",
    "source",
    "is_active",
}
MATERIAL_FIELDS = {
    "form",
    "description",
    "quantity",
    "unit",
    "storage_unit",
    "inactivation",
    "inactivation_validated",
    "inactivation_reference",
}


def _risk_group(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
        raise ApplicationError(_("A risk group is 1, 2, 3 or 4."), rule="BS-02")
    return value


def _choice(value: str, choices: Any, label: str) -> str:
    if value not in choices.values:
        raise ApplicationError(_("Unknown %(label)s: %(value)s") % {"label": label, "value": value})
    return value


def agents_visible_to(organization: Organization) -> Any:
    """The shared catalogue and the organization's own agents."""
    return Agent.objects.filter(Q(organization__isnull=True) | Q(organization=organization))


@implements("BS-02")
@transaction.atomic
def agent_create(
    *,
    actor: User | None,
    organization: Organization,
    code: str,
    name: str,
    kind: str,
    risk_group: int,
    source: str,
    name_zh: str = "",
    taxonomy: str = "",
    zoonotic: bool = False,
    controlled: bool = False,
    designated_animal_disease: bool = False,
    disease: str = "",
) -> Agent:
    """Add an agent to the organization's catalogue, with the source of its risk group."""
    require_permission(actor, "biosafety.manage", organization)
    code = code.strip().lower()
    if not code or not name.strip():
        raise ApplicationError(_("An agent has a code and a name."))
    if not source.strip():
        raise ApplicationError(_("Say where the risk group comes from (source)."), rule="BS-02")
    _choice(kind, Agent.Kind, _("kind"))
    if agents_visible_to(organization).filter(code=code).exists():
        raise ApplicationError(_("An agent with code %s already exists.") % code)
    agent = Agent.objects.create(
        organization=organization,
        code=code,
        name=name.strip(),
        name_zh=name_zh.strip(),
        kind=kind,
        taxonomy=taxonomy.strip(),
        risk_group=_risk_group(risk_group),
        zoonotic=zoonotic,
        controlled=controlled,
        designated_animal_disease=designated_animal_disease,
        disease=disease.strip(),
        source=source.strip(),
    )
    audit(actor, organization, agent, AuditEvent.Action.CREATE)
    return agent


@transaction.atomic
def agent_update(*, actor: User | None, agent: Agent, reason: str = "", **fields: Any) -> Agent:
    """Change an organization's own agent. The shared catalogue is edited in the admin."""
    if agent.organization is None:
        raise ApplicationError(
            _("The shared catalogue is edited by the platform administrators, not here.")
        )
    require_permission(actor, "biosafety.manage", agent.organization)
    unknown = set(fields) - AGENT_FIELDS
    if unknown:
        raise ApplicationError(_("Unknown fields: %s") % ", ".join(sorted(unknown)))
    agent = (
        Agent.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=agent.pk)
    )
    before = snapshot(agent)
    for name, value in fields.items():
        setattr(agent, name, value)
    _risk_group(agent.risk_group)
    _choice(agent.kind, Agent.Kind, _("kind"))
    if not agent.source.strip():
        raise ApplicationError(_("Say where the risk group comes from (source)."), rule="BS-02")
    agent.save()
    assert agent.organization is not None
    audit(actor, agent.organization, agent, AuditEvent.Action.UPDATE, before, reason)
    return agent


def _check_inactivation(inactivation: str, validated: bool) -> None:
    _choice(inactivation, InfectiousMaterial.Inactivation, _("inactivation method"))
    if validated and inactivation == InfectiousMaterial.Inactivation.NONE:
        raise ApplicationError(_("Name the inactivation method that was validated."), rule="BS-04")


@implements("BS-01", "BS-04")
@transaction.atomic
def material_register(
    *,
    actor: User | None,
    organization: Organization,
    code: str,
    agent: Agent,
    material_class: int,
    regime: str,
    form: str,
    quantity: Decimal,
    unit: str,
    site: Site,
    storage_unit: StorageUnit | None = None,
    specimen: Specimen | None = None,
    inactivation: str = "none",
    inactivation_validated: bool = False,
    inactivation_reference: str = "",
    description: str = "",
) -> InfectiousMaterial:
    """Record infectious material held by a lab: its agent, class (BS-01), regime, form,
    quantity, where it is stored and how it was inactivated (BS-04(3))."""
    require_permission(actor, "biosafety.manage", organization)
    code = code.strip()
    if not code:
        raise ApplicationError(_("A material has a code."))
    if not agents_visible_to(organization).filter(pk=agent.pk).exists():
        raise ApplicationError(_("No such agent in this organization's catalogue."))
    if material_class not in InfectiousMaterial.MaterialClass.values:
        raise ApplicationError(
            _("The class is 1 (pathogen), 2 (derivative) or 3 (containing substance)."),
            rule="BS-01",
        )
    _choice(regime, Regime, _("regime"))
    if regime == Regime.ANIMAL and not agent.designated_animal_disease:
        raise ApplicationError(
            _("%s is not the pathogen of a designated animal disease: use the human regime.")
            % agent.name,
            rule="BS-01",
        )
    _choice(form, InfectiousMaterial.Form, _("form"))
    if quantity is None or quantity < 0:
        raise ApplicationError(_("A quantity is zero or more."))
    if not unit.strip():
        raise ApplicationError(_("Give the unit of the quantity."))
    if site.organization_id != organization.pk:
        raise ApplicationError(_("The lab belongs to another organization."))
    if storage_unit is not None and storage_unit.organization_id != organization.pk:
        raise ApplicationError(_("The storage unit belongs to another organization."))
    if specimen is not None and specimen.organization_id != organization.pk:
        raise ApplicationError(_("The specimen belongs to another organization."))
    _check_inactivation(inactivation, inactivation_validated)
    if InfectiousMaterial.objects.filter(organization=organization, code=code).exists():
        raise ApplicationError(_("A material with code %s already exists.") % code)
    material = InfectiousMaterial.objects.create(
        organization=organization,
        code=code,
        agent=agent,
        material_class=material_class,
        regime=regime,
        form=form,
        description=description.strip(),
        quantity=quantity,
        unit=unit.strip(),
        site=site,
        storage_unit=storage_unit,
        specimen=specimen,
        inactivation=inactivation,
        inactivation_validated=inactivation_validated,
        inactivation_reference=inactivation_reference.strip(),
        recorded_by=actor if actor is not None and actor.pk else None,
    )
    audit(actor, organization, material, AuditEvent.Action.CREATE)
    return material


@transaction.atomic
def material_update(
    *, actor: User | None, material: InfectiousMaterial, reason: str, **fields: Any
) -> InfectiousMaterial:
    """Change a material's form, quantity, storage or inactivation, with the reason."""
    require_permission(actor, "biosafety.manage", material.organization)
    unknown = set(fields) - MATERIAL_FIELDS
    if unknown:
        raise ApplicationError(_("Unknown fields: %s") % ", ".join(sorted(unknown)))
    if not reason.strip():
        raise ApplicationError(_("Say why the record changes."))
    material = (
        InfectiousMaterial.objects.select_for_update(of=("self",))
        .select_related("organization", "agent")
        .get(pk=material.pk)
    )
    if material.status == InfectiousMaterial.Status.DESTROYED:
        raise ApplicationError(_("The material was destroyed."), rule="BS-15")
    before = snapshot(material)
    for name, value in fields.items():
        setattr(material, name, value)
    if material.quantity < 0:
        raise ApplicationError(_("A quantity is zero or more."))
    unit_org = material.storage_unit.organization_id if material.storage_unit else None
    if unit_org not in (None, material.organization_id):
        raise ApplicationError(_("The storage unit belongs to another organization."))
    _check_inactivation(material.inactivation, material.inactivation_validated)
    material.save()
    audit(actor, material.organization, material, AuditEvent.Action.UPDATE, before, reason)
    return material


def material_level_check(
    material: InfectiousMaterial, site: Site | None = None, *, propagating: bool = True
) -> tuple[rules.LabLevel, rules.Decision]:
    """The level the material's work needs (BS-04) and whether ``site`` (its own lab by
    default) meets it (BS-03); animal work where the site is an animal facility."""
    site = site or material.site
    animal = site.containment.startswith("ABSL")
    level = rules.required_lab_level(
        material.agent.risk_group,
        animal=animal,
        propagating=propagating,
        inactivated=material.validly_inactivated,
    )
    return level, rules.site_level_sufficient(site.containment, level.minimum)


def agent_levels(agent: Agent) -> list[tuple[str, rules.LabLevel]]:
    """The containment an agent's work needs, in vitro and in animals (BS-03, BS-04)."""
    return [
        (_("in vitro"), rules.required_lab_level(agent.risk_group)),
        (_("in animals"), rules.required_lab_level(agent.risk_group, animal=True)),
        (
            _("in vitro, not propagating"),
            rules.required_lab_level(agent.risk_group, propagating=False),
        ),
    ]
