"""The language switch in the top bar: Traditional Chinese by default, English on request."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_language_switch_to_english_and_back(page: Page, ui, cast):
    # given a signed-in manager on the dashboard, in the default language
    page.goto("/accounts/login/")
    expect(ui.html).to_have_attribute("lang", "zh-hant")
    ui.expect_zh_hant_text(ui.login_button, "Sign in", "登入")
    ui.sign_in(cast.manager)
    expect(ui.html).to_have_attribute("lang", "zh-hant")
    expect(page.locator('button[data-language="zh-hant"]')).to_be_disabled()
    ui.expect_zh_hant_text(ui.heading, "Dashboard", "儀表板")

    # when they click English
    ui.switch_language("en")

    # then the page is in English, on the same page
    expect(ui.html).to_have_attribute("lang", "en")
    expect(ui.heading).to_have_text("Dashboard")
    for label in ["Dashboard", "Obligations", "Organizations", "Rules"]:
        expect(ui.nav.get_by_role("link", name=label, exact=True)).to_be_visible()
    expect(page.locator('button[data-language="en"]')).to_be_disabled()

    # and the choice sticks across pages
    ui.nav.get_by_role("link", name="Organizations", exact=True).click()
    expect(ui.html).to_have_attribute("lang", "en")
    expect(ui.heading).to_have_text("Organizations")

    # when they switch back
    ui.switch_language("zh-hant")

    # then the page is in Traditional Chinese again
    expect(ui.html).to_have_attribute("lang", "zh-hant")
    page.goto("/")
    expect(ui.html).to_have_attribute("lang", "zh-hant")
