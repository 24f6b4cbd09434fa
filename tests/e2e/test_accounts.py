"""Signing in and out through the login page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_wrong_password_shows_an_error_and_stays_on_login(page: Page, ui, cast):
    # given the login page
    page.goto("/accounts/login/")
    ui.expect_zh_hant_text(ui.login_button, "Sign in", "登入")

    # when the manager types a wrong password
    ui.sign_in(cast.manager, password="not-the-password-1")

    # then an error is shown, the browser is still on the login page, and nobody is signed in
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("alert")).not_to_be_empty()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.locator("#id_username")).to_have_value("lin")
    expect(page.locator("#id_password")).to_have_value("")
    expect(ui.sign_out_button).to_have_count(0)
    expect(ui.nav).to_have_count(0)


def test_wrong_password_error_reads_in_english(page: Page, ui, cast):
    # given the login page in English
    page.goto("/accounts/login/")
    ui.switch_language("en")
    expect(ui.login_button).to_have_text("Sign in")

    # when a wrong password is submitted
    ui.sign_in(cast.manager, password="not-the-password-1")

    # then the error says so
    expect(page.get_by_role("alert")).to_have_text("The user name or password is wrong.")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))


def test_sign_out(page: Page, ui, cast):
    # given a signed-in manager
    ui.sign_in(cast.manager)
    expect(ui.sign_out_button).to_be_visible()

    # when they click Sign out in the top bar
    ui.sign_out_button.click()

    # then they are back on the login page, and the dashboard asks them to sign in again
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.locator("#id_username")).to_be_visible()
    expect(ui.sign_out_button).to_have_count(0)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
