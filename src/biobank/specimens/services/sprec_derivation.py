"""The SPREC code of a fluid specimen, derived from the events recorded on it and on the
specimens it was prepared from (BB-02). Tissue codes are entered, not derived."""

from __future__ import annotations

from typing import Any

from biobank.specimens import sprec
from biobank.specimens.models import Specimen, SpecimenEvent


def _chain(specimen: Specimen) -> list[Specimen]:
    """The specimen and its ancestors, root first (first parent for pools)."""
    chain, seen, current = [specimen], {specimen.pk}, specimen
    while True:
        edge = current.parent_links.select_related("parent").order_by("id").first()
        if edge is None or edge.parent_id in seen:
            return list(reversed(chain))
        current = edge.parent
        seen.add(current.pk)
        chain.append(current)


def _spin(data: dict[str, Any] | None) -> sprec.Centrifugation | None:
    if not data:
        return None
    return sprec.Centrifugation(
        g_force=data.get("g"),
        minutes=data.get("minutes"),
        temperature_c=data.get("temperature_c"),
        braking=data.get("braking"),
    )


def derived_sprec(specimen: Specimen) -> str | None:
    """The fluid SPREC code the recorded events support, or None when the material type has
    no SPREC fluid sample type or nothing was recorded."""
    sample_type = specimen.material_type.sprec_code
    if not sample_type or sample_type not in sprec.codes_for(sprec.FLUID, "sample_type"):
        return None
    chain = _chain(specimen)
    events = list(SpecimenEvent.objects.filter(specimen__in=chain).order_by("at", "id"))
    if not events:
        return None
    collection: dict[str, Any] = next(
        (e.parameters for e in events if e.activity in {"collection", "acquisition"}), {}
    )
    spins = [
        e.parameters
        for e in events
        if e.activity == "preparation" and e.parameters.get("centrifugation")
    ]
    first = spins[0] if spins else None
    second = None
    if first and first.get("second_centrifugation"):
        second = first["second_centrifugation"]
    elif len(spins) > 1:
        second = spins[1]["centrifugation"]
    last = spins[-1] if spins else {}
    collected_event = next((e for e in events if e.activity in {"collection", "acquisition"}), None)
    first_spin_event = next(
        (e for e in events if e.activity == "preparation" and e.parameters.get("centrifugation")),
        None,
    )
    delay = collection.get("precentrifugation_minutes")
    if delay is None and collected_event is not None and first_spin_event is not None:
        # not recorded as such: the time between the recorded collection and first spin
        delay = (first_spin_event.at - collected_event.at).total_seconds() / 60
    waiting_c = collection.get("precentrifugation_temperature_c")
    if waiting_c is None:
        waiting_c = next(
            (
                e.parameters.get("temperature_c")
                for e in events
                if e.activity == "reception" and e.parameters.get("temperature_c") is not None
            ),
            None,
        )
    storage: dict[str, Any] = next(
        (
            e.parameters
            for e in reversed(events)
            if e.specimen_id == specimen.pk and e.activity in {"storage", "freeze", "preservation"}
        ),
        {},
    )
    try:
        code = sprec.fluid_code_from_events(
            sample_type=sample_type,
            primary_container=collection.get("primary_container"),
            precentrifugation_minutes=delay,
            precentrifugation_temperature_c=waiting_c,
            centrifugation=_spin(first["centrifugation"]) if first else None,
            second_centrifugation=_spin(second),
            postcentrifugation_minutes=last.get("postcentrifugation_minutes"),
            postcentrifugation_temperature_c=last.get("postcentrifugation_temperature_c"),
            storage_temperature_c=storage.get("temperature_c"),
            storage_container=storage.get("storage_kind"),
        )
    except sprec.SprecError:
        return None
    return code.code
