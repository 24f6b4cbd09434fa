"""Monday and Tuesday in the browser: enrol a participant, record consent, then the withdrawal
with its effects preview (HB-01, HB-02, HB-03)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from biobank.participants import rules, services
from biobank.participants.models import Consent, Participant
from biobank.participants.vault import Identity
from tests.participants.conftest import national_id

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_technician_enrols_records_consent_and_the_withdrawal_is_previewed_then_recorded(
    page: Page, ui, cast
):
    # given consent form GEN v3 of DEMO
    services.consent_form_create(
        actor=cast.manager,
        organization=cast.demo,
        code="GEN",
        version="3",
        title="General research use",
        committee_reference="DEMO-IRB-2024-031",
        approved_on=date(2024, 3, 1),
        permissions=[rules.GRU, rules.HMB],
        modifiers=[rules.NCU],
        offers_nhi_linkage=True,
        duration_years=20,
    )
    ui.sign_in(cast.technician)
    ui.switch_language("en")

    # when Chen registers a participant with her identity
    page.goto("/participants/new/")
    page.locator("#id_name").fill("陳美華")
    page.locator("#id_national_id").fill(national_id("B", "2"))
    page.locator("#id_sex").select_option("F")
    page.locator("main form button[type=submit]").click()

    # then she has a code, and her page shows neither name nor ID
    participant = Participant.objects.get(organization=cast.demo)
    expect(page).to_have_url(re.compile(rf"/participants/{participant.public_id}/$"))
    expect(ui.heading).to_contain_text(participant.code)
    expect(page.locator("main")).not_to_contain_text("陳美華")
    expect(page.locator("main")).to_contain_text("identity vault")

    # when Chen records her consent to general research use with linkage
    page.get_by_role("link", name="Record consent").click()
    page.locator("#id_form").select_option(label="GEN v3 General research use")
    page.locator("#id_signed_on").fill("2025-01-06")
    page.locator("#id_capacity").select_option("adult")
    page.locator("#id_signed_by").select_option("participant")
    page.get_by_label(re.compile(r"\bGRU ·")).check()
    page.locator("#id_nhi_linkage").check()
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("status")).to_have_text("Consent recorded.")
    expect(page.locator("main table").first).to_contain_text("GRU")

    # and when she phones to withdraw, the page previews the effects before confirming
    page.get_by_role("link", name="Withdrawal of consent").click()
    expect(page.locator("#effects")).to_contain_text("The signed consent documents are kept")
    page.locator("#id_note").fill("by phone")
    page.get_by_role("button", name="Confirm the withdrawal").click()

    # then the withdrawal is recorded at once, with no approval step
    expect(page.get_by_role("status")).to_contain_text("Withdrawal recorded")
    participant.refresh_from_db()
    assert participant.status == Participant.Status.WITHDRAWN
    assert participant.consents.get().state == Consent.State.WITHDRAWN


def test_reidentification_needs_another_persons_approval(page: Page, ui, cast):
    participant = services.participant_register(
        actor=cast.technician,
        organization=cast.demo,
        identity=Identity(name="王小明", national_id=national_id()),
    )
    # the technician asks to see the identity
    ui.sign_in(cast.technician)
    ui.switch_language("en")
    page.goto(f"/participants/{participant.public_id}/reidentify/")
    page.locator("#id_reason").fill("recall for a clinical finding")
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("status")).to_have_text("Request sent for approval.")
    ui.sign_out()

    # the manager approves it
    ui.sign_in(cast.manager)
    page.goto("/participants/reidentification/")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_have_text("Decision recorded.")
    ui.sign_out()

    # and the technician sees the identity, this time only
    ui.sign_in(cast.technician)
    page.goto(f"/participants/{participant.public_id}/")
    page.get_by_role("link", name="Show identity").click()
    expect(page.locator("main")).to_contain_text("王小明")
