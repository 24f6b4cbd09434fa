"""Specimens and collections in the HTTP API, with the FHIR R4 Specimen export."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from biobank.core.errors import ApplicationError
from biobank.core.models import User
from biobank.core.tenancy import organization_of
from biobank.participants.models import Participant
from biobank.specimens import selectors
from biobank.specimens.fhir import specimen_resource
from biobank.specimens.models import Collection, DataField, Specimen
from biobank.specimens.services import data as data_services
from biobank.specimens.services import specimens as specimen_services

router = Router(tags=["specimens"])


def _aware(value: datetime | None) -> datetime | None:
    """A time without an offset is Taiwan time, as on the pages."""
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class CollectionOut(Schema):
    id: UUID = Field(alias="public_id")
    organization: str = Field(alias="organization.code")
    code: str
    name: str
    kind: str
    principal_investigator: str
    irb_reference: str
    irb_valid_from: date | None
    irb_valid_until: date | None


class SpecimenOut(Schema):
    barcode: str
    organization: str = Field(alias="organization.code")
    collection: str | None = None
    participant: str | None = None
    source_organism: str
    category: str = Field(alias="category_id")
    material_type: str = Field(alias="material_type.code")
    acquired_type: str = Field(alias="acquired_type.code")
    quantity: Decimal
    remaining: Decimal
    unit: str
    concentration: Decimal | None
    concentration_unit: str
    container_type: str
    collected_at: datetime | None
    received_at: datetime | None
    sprec: str
    freeze_thaw_count: int
    status: str
    consent_withdrawn: bool
    on_hold: bool
    infectious: bool
    delinked: bool

    @staticmethod
    def resolve_collection(obj: Specimen) -> str | None:
        return obj.collection.code if obj.collection else None

    @staticmethod
    def resolve_participant(obj: Specimen) -> str | None:
        return obj.participant.code if obj.participant else None


class SpecimenPage(Schema):
    items: list[SpecimenOut]
    next_after: int | None


class SpecimenFilter(Schema):
    barcode: str = ""
    collection: str = ""
    material_type: str = ""
    status: str = ""
    participant: str = ""
    collected_from: date | None = None
    collected_to: date | None = None
    sprec: str = ""
    storage_temperature: str = ""
    after: int | None = None
    limit: int = 50


class SpecimenIn(Schema):
    organization: str
    material_type: str
    quantity: Decimal
    unit: str
    barcode: str = ""
    collection: str = ""
    participant: str = ""
    source_organism: str = ""
    source_strain: str = ""
    collected_at: datetime | None = None
    container_type: str = ""


class AliquotIn(Schema):
    count: int
    quantity_each: Decimal
    keep_empty: bool = False


class DeriveIn(Schema):
    material_type: str
    quantity_taken: Decimal
    quantities: list[Decimal]
    unit: str
    parameters: dict[str, Any] | None = None
    concentration: Decimal | None = None
    concentration_unit: str = ""


class EventIn(Schema):
    activity: str
    at: datetime
    sop: str = ""
    sop_version: str = ""
    parameters: dict[str, Any] = {}
    result: str = ""


class EventOut(Schema):
    activity: str
    at: datetime
    by: str | None = Field(None, alias="by.username")
    sop: str
    sop_version: str
    parameters: dict[str, Any]
    result: str


@router.get("/collections", response=list[CollectionOut])
def collection_list(request: HttpRequest) -> list[Collection]:
    return list(selectors.collection_list_for_user(request.user))


@router.get("/specimens", response=SpecimenPage)
def specimen_list(request: HttpRequest, filters: Query[SpecimenFilter]) -> dict[str, Any]:
    """One page of specimens; pass ``next_after`` back as ``after`` for the next page."""
    data = filters.dict()
    after, limit = data.pop("after"), max(1, min(int(data.pop("limit")), 500))
    items = selectors.specimen_search_for_user(
        request.user, selectors.SpecimenQuery(**data), after=after, limit=limit + 1
    )
    return {
        "items": items[:limit],
        "next_after": items[limit - 1].pk if len(items) > limit else None,
    }


@router.post("/specimens", response={201: SpecimenOut})
def specimen_create(request: HttpRequest, payload: SpecimenIn) -> Status:
    # the organization from the memberships the permission check loads anyway; collection and
    # participant by their unique codes (``get`` compiles no ORDER BY, unlike ``first``)
    organization = organization_of(request.user, payload.organization)
    if organization is None:
        raise Http404("organization not found")
    collection = participant = None
    if payload.collection:
        try:
            collection = Collection.objects.get(organization=organization, code=payload.collection)
        except Collection.DoesNotExist:
            raise ApplicationError(
                f"no collection {payload.collection} in {organization.code}"
            ) from None
    if payload.participant:
        try:
            participant = Participant.objects.get(
                organization=organization, code=payload.participant
            )
        except Participant.DoesNotExist:
            raise ApplicationError(
                f"no participant {payload.participant} in {organization.code}"
            ) from None
    specimen = specimen_services.specimen_register(
        actor=_user(request),
        organization=organization,
        material_type=payload.material_type,
        quantity=payload.quantity,
        unit=payload.unit,
        barcode=payload.barcode,
        collection=collection,
        participant=participant,
        source_organism=payload.source_organism,
        source_strain=payload.source_strain,
        collected_at=_aware(payload.collected_at),
        container_type=payload.container_type,
    )
    return Status(201, specimen)


@router.get("/specimens/{barcode}", response=SpecimenOut)
def specimen_detail(request: HttpRequest, barcode: str) -> Specimen:
    return selectors.specimen_get_for_user(request.user, barcode)


@router.get("/specimens/{barcode}/events", response=list[EventOut])
def specimen_events(request: HttpRequest, barcode: str) -> list[Any]:
    specimen = selectors.specimen_get_for_user(request.user, barcode)
    return list(specimen.events.select_related("by"))


@router.post("/specimens/{barcode}/events", response={201: EventOut})
def specimen_event(request: HttpRequest, barcode: str, payload: EventIn) -> Status:
    specimen = selectors.specimen_get_for_user(request.user, barcode)
    event = specimen_services.specimen_event_record(
        actor=_user(request),
        specimen=specimen,
        activity=payload.activity,
        at=_aware(payload.at) or payload.at,
        sop=payload.sop,
        sop_version=payload.sop_version,
        parameters=payload.parameters,
        result=payload.result,
    )
    return Status(201, event)


@router.get("/specimens/{barcode}/lineage")
def specimen_lineage(request: HttpRequest, barcode: str) -> dict[str, Any]:
    """Parents (walking up) and the tree of descendants (walking down)."""
    specimen = selectors.specimen_get_for_user(request.user, barcode)
    parents, _children = selectors.lineage_for(specimen)
    return {
        "barcode": specimen.barcode,
        "parents": [
            {"barcode": e.parent.barcode, "kind": e.kind, "quantity_taken": str(e.quantity_taken)}
            for e in parents
        ],
        "root": selectors.root_of(specimen).barcode,
        "descendants": selectors.lineage_tree(specimen)["children"],
    }


@router.post("/specimens/{barcode}/aliquots", response={201: list[SpecimenOut]})
def specimen_aliquot(request: HttpRequest, barcode: str, payload: AliquotIn) -> Status:
    specimen = selectors.specimen_get_for_user(request.user, barcode)
    made = specimen_services.specimen_aliquot(
        actor=_user(request),
        parent=specimen,
        count=payload.count,
        quantity_each=payload.quantity_each,
        keep_empty=payload.keep_empty,
    )
    return Status(201, made)


@router.post("/specimens/{barcode}/derivatives", response={201: list[SpecimenOut]})
def specimen_derive(request: HttpRequest, barcode: str, payload: DeriveIn) -> Status:
    specimen = selectors.specimen_get_for_user(request.user, barcode)
    made = specimen_services.specimen_derive(
        actor=_user(request),
        parent=specimen,
        material_type=payload.material_type,
        quantity_taken=payload.quantity_taken,
        quantities=payload.quantities,
        unit=payload.unit,
        parameters=payload.parameters,
        concentration=payload.concentration,
        concentration_unit=payload.concentration_unit,
    )
    return Status(201, made)


class DataIn(Schema):
    field: str
    value: str


class DataOut(Schema):
    field: str = Field(alias="field.key")
    value: str


class ResultIn(Schema):
    analyte: str
    value: str
    performed_on: date
    unit: str = ""
    method: str = ""
    qc_flag: str = "pass"


class ResultOut(Schema):
    analyte: str
    value: str
    unit: str
    method: str
    performed_on: date
    qc_flag: str


@router.get("/specimens/{barcode}/data", response=list[DataOut])
def specimen_data(request: HttpRequest, barcode: str) -> list[Any]:
    specimen = selectors.specimen_get_for_user(request.user, barcode)
    return list(specimen.data.select_related("field"))


@router.post("/specimens/{barcode}/data", response={201: DataOut})
def specimen_data_set(request: HttpRequest, barcode: str, payload: DataIn) -> Status:
    """Set an associated-data value defined by the specimen's collection (BB-01)."""
    specimen = selectors.specimen_get_for_user(request.user, barcode)
    field = DataField.objects.filter(collection=specimen.collection, key=payload.field).first()
    if field is None:
        raise ApplicationError(f"the collection defines no field {payload.field}", rule="BB-01")
    value = data_services.data_value_set(
        actor=_user(request), field=field, value=payload.value, specimen=specimen
    )
    return Status(201, value)


@router.get("/specimens/{barcode}/results", response=list[ResultOut])
def specimen_results(request: HttpRequest, barcode: str) -> list[Any]:
    specimen = selectors.specimen_get_for_user(request.user, barcode)
    return list(specimen.results.all())


@router.post("/specimens/{barcode}/results", response={201: ResultOut})
def specimen_result_add(request: HttpRequest, barcode: str, payload: ResultIn) -> Status:
    specimen = selectors.specimen_get_for_user(request.user, barcode)
    result = data_services.test_result_record(
        actor=_user(request), specimen=specimen, **payload.dict()
    )
    return Status(201, result)


@router.get("/specimens/{barcode}/fhir")
def specimen_fhir(request: HttpRequest, barcode: str) -> JsonResponse:
    """The specimen as an HL7 FHIR R4 Specimen resource (application/fhir+json)."""
    specimen = selectors.specimen_get_for_user(request.user, barcode)
    return JsonResponse(specimen_resource(specimen), content_type="application/fhir+json")
