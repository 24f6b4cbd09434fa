"""A member of another organization sees nothing of DEMO."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_outsider_sees_nothing_of_demo(page: Page, ui, cast):
    # given the manager of OTHER, signed in
    ui.sign_in(cast.outsider)

    # when they open the organization list
    page.goto("/organizations/")

    # then it lists OTHER only
    table = page.locator("main table")
    expect(table).to_contain_text("OTHER")
    expect(table).not_to_contain_text("DEMO")
    expect(page.locator("main")).not_to_contain_text(cast.demo.name_zh)
    expect(page.locator("main")).not_to_contain_text(cast.demo.name_en)

    # and DEMO's pages do not exist for them
    response = page.goto(f"/sites/{cast.demo_site.public_id}/")
    assert response is not None
    assert response.status == 404
    response = page.goto("/organizations/DEMO/")
    assert response is not None
    assert response.status == 404

    # while their own site is there
    response = page.goto(f"/sites/{cast.other_site.public_id}/")
    assert response is not None
    assert response.status == 200
    expect(ui.heading).to_contain_text("OTHER-LAB")
