"""Registering a site from its organization's page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from biobank.core.models import Site

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_manager_adds_a_site_and_sees_it_in_history(page: Page, ui, cast):
    # given the DEMO manager on DEMO's page, in English
    ui.sign_in(cast.manager)
    ui.switch_language("en")
    page.goto("/organizations/DEMO/")
    expect(ui.heading).to_contain_text("DEMO")

    # when they add a BSL-2 processing room
    page.locator('main a[href="/organizations/DEMO/sites/new/"]').click()
    expect(page).to_have_url(re.compile(r"/organizations/DEMO/sites/new/$"))
    page.locator("#id_code").fill("PROC-2")
    page.locator("#id_name").fill("細胞處理室")
    page.locator("#id_kind").select_option("processing")
    page.locator("#id_containment").select_option("BSL2")
    page.locator("main form button[type=submit]").click()

    # then they land on the new site's page, which shows its containment level
    site = Site.objects.get(organization=cast.demo, code="PROC-2")
    expect(page).to_have_url(re.compile(rf"/sites/{site.public_id}/$"))
    expect(ui.heading).to_have_text("PROC-2 · 細胞處理室")
    expect(page.get_by_role("status")).to_have_text("Site registered.")
    signage = page.locator("section.signage")
    expect(signage.locator("dt", has_text="Containment level").locator("+ dd")).to_contain_text(
        "BSL-2"
    )
    expect(signage.locator("dt", has_text="Kind").locator("+ dd")).to_have_text("Processing room")

    # and its History section records the creation, by lin
    history = page.locator("section.card", has=page.locator("h2", has_text="History"))
    rows = history.locator("table.history tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").nth(1)).to_have_text("lin")
    expect(rows.first.locator("td").nth(2)).to_have_text("created")
    expect(rows.first).to_contain_text("PROC-2")
    expect(rows.first).to_contain_text("BSL2")
