"""Inspection exports (BS-07 and the authorities' checks): the inventory list and access
records, committee records (members, meetings with their decisions, approvals; BS-06),
training records, drills and incidents, as XLSX or PDF tables.
Each reads through the selectors, so only the user's organizations appear."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from biobank.biosafety import selectors
from biobank.biosafety.models import CommitteeMember, Meeting
from biobank.core.tenancy import AnyUser
from biobank.storage.models import StorageAccess

Rows = Iterable[Sequence[Any]]


@dataclass(frozen=True)
class Export:
    title: Any
    header: Sequence[Any]
    rows: Callable[[AnyUser], Rows]


def _when(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _inventory(user: AnyUser) -> Rows:
    for m in selectors.material_list_for_user(user).order_by("organization__code", "code"):
        yield [
            m.organization.code,
            m.code,
            m.agent.name,
            m.agent.risk_group,
            m.material_class,
            m.get_regime_display(),
            f"{m.quantity.normalize():f}",
            m.unit,
            m.site.code,
            m.storage_unit.barcode if m.storage_unit else "",
            m.get_status_display(),
        ]


def _access(user: AnyUser) -> Rows:
    units = (
        selectors.material_list_for_user(user)
        .exclude(storage_unit__isnull=True)
        .values_list("storage_unit_id", flat=True)
    )
    accesses = (
        StorageAccess.objects.filter(unit_id__in=list(units))
        .select_related("unit", "person")
        .order_by("-at", "-pk")[:5000]
    )
    for a in accesses:
        yield [
            _when(a.at),
            a.unit.barcode,
            a.unit.name,
            a.person.username if a.person else "",
            a.get_purpose_display(),
            a.note,
        ]


def _committee(user: AnyUser) -> Rows:
    for c in selectors.committee_list_for_user(user):
        yield [c.name, c.get_kind_display(), str(_("formed")), c.formed_on, c.report_reference, ""]
        members = CommitteeMember.objects.filter(committee=c).order_by("role", "name")
        for m in members:
            yield [c.name, m.get_role_display(), m.name, m.joined_on, m.left_on or "", ""]
        meetings = Meeting.objects.filter(committee=c).order_by("held_on", "pk")
        for meeting in meetings.prefetch_related("attendees", "decisions"):
            present = ", ".join(sorted(a.name for a in meeting.attendees.all()))
            yield [
                c.name,
                str(_("meeting")),
                f"{meeting.agenda} ({pgettext_lazy('attendance', 'present')}: {present})",
                meeting.held_on,
                "",
                str(_("signed minutes on file"))
                if meeting.minutes_document
                else (str(pgettext_lazy("meeting", "minutes")) if meeting.minutes else ""),
            ]
            for d in meeting.decisions.all():
                yield [
                    c.name,
                    d.get_decides_display(),
                    d.subject + (f" ({d.conditions})" if d.conditions else ""),
                    meeting.held_on,
                    d.reference,
                    d.get_outcome_display(),
                ]
    for a in selectors.approval_list_for_user(user).order_by("created_at"):
        yield [
            str(_("approval")),
            a.get_kind_display(),
            f"{a.material.code} @ {a.site.code}",
            a.committee_decided_on or "",
            a.committee_reference,
            a.get_status_display(),
        ]


def _training(user: AnyUser) -> Rows:
    for w in selectors.worker_list_for_user(user):
        for r in w.records.all():
            yield [
                w.user.username,
                w.user.display_name,
                w.started_on,
                r.get_kind_display(),
                r.title,
                r.on,
                f"{r.hours.normalize():f}",
                "✔" if r.recognised else "",
                "✔" if r.passed else "✘",
                r.tester_name,
            ]


def _drills(user: AnyUser) -> Rows:
    for d in selectors.drill_list_for_user(user):
        yield [
            d.held_on,
            d.get_kind_display(),
            d.plan.title,
            d.site.code if d.site else "",
            d.scenario,
            d.participants,
            d.findings,
        ]


def _incidents(user: AnyUser) -> Rows:
    for i in selectors.incident_list_for_user(user):
        yield [
            _when(i.noticed_at),
            i.title,
            i.get_kind_display(),
            i.level,
            i.site.code if i.site else "",
            i.risk_assessment,
            i.findings,
            i.get_status_display(),
            i.closed_on or "",
        ]


EXPORTS: dict[str, Export] = {
    "inventory": Export(
        _("Inventory list of infectious material"),
        [
            _("Organization"),
            _("Code"),
            _("Agent"),
            _("Risk group"),
            _("Class"),
            _("Regime"),
            _("Quantity"),
            _("Unit"),
            _("Site"),
            _("Stored in"),
            _("Status"),
        ],
        _inventory,
    ),
    "access": Export(
        _("Access records of storage holding infectious material"),
        [_("When"), _("Unit"), _("Name"), _("Person"), _("Purpose"), _("Note")],
        _access,
    ),
    "committee": Export(
        _("Committee records"),
        [
            _("Committee"),
            _("Kind or role"),
            _("Name or subject"),
            _("Date"),
            _("Reference"),
            _("Status"),
        ],
        _committee,
    ),
    "training": Export(
        _("Training records"),
        [
            _("Username"),
            _("Name"),
            _("Started"),
            _("Kind"),
            _("Title"),
            _("On"),
            _("Hours"),
            _("Recognised"),
            _("Passed"),
            _("Tester"),
        ],
        _training,
    ),
    "drills": Export(
        _("Emergency drills"),
        [
            _("Held on"),
            _("Kind"),
            _("Plan"),
            _("Site"),
            _("Scenario"),
            pgettext_lazy("drill", "Participants"),
            pgettext_lazy("drill", "Findings"),
        ],
        _drills,
    ),
    "incidents": Export(
        _("Incidents"),
        [
            _("Noticed"),
            _("Title"),
            _("Kind"),
            _("Level"),
            _("Site"),
            _("Risk assessment"),
            _("Findings"),
            _("Status"),
            _("Closed on"),
        ],
        _incidents,
    ),
}
