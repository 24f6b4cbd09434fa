"""Parameters of lifecycle events (BB-02), one pydantic schema per activity that has them.

Validated on write, so the JSON in ``SpecimenEvent.parameters`` always has a known shape and
the SPREC code can be derived from it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CollectionParameters(_Strict):
    primary_container: str | None = Field(None, description="SPREC primary container code")
    tube: str | None = None
    precentrifugation_minutes: int | None = Field(None, ge=0)
    precentrifugation_temperature_c: float | None = Field(None, ge=-200, le=60)


class Centrifugation(_Strict):
    g: int = Field(gt=0, le=100_000)
    minutes: int = Field(gt=0, le=600)
    temperature_c: float = Field(ge=-20, le=40)
    braking: bool = True


class PreparationParameters(_Strict):
    method: str = Field(min_length=1, max_length=60)
    centrifugation: Centrifugation | None = None
    second_centrifugation: Centrifugation | None = None
    postcentrifugation_minutes: int | None = Field(None, ge=0)
    postcentrifugation_temperature_c: float | None = Field(None, ge=-200, le=60)
    kit: str | None = None


class TemperatureParameters(_Strict):
    temperature_c: float = Field(ge=-200, le=60)
    storage_kind: str | None = None


class ReceptionParameters(_Strict):
    condition: str | None = None
    temperature_c: float | None = Field(None, ge=-200, le=60)


class DestructionParameters(_Strict):
    method: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=300)


SCHEMAS: dict[str, type[BaseModel]] = {
    "collection": CollectionParameters,
    "acquisition": CollectionParameters,
    "reception": ReceptionParameters,
    "preparation": PreparationParameters,
    "preservation": TemperatureParameters,
    "freeze": TemperatureParameters,
    "storage": TemperatureParameters,
    "destruction": DestructionParameters,
}


class ParameterError(ValueError):
    pass


def validate_parameters(activity: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters as stored: validated by the activity's schema, unset values dropped;
    activities without a schema take flat scalar values."""
    schema = SCHEMAS.get(activity)
    if schema is None:
        for key, value in parameters.items():
            if not isinstance(value, str | int | float | bool) or value is None:
                raise ParameterError(f"{key}: give a plain value")
        return dict(parameters)
    try:
        return schema.model_validate(parameters).model_dump(exclude_none=True)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ParameterError(problems) from exc
