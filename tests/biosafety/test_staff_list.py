"""The inventory's staff list from the training records (BS-11: staff lists, training courses
and hours): the site's lab workers with their course hours in the period and their training
status (BS-09, HP-05), on the checklist, its page, its PDF and the API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO

import pytest
import time_machine
from django.urls import reverse
from pypdf import PdfReader

from biobank.biosafety import rules, services
from biobank.biosafety.models import LabWorker
from tests.biosafety.conftest import register

pytestmark = pytest.mark.django_db
HUMAN_TRAINING_RULE = rules.figure("human", "training", "new_staff_hours").rule


def at(day: date) -> time_machine.travel:
    return time_machine.travel(datetime(day.year, day.month, day.day, 2, tzinfo=UTC), tick=False)


def course(cast, worker: LabWorker, on: date, hours: str, title: str = "生物安全訓練") -> None:
    services.training_record_add(
        actor=cast.biosafety, worker=worker, kind="course", title=title, on=on, hours=Decimal(hours)
    )


@pytest.fixture
def site_with_staff(cast, bsl2):
    """chen works at the BSL2 lab since January; chang is a lab worker assigned nowhere; lin
    (the manager, a lab role) is not on the list of lab workers."""
    with at(date(2026, 1, 6)):
        chen = services.worker_register(
            actor=cast.biosafety,
            organization=cast.demo,
            user=cast.technician,
            started_on=date(2026, 1, 5),
        )
        course(cast, chen, date(2026, 1, 2), "8", "新進人員訓練")
        services.assignment_create(actor=cast.biosafety, worker=chen, site=bsl2)
        services.worker_register(
            actor=cast.biosafety,
            organization=cast.demo,
            user=cast.biosafety,
            started_on=date(2026, 1, 5),
        )
        register(cast, bsl2, "SA-1", "s-aureus")
    with at(date(2026, 3, 1)):
        course(cast, chen, date(2026, 3, 1), "2", "舊課程")
    with at(date(2026, 5, 1)):
        course(cast, chen, date(2026, 5, 1), "3", "溢出處理")
    return chen


def test_bs11_the_checklist_lists_the_sites_workers_with_hours_in_the_period(
    cast, bsl2, site_with_staff
):
    with at(date(2026, 7, 10)):
        inventory = services.inventory_start(actor=cast.biosafety, site=bsl2, regime="human")
    # HP-02: no earlier inventory, so the period is the 3 months before it
    assert inventory.staff_since == date(2026, 4, 10)
    staff = {entry.username: entry for entry in services.staff_entries(inventory)}
    chen = staff["chen"]
    assert chen.worker == str(site_with_staff.public_id)
    assert (chen.hours, chen.courses) == (Decimal(3), 1)  # the March course is before the period
    assert chen.compliant is True and chen.started_on == date(2026, 1, 5)
    assert chen.role == "technician"
    lin = staff["lin"]  # a lab role, not on the list of lab workers
    assert lin.compliant is None and lin.worker == "" and lin.rule == "BS-09"
    assert "chang" not in staff  # a lab worker, but not at this site
    assert "wang" not in staff  # QA is no lab role


def test_bs11_hp02_the_next_checklist_counts_hours_since_the_last_inventory(
    cast, bsl2, site_with_staff
):
    with at(date(2026, 7, 10)):
        first = services.inventory_start(actor=cast.biosafety, site=bsl2, regime="human")
        services.inventory_record(
            actor=cast.biosafety, line=first.lines.get(), found_quantity=Decimal(5)
        )
        services.inventory_complete(actor=cast.biosafety, inventory=first)
    with at(date(2026, 8, 1)):
        course(cast, site_with_staff, date(2026, 8, 1), "4", "年度訓練")
    with at(date(2026, 10, 10)):
        second = services.inventory_start(actor=cast.biosafety, site=bsl2, regime="human")
    assert second.staff_since == date(2026, 7, 10)
    chen = next(e for e in services.staff_entries(second) if e.username == "chen")
    assert (chen.hours, chen.courses) == (Decimal(4), 1)


def test_bs09_hp05_a_worker_without_the_years_hours_is_listed_not_compliant(
    cast, bsl2, site_with_staff
):
    with at(date(2027, 2, 1)):
        inventory = services.inventory_start(actor=cast.biosafety, site=bsl2, regime="human")
    chen = next(e for e in services.staff_entries(inventory) if e.username == "chen")
    # 5 hours in the year to 2027-01-05 would do; here the year had 2 + 3
    assert chen.compliant is True
    with at(date(2028, 2, 1)):
        later = services.inventory_start(actor=cast.biosafety, site=bsl2, regime="animal")
    chen = next(e for e in services.staff_entries(later) if e.username == "chen")
    assert chen.compliant is False and chen.hours == 0
    assert "2028-01-05" in chen.reason and chen.rule == "BS-09"
    assert later.staff_since == date(2027, 8, 1)  # BS-11: 6 months in the animal regime
    assert HUMAN_TRAINING_RULE == "HP-05"


def test_bs11_the_page_pdf_and_api_show_the_staff_list(cast, bsl2, site_with_staff, client):
    with at(date(2026, 7, 10)):
        inventory = services.inventory_start(actor=cast.biosafety, site=bsl2, regime="human")
    chen = next(e for e in services.staff_entries(inventory) if e.username == "chen")
    client.force_login(cast.auditor)
    page = client.get(
        reverse("biosafety:inventory-detail", kwargs={"public_id": inventory.public_id})
    ).content.decode()
    assert chen.name in page and "2026-04-10" in page and "✔" in page
    assert reverse("biosafety:worker-detail", kwargs={"public_id": chen.worker}) in page
    pdf = client.get(reverse("biosafety:inventory-pdf", kwargs={"public_id": inventory.public_id}))
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf.content)).pages)
    assert chen.name in text and "BS-09" in text
    found = client.get(f"/api/v1/biosafety/inventories/{inventory.public_id}").json()
    entry = next(s for s in found["staff"] if s["username"] == "chen")
    assert Decimal(entry["hours"]) == 3 and entry["compliant"] is True
    assert found["staff_since"] == "2026-04-10"


def test_an_inventory_started_before_the_training_list_still_shows_its_staff(
    cast, bsl2, client, tb_stock
):
    inventory = services.inventory_start(actor=cast.biosafety, site=cast.demo_site, regime="human")
    inventory.staff = [{"username": "chen", "name": "陳技術員", "role": "technician"}]
    inventory.staff_since = None
    inventory.save()
    client.force_login(cast.biosafety)
    page = client.get(
        reverse("biosafety:inventory-detail", kwargs={"public_id": inventory.public_id})
    ).content.decode()
    assert "陳技術員" in page
    pdf = client.get(reverse("biosafety:inventory-pdf", kwargs={"public_id": inventory.public_id}))
    assert "陳技術員" in PdfReader(BytesIO(pdf.content)).pages[0].extract_text()
