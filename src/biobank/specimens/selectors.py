"""Reads for specimens and collections, narrowed to the user's organizations.

The search pages by keyset (``after`` = the last id seen), so a page costs the same at row
10 and at row 900,000, and it never counts the whole table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

from django.db.models import Q, QuerySet
from django.db.models.functions import Substr
from django.http import Http404
from django.utils import timezone

from biobank.core.tenancy import AnyUser, organizations_with_permission
from biobank.participants.models import Participant
from biobank.specimens.models import Collection, Lineage, Specimen


def collection_list_for_user(user: AnyUser) -> QuerySet[Collection]:
    return Collection.objects.filter(
        organization__in=organizations_with_permission(user, "specimen.view")
    ).select_related("organization")


def collection_get_for_user(user: AnyUser, public_id: UUID | str) -> Collection:
    collection = collection_list_for_user(user).filter(public_id=public_id).first()
    if collection is None:
        raise Http404("collection not found")
    return collection


def specimen_base_for_user(user: AnyUser) -> QuerySet[Specimen]:
    # a literal list, not a subquery: the planner then walks the (organization, …, id)
    # indexes in id order instead of sorting the whole table
    organizations = list(
        organizations_with_permission(user, "specimen.view").values_list("pk", flat=True)
    )
    return Specimen.objects.filter(organization_id__in=organizations)


def specimen_get_for_user(user: AnyUser, barcode: str) -> Specimen:
    specimen = (
        specimen_base_for_user(user)
        .filter(barcode=barcode)
        .select_related(
            "organization",
            "collection",
            "participant",
            "material_type",
            "acquired_type",
            "category",
            "collection_site",
        )
        .first()
    )
    if specimen is None:
        raise Http404("specimen not found")
    return specimen


@dataclass
class SpecimenQuery:
    collection: str = ""
    material_type: str = ""
    status: str = ""
    participant: str = ""
    barcode: str = ""
    collected_from: date | None = None
    collected_to: date | None = None
    sprec: str = ""  # e.g. "SER" or "SER-SST"; matches the start of the code
    storage_temperature: str = ""


SPREC_PROBE = 2000  # matches beyond which a SPREC prefix is "common"


def _sprec_starting_with(specimens: QuerySet[Specimen], prefix: str) -> QuerySet[Specimen]:
    """Specimens whose SPREC code starts with ``prefix``, planned by how many match.

    Few matches: a range (not LIKE, so the SPREC index serves it on every database) lists them
    all and the page sorts them by id. Many: sorting every match by id costs more than walking
    the id order and testing each row, which fills a page after a few hundred rows; comparing
    an expression keeps the planner off the field's index. The probe counts at most
    ``SPREC_PROBE`` matches in index order (no ORDER BY: sorting them is what it avoids). The
    walk assumes a common code is spread over the years, as a processing protocol in use is;
    a common code used only lately would be found at the end of the walk.
    """
    in_range = Q(sprec__gte=prefix, sprec__lt=prefix + "\U0010ffff")
    if specimens.filter(in_range).order_by().values("pk")[:SPREC_PROBE].count() < SPREC_PROBE:
        return specimens.filter(in_range)
    head = Substr("sprec", 1, len(prefix))
    return specimens.annotate(sprec_head=head).filter(sprec_head=prefix)


def specimen_search_for_user(
    user: AnyUser, query: SpecimenQuery, *, after: int | None = None, limit: int = 50
) -> list[Specimen]:
    """One page of matching specimens in id order, starting after ``after``."""
    specimens = specimen_base_for_user(user)
    if query.barcode:
        # always the range: barcodes are given in sequence, so a common prefix is a block of ids
        # that walking the id order would reach only at its end
        prefix = query.barcode.strip()
        specimens = specimens.filter(barcode__gte=prefix, barcode__lt=prefix + "\U0010ffff")
    if query.collection:
        specimens = specimens.filter(collection__code=query.collection)
    if query.material_type:
        specimens = specimens.filter(material_type__code=query.material_type)
    if query.status:
        specimens = specimens.filter(status=query.status)
    if query.participant:
        # the participant's id first: a join lets SQLite walk the whole table to find them
        participants = list(
            Participant.objects.filter(
                code=query.participant.strip(),
                organization_id__in=organizations_with_permission(user, "specimen.view"),
            ).values_list("pk", flat=True)
        )
        specimens = specimens.filter(participant_id__in=participants)
    if query.sprec:
        specimens = _sprec_starting_with(specimens, query.sprec.strip().upper())
    tz = timezone.get_current_timezone()
    if query.collected_from:
        specimens = specimens.filter(
            collected_at__gte=datetime.combine(query.collected_from, time.min, tzinfo=tz)
        )
    if query.collected_to:
        specimens = specimens.filter(
            collected_at__lt=datetime.combine(
                query.collected_to + timedelta(days=1), time.min, tzinfo=tz
            )
        )
    if query.storage_temperature:
        from biobank.specimens.models import StorageTemperature

        band = StorageTemperature.objects.filter(code=query.storage_temperature).first()
        if band is not None and band.min_c is not None and band.max_c is not None:
            specimens = specimens.filter(
                events__activity="storage",
                events__parameters__temperature_c__gte=float(band.min_c),
                events__parameters__temperature_c__lte=float(band.max_c),
            ).distinct()
    if after is not None:
        specimens = specimens.filter(id__gt=after)
    return list(
        specimens.select_related(
            "organization", "collection", "participant", "material_type"
        ).order_by("id")[:limit]
    )


def lineage_for(specimen: Specimen) -> tuple[list[Lineage], list[Lineage]]:
    """(edges to parents, edges to children) of one specimen."""
    parents = list(specimen.parent_links.select_related("parent__material_type"))
    children = list(specimen.child_links.select_related("child__material_type"))
    return parents, children


def lineage_tree(specimen: Specimen, *, depth: int = 6) -> dict[str, object]:
    """The descendants of a specimen as nested dicts, ``depth`` levels down."""
    node: dict[str, object] = {
        "barcode": specimen.barcode,
        "material_type": specimen.material_type.code,
        "status": specimen.status,
        "remaining": str(specimen.remaining),
        "unit": specimen.unit,
        "children": [],
    }
    if depth > 0:
        for edge in specimen.child_links.select_related("child__material_type").order_by("id"):
            child = lineage_tree(edge.child, depth=depth - 1)
            child["kind"] = edge.kind
            child["quantity_taken"] = str(edge.quantity_taken)
            node["children"].append(child)  # type: ignore[attr-defined]
    return node


def root_of(specimen: Specimen) -> Specimen:
    """Walk parents up to the first specimen (the first parent, for pools)."""
    current, seen = specimen, set()
    while current.pk not in seen:
        seen.add(current.pk)
        edge = current.parent_links.select_related("parent__material_type").order_by("id").first()
        if edge is None:
            return current
        current = edge.parent
    return current


EXPORT_COLUMNS = (
    "barcode", "participant_code", "collection_code", "material_type", "quantity", "unit",
    "collected_at", "parent_barcode", "sprec", "container_barcode", "position",
    "quantity_taken", "source_organism", "source_strain",
)  # fmt: skip


def specimen_export_rows(
    user: AnyUser, query: SpecimenQuery, *, batch: int = 2000
) -> Iterator[tuple[str, ...]]:
    """Every specimen matching ``query``, as rows of the specimen import's columns
    (``EXPORT_COLUMNS``), in id order and a batch at a time, so exporting and importing again
    into an organization with the same collections and boxes gives the same rows."""
    from biobank.storage.models import Placement
    from biobank.storage.rules import Geometry, label

    after: int | None = None
    while True:
        page = specimen_search_for_user(user, query, after=after, limit=batch)
        if not page:
            return
        ids = [s.pk for s in page]
        parents = {
            edge.child_id: edge
            for edge in Lineage.objects.filter(child_id__in=ids)
            .select_related("parent")
            .order_by("-id")
        }
        places = {
            p.specimen_id: p
            for p in Placement.objects.filter(specimen_id__in=ids).select_related("unit")
        }
        for specimen in page:
            edge = parents.get(specimen.pk)
            place = places.get(specimen.pk)
            position = ""
            if place is not None and place.unit.rows and place.unit.columns:
                unit = place.unit
                shape = Geometry(unit.rows, unit.columns, unit.scheme, unit.order)  # type: ignore[arg-type]
                position = label(shape, place.row, place.column)
            collected = (
                timezone.localtime(specimen.collected_at).isoformat(timespec="seconds")
                if specimen.collected_at
                else ""
            )
            yield (
                specimen.barcode,
                specimen.participant.code if specimen.participant else "",
                specimen.collection.code if specimen.collection else "",
                specimen.material_type.code,
                _plain(specimen.quantity),
                specimen.unit,
                collected,
                edge.parent.barcode if edge else "",
                specimen.sprec,
                place.unit.barcode if place else "",
                position,
                _plain(edge.quantity_taken) if edge else "",
                specimen.source_organism,
                specimen.source_strain,
            )
        after = page[-1].pk


def _plain(value: Decimal) -> str:
    """4.5000 → "4.5"; 10.0000 → "10"."""
    return format(value.normalize(), "f")
