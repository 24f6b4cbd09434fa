"""The audit trail page: search, then export what was found."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_auditor_searches_and_exports_the_audit_trail(page: Page, ui, cast):
    # given DEMO's auditor on the audit trail
    ui.sign_in(cast.auditor)
    ui.switch_language("en")
    ui.nav.get_by_role("link", name="Audit trail", exact=True).click()
    expect(page).to_have_url(re.compile(r"/audit/$"))

    # then the table lists DEMO's events, and no other organization's
    rows = page.locator("main table tbody tr")
    expect(rows.first).to_be_visible()
    expect(page.locator("main table")).to_contain_text("LAB-BSL3")
    expect(page.locator("main table")).not_to_contain_text("OTHER-LAB")

    # when they search for site records
    page.locator("#id_object_type").select_option("core.site")
    page.get_by_role("button", name="Search", exact=True).click()

    # then only site events are listed
    expect(page).to_have_url(re.compile(r"object_type=core.site"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("core.site")
    expect(rows.first).to_contain_text("LAB-BSL3")

    # when they export the result as CSV
    with page.expect_download() as info:
        page.locator('button[name="export"][value="csv"]').click()
    download = info.value

    # then the file is the CSV of the search
    assert download.suggested_filename.endswith(".csv")
    text = download.path().read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    assert "sequence,at,actor" in lines[0]
    assert len(lines) == 2
    assert "core.site" in lines[1]
    assert "LAB-BSL3" in lines[1]
