"""The dashboard: a manager's overdue and due-soon obligations, and nobody else's."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from biobank.core import services

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_manager_signs_in_and_sees_the_dashboard_with_overdue_and_due_soon_obligations(
    page: Page, ui, cast
):
    # given one overdue and one due-soon obligation in DEMO, and one of OTHER's
    now = timezone.now()
    services.obligation_open(
        organization=cast.demo,
        rule_id="BS-11",
        title="Annual biosafety training of LAB-BSL3 staff",
        due_at=now - timedelta(days=2),
        responsible_role="biosafety_officer",
    )
    services.obligation_open(
        organization=cast.demo,
        rule_id="BS-12",
        title="Biosafety cabinet certification",
        due_at=now + timedelta(days=3),
        responsible_role="biosafety_officer",
    )
    services.obligation_open(
        organization=cast.other,
        rule_id="BS-11",
        title="Other biobank's training",
        due_at=now - timedelta(days=1),
        responsible_role="biosafety_officer",
    )

    # when the DEMO manager signs in
    ui.sign_in(cast.manager)

    # then the dashboard lists DEMO's two obligations, each in its section, and not OTHER's
    expect(page.locator("html")).to_have_attribute("lang", "zh-hant")
    ui.expect_zh_hant_text(ui.heading, "Dashboard", "儀表板")
    overdue = page.locator("#overdue tbody tr")
    due_soon = page.locator("#due-soon tbody tr")
    expect(overdue).to_have_count(1)
    expect(overdue).to_contain_text("BS-11")
    expect(overdue).to_contain_text("Annual biosafety training of LAB-BSL3 staff")
    expect(due_soon).to_have_count(1)
    expect(due_soon).to_contain_text("BS-12")
    expect(due_soon).to_contain_text("Biosafety cabinet certification")
    expect(page.locator("main")).not_to_contain_text("Other biobank's training")
    expect(page.locator("main")).not_to_contain_text("OTHER")

    if directory := os.environ.get("E2E_SCREENSHOT_DIR"):
        page.screenshot(path=Path(directory) / "e2e-dashboard.png", full_page=True)


def test_pages_load_their_stylesheet_and_scripts_from_this_server(page: Page, ui, cast):
    # given a signed-in user, watching every request the page makes
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    ui.sign_in(cast.technician)
    # then the layout is styled by our stylesheet, htmx is loaded, and nothing came from elsewhere
    background = page.evaluate(
        "getComputedStyle(document.querySelector('.topbar')).backgroundColor"
    )
    assert background == "rgb(15, 42, 61)"
    assert page.evaluate("typeof window.htmx") == "object"
    origin = page.url.split("/", 3)[:3]
    assert all(url.split("/", 3)[:3] == origin for url in requests if url.startswith("http"))
