from biobank.specimens.models.collections import Collection, DataField, SpecimenRequirement
from biobank.specimens.models.reference import MaterialCategory, MaterialType, StorageTemperature
from biobank.specimens.models.specimens import (
    DataValue,
    Lineage,
    Specimen,
    SpecimenEvent,
    SpecimenNumbering,
    TestResult,
)

__all__ = [
    "Collection",
    "DataField",
    "DataValue",
    "Lineage",
    "MaterialCategory",
    "MaterialType",
    "Specimen",
    "SpecimenEvent",
    "SpecimenNumbering",
    "SpecimenRequirement",
    "StorageTemperature",
    "TestResult",
]
