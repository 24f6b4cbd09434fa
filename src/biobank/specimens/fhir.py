"""A specimen as an HL7 FHIR R4 ``Specimen`` resource (exchange format, BB-01: the material and
its data travel together). The subject is the participant *code* as an identifier: never
identity (HB-01)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.utils import timezone

from biobank.specimens.models import MaterialType, Specimen

UCUM = {"mL": "mL", "µL": "uL", "g": "g", "mg": "mg", "µg": "ug", "ng": "ng",
        "cells": "{cells}", "pieces": "{pieces}"}  # fmt: skip
STATUS = {
    "available": "available",
    "reserved": "available",
    "expected": "unavailable",
    "collected": "available",
    "received": "available",
    "in_process": "available",
    "distributed": "unavailable",
    "depleted": "unavailable",
    "destroyed": "unavailable",
    "missing": "unavailable",
}
MATERIAL_SYSTEM = "https://directory.bbmri-eric.eu/api/v2/MaterialTypes"


# The MIABIS on FHIR implementation guide names its code system by id only in our copy of it
# (../shared/vectors/miabis/miabis-on-fhir); until its canonical URL is confirmed, a URN.
MIABIS_SYSTEM = "urn:miabis:CodeSystem:miabis-detailed-samply-type-cs"


def _material_coding(mtype: MaterialType, org: str) -> dict[str, str]:
    """The material type in the standard that really defines it: the BBMRI-ERIC Directory,
    else MIABIS, else the organization's own list (a local type maps to its standard one)."""
    standard = mtype.maps_to or mtype
    if standard.standard == "bbmri-directory":
        return {
            "system": MATERIAL_SYSTEM,
            "code": standard.standard_code,
            "display": standard.label_en,
        }
    if standard.miabis_code:
        return {"system": MIABIS_SYSTEM, "code": standard.miabis_code, "display": standard.label_en}
    return {
        "system": f"urn:biobank:{org}:material-type",
        "code": mtype.code,
        "display": mtype.label_en,
    }


def _id(barcode: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "-", barcode)[:64]


def _quantity(value: Decimal, unit: str) -> dict[str, Any]:
    return {
        "value": float(value),
        "unit": unit,
        "system": "http://unitsofmeasure.org",
        "code": UCUM.get(unit, unit),
    }


def _time(value: Any) -> str:
    return timezone.localtime(value).isoformat()


def specimen_resource(specimen: Specimen) -> dict[str, Any]:
    org = specimen.organization.code
    mtype = specimen.material_type
    coding = []
    if mtype.snomed_code:
        coding.append(
            {
                "system": "http://snomed.info/sct",
                "code": mtype.snomed_code,
                "display": mtype.label_en,
            }
        )
    coding.append(_material_coding(mtype, org))
    resource: dict[str, Any] = {
        "resourceType": "Specimen",
        "id": _id(specimen.barcode),
        "identifier": [{"system": f"urn:biobank:{org}:specimen", "value": specimen.barcode}],
        "status": STATUS.get(specimen.status, "unavailable"),
        "type": {"coding": coding, "text": mtype.label_en},
    }
    if specimen.participant_id is not None and specimen.participant is not None:
        resource["subject"] = {
            "identifier": {
                "system": f"urn:biobank:{org}:participant",
                "value": specimen.participant.code,
            },
            "display": f"participant {specimen.participant.code}",
        }
    if specimen.received_at:
        resource["receivedTime"] = _time(specimen.received_at)
    parents = [edge.parent for edge in specimen.parent_links.select_related("parent")]
    if parents:
        resource["parent"] = [
            {
                "identifier": {"system": f"urn:biobank:{org}:specimen", "value": p.barcode},
                "display": p.barcode,
            }
            for p in parents
        ]
    collection: dict[str, Any] = {"quantity": _quantity(specimen.quantity, specimen.unit)}
    if specimen.collected_at:
        collection["collectedDateTime"] = _time(specimen.collected_at)
    resource["collection"] = collection
    processing = [
        {
            "description": event.activity,
            "timeDateTime": _time(event.at),
        }
        for event in specimen.events.filter(
            activity__in=["preparation", "preservation", "freeze", "thaw"]
        )
    ]
    if processing:
        resource["processing"] = processing
    container: dict[str, Any] = {"specimenQuantity": _quantity(specimen.remaining, specimen.unit)}
    if specimen.container_type:
        container["type"] = {"text": specimen.container_type}
    resource["container"] = [container]
    notes = []
    if specimen.sprec:
        notes.append({"text": f"SPREC {specimen.sprec}"})
    if specimen.collection_id and specimen.collection is not None:
        notes.append({"text": f"collection {specimen.collection.code}"})
    if notes:
        resource["note"] = notes
    return resource
