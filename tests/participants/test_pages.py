"""Participant pages: pseudonymised lists, registration, consent entry, withdrawal (HB-03),
re-identification (HB-01), delinking, narrowing, consent forms (HB-02)."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from biobank.core.models import AuditEvent, Obligation
from biobank.participants import links, rules, services
from biobank.participants.identity_numbers import is_valid_national_id
from biobank.participants.models import (
    Consent,
    ConsentChange,
    ConsentForm,
    IdentityRecord,
    Participant,
    ReidentificationRequest,
)
from biobank.participants.vault import Identity, get_vault


def national_id(stem: str) -> str:
    """``stem`` (a letter and eight digits) with the one check digit that makes it valid."""
    valid = [stem + digit for digit in "0123456789" if is_valid_national_id(stem + digit)]
    assert len(valid) == 1
    return valid[0]


MAN = national_id("A12345678")  # A123456789
WOMAN = national_id("B22123456")  # B221234564
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def english(client):
    """Pages in English (the language switch's cookie), so messages can be matched."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def gen_form(cast):
    return services.consent_form_create(
        actor=None,
        organization=cast.demo,
        code="GEN",
        version="3",
        title="一般研究同意書",
        committee_reference="IRB-1",
        approved_on=date(2024, 3, 1),
        permissions=[rules.GRU, rules.HMB],
        duration_years=20,
    )


@pytest.fixture
def person(cast):
    """A participant with an identity in the vault."""
    return services.participant_register(
        actor=None,
        organization=cast.demo,
        code="BB-001",
        sex="F",
        identity=Identity(name="林美玲", national_id=WOMAN, birth_date="1975-03-02"),
    )


@pytest.fixture
def consented(person, gen_form):
    services.consent_record(
        actor=None,
        participant=person,
        form=gen_form,
        signed_on=date(2024, 5, 1),
        capacity="adult",
        signed_by="participant",
        permissions=[rules.GRU, rules.HMB],
    )
    return person


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def body(response) -> str:
    return response.content.decode()


# The list and search --------------------------------------------------------------------------


def test_pages_need_sign_in(client):
    response = client.get("/participants/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_list_shows_codes_never_names(cast, client, person):
    services.participant_register(
        actor=None,
        organization=cast.demo,
        code="BB-002",
        identity=Identity(name="陳志明", national_id=MAN, phone="0912345678"),
    )
    client.force_login(cast.technician)
    response = client.get("/participants/")
    text = body(response)
    assert response.status_code == 200
    assert "BB-001" in text and "BB-002" in text
    for secret in ("林美玲", "陳志明", WOMAN, MAN, "1975-03-02", "0912345678"):
        assert secret not in text


def test_search_finds_by_national_id_through_the_keyed_hash(cast, client, person):
    services.participant_register(
        actor=None, organization=cast.demo, code="BB-002", identity=Identity(national_id=MAN)
    )
    client.force_login(cast.technician)
    for query in (WOMAN, WOMAN.lower(), f" {WOMAN} "):
        response = client.get("/participants/", {"q": query})
        assert [p.code for p in response.context["page"].object_list] == ["BB-001"]
        assert "林美玲" not in body(response)


def test_search_finds_by_code(cast, client, person):
    services.participant_register(actor=None, organization=cast.demo, code="XY-9")
    client.force_login(cast.technician)
    response = client.get("/participants/", {"q": "bb-0"})
    assert [p.code for p in response.context["page"].object_list] == ["BB-001"]
    response = client.get("/participants/", {"q": "XY-9"})
    assert [p.code for p in response.context["page"].object_list] == ["XY-9"]


def test_search_by_name_finds_nothing(cast, client, person):
    client.force_login(cast.technician)
    response = client.get("/participants/", {"q": "林美玲"})
    assert list(response.context["page"].object_list) == []
    assert "No participant matches." in body(response)


def test_list_and_detail_are_scoped_to_the_organization(cast, client, person):
    client.force_login(cast.outsider)
    response = client.get("/participants/", {"q": WOMAN})
    assert list(response.context["page"].object_list) == []
    assert client.get(f"/participants/{person.public_id}/").status_code == 404


def test_list_uses_a_fixed_number_of_queries(cast, client, django_assert_max_num_queries):
    for n in range(30):
        services.participant_register(
            actor=None,
            organization=cast.demo,
            code=f"BB-{n:03d}",
            identity=Identity(name=f"人{n}"),
        )
    client.force_login(cast.manager)
    with django_assert_max_num_queries(12):
        response = client.get("/participants/")
    assert len(response.context["page"].object_list) == 30


# Registration -------------------------------------------------------------------------------


def test_hb01_register_through_the_form_keeps_identity_off_the_detail_page(cast, client):
    client.force_login(cast.technician)
    response = client.post(
        "/participants/new/",
        {
            "code": "",
            "sex": "F",
            "name": "林美玲",
            "national_id": WOMAN.lower(),
            "birth_date": "1975-03-02",
            "phone": "0912-345-678",
            "email": "lin@example.org",
            "address": "台北市中正區",
        },
        follow=True,
    )
    participant = Participant.objects.get()
    assert participant.code == "P000001"
    assert (participant.sex, participant.birth_year) == ("F", 1975)
    assert response.redirect_chain[-1][0] == f"/participants/{participant.public_id}/"
    text = body(response)
    assert "P000001" in text
    assert "kept encrypted in the identity vault" in text
    for secret in ("林美玲", WOMAN, WOMAN.lower(), "1975-03-02", "0912-345-678", "台北市"):
        assert secret not in text
    record = IdentityRecord.objects.get(participant=participant)
    assert record.national_id_hash == get_vault().lookup_hash(WOMAN)
    stored = get_vault().open(bytes(record.sealed), bound_to=str(participant.public_id))
    assert (stored.name, stored.national_id, stored.email) == ("林美玲", WOMAN, "lin@example.org")


def test_hb01_register_refuses_a_mistyped_national_id(cast, client):
    client.force_login(cast.technician)
    mistyped = WOMAN[:-1] + str((int(WOMAN[-1]) + 1) % 10)
    response = client.post(
        "/participants/new/",
        {"code": "BB-9", "sex": "F", "name": "林美玲", "national_id": mistyped},
    )
    assert response.status_code == 200
    assert any(level == "error" and "(HB-01)" in text for level, text in messages_of(response))
    assert not Participant.objects.exists()


def test_hb01_register_refuses_a_national_id_already_registered(cast, client, person):
    client.force_login(cast.technician)
    response = client.post("/participants/new/", {"code": "BB-9", "sex": "F", "national_id": WOMAN})
    assert any("BB-001" in text for _level, text in messages_of(response))
    assert list(Participant.objects.values_list("code", flat=True)) == ["BB-001"]


def test_register_page_is_refused_without_the_permission(cast, client):
    client.force_login(cast.auditor)
    assert client.get("/participants/new/").status_code == 404


# Consent entry --------------------------------------------------------------------------------


def _consent_post(gen_form, document=None, **overrides):
    data = {
        "form": gen_form.pk,
        "signed_on": "2024-05-01",
        "capacity": "adult",
        "signed_by": "participant",
        "representative_relation": "",
        "permissions": [rules.GRU, rules.HMB],
        "diseases": "",
    }
    if document is not None:
        data["document"] = document
    data.update(overrides)
    return data


def test_hb02_consent_entry_stores_the_scanned_pdf_and_its_sha256(cast, client, person, gen_form):
    client.force_login(cast.technician)
    upload = SimpleUploadedFile("同意書.pdf", PDF, content_type="application/pdf")
    response = client.post(
        f"/participants/{person.public_id}/consents/new/", _consent_post(gen_form, upload)
    )
    assert response.status_code == 302
    consent = Consent.objects.get(participant=person)
    assert consent.document_sha256 == hashlib.sha256(PDF).hexdigest()
    assert consent.document.name.startswith("consents/DEMO/")
    assert consent.document.name.endswith(".pdf")
    with consent.document.open("rb") as stored:
        assert stored.read() == PDF
    assert {t.id for t in consent.permissions.all()} == {rules.GRU, rules.HMB}
    assert consent.recorded_by == cast.technician
    # the detail page shows the digest; downloading is recorded in the audit trail
    assert consent.document_sha256 in body(
        client.get(f"/participants/consents/{consent.public_id}/")
    )
    download = client.get(f"/participants/consents/{consent.public_id}/document/")
    assert b"".join(download.streaming_content) == PDF
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.VIEW, object_id=str(consent.pk), actor=cast.technician
    ).exists()


def test_hb02_consent_entry_refuses_an_exe(cast, client, person, gen_form):
    client.force_login(cast.technician)
    upload = SimpleUploadedFile("consent.exe", b"MZ\x90\x00", content_type="application/pdf")
    response = client.post(
        f"/participants/{person.public_id}/consents/new/", _consent_post(gen_form, upload)
    )
    assert response.status_code == 200
    assert any(
        level == "error" and "PDF, PNG, JPEG or TIFF" in text
        for level, text in messages_of(response)
    )
    assert not Consent.objects.exists()


def test_hb02_consent_entry_refuses_a_use_the_chosen_form_does_not_offer(
    cast, client, person, gen_form
):
    services.consent_form_create(
        actor=None,
        organization=cast.demo,
        code="ANC",
        version="1",
        title="祖源研究同意書",
        committee_reference="IRB-3",
        approved_on=date(2024, 3, 1),
        permissions=[rules.POA],
        duration_years=5,
    )
    client.force_login(cast.technician)
    response = client.post(
        f"/participants/{person.public_id}/consents/new/",
        _consent_post(gen_form, permissions=[rules.GRU, rules.POA]),
    )
    assert response.status_code == 200
    assert any(
        level == "error" and "(HB-02)" in text and rules.POA in text
        for level, text in messages_of(response)
    )
    assert not Consent.objects.exists()


def test_consent_entry_offers_only_uses_some_form_in_use_offers(cast, client, person, gen_form):
    client.force_login(cast.technician)
    response = client.post(
        f"/participants/{person.public_id}/consents/new/",
        _consent_post(gen_form, permissions=[rules.GRU, rules.POA]),
    )
    assert response.status_code == 200
    assert "permissions" in response.context["form"].errors
    assert not Consent.objects.exists()


def test_hb02_consent_entry_refuses_adult_capacity_for_a_participant_born_9_years_before(
    cast, client, gen_form
):
    """The import refuses a minor's consent (HB-02); the page should not record one as an
    adult's either. The participant's birth year alone shows a 9-year-old: whatever the birth
    day, they were under 18 on the signing date, so "adult, signed by the participant" is
    impossible and the legal representative must sign."""
    child = services.participant_register(
        actor=None,
        organization=cast.demo,
        code="KID-1",
        identity=Identity(name="小明", birth_date="2015-01-01"),
    )
    assert child.birth_year == 2015
    client.force_login(cast.technician)
    response = client.post(
        f"/participants/{child.public_id}/consents/new/",
        _consent_post(gen_form, signed_on="2024-05-01", capacity="adult", signed_by="participant"),
    )
    assert not Consent.objects.filter(participant=child).exists()
    assert any(level == "error" and "HB-02" in text for level, text in messages_of(response))


# Withdrawal (HB-03) ---------------------------------------------------------------------------


@pytest.fixture
def held(monkeypatch):
    """Material and a recipient other apps would report for the participant."""
    monkeypatch.setattr(
        links,
        "_material_sources",
        [
            lambda p: [
                rules.HeldItem("S-0001", "serum 0.5 mL"),
                rules.HeldItem("S-0002", "DNA 20 µg"),
                rules.HeldItem("S-0003", "slide", delinked=True),
            ]
        ],
    )
    monkeypatch.setattr(
        links, "_recipient_sources", [lambda p: [rules.Recipient("R-1", "臺大研究團隊")]]
    )


def test_hb03_withdrawal_page_previews_the_effects(cast, client, consented, held):
    client.force_login(cast.technician)
    response = client.get(f"/participants/{consented.public_id}/withdraw/")
    assert response.status_code == 200
    effects = response.context["effects"]
    assert [item.key for item in effects.destroy] == ["S-0001", "S-0002"]
    assert [(item.key, why) for item, why in effects.keep] == [("S-0003", "delinked")]
    text = body(response)
    assert "2 items to destroy" in text and "S-0001" in text
    assert "臺大研究團隊" in text
    # updating the preview with a written agreement records nothing
    response = client.post(
        f"/participants/{consented.public_id}/withdraw/",
        {"on": timezone.localdate().isoformat(), "kept_by_agreement": "S-0002\n", "confirm": "no"},
    )
    assert [item.key for item in response.context["effects"].destroy] == ["S-0001"]
    assert Participant.objects.get(pk=consented.pk).status == "active"
    assert not ConsentChange.objects.exists()


def test_hb03_confirmed_withdrawal_is_recorded(cast, client, consented, held):
    client.force_login(cast.technician)
    today = timezone.localdate()
    response = client.post(
        f"/participants/{consented.public_id}/withdraw/",
        {
            "on": today.isoformat(),
            "kept_by_agreement": "S-0002",
            "note": "電話撤回",
            "confirm": "yes",
        },
    )
    assert response.status_code == 302
    assert Participant.objects.get(pk=consented.pk).status == "withdrawn"
    consent = Consent.objects.get(participant=consented)
    assert (consent.state, consent.withdrawn_on) == ("withdrawn", today)
    change = ConsentChange.objects.get(consent=consent)
    assert change.kind == "withdrawal"
    assert change.kept_by_agreement == "S-0002"
    assert change.effects["destroy"] == ["S-0001"]
    assert change.effects["notify"] == ["R-1"]
    titles = set(Obligation.objects.filter(rule_id="HB-03").values_list("title", flat=True))
    assert len(titles) == 2
    # the consent's end-of-period obligation is settled
    assert not Obligation.objects.filter(rule_id="HR-04", state="open").exists()


# Re-identification (HB-01) --------------------------------------------------------------------


def test_hb01_reidentification_through_the_pages(cast, client, person):
    technician = client
    technician.force_login(cast.technician)
    response = technician.post(
        f"/participants/{person.public_id}/reidentify/", {"reason": "回診聯絡", "hours": 4}
    )
    assert response.status_code == 302
    request = ReidentificationRequest.objects.get()
    assert (request.requester, request.state, request.hours) == (cast.technician, "pending", 4)

    # the technician cannot approve their own request
    response = technician.post(
        f"/participants/reidentification/{request.public_id}/decide/",
        {"decision": "approve"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/participants/reidentification/"
    assert any(
        level == "error" and "identity.approve" in text for level, text in messages_of(response)
    )
    request.refresh_from_db()
    assert request.state == "pending"
    # and without approval the identity page sends them back
    response = technician.get(f"/participants/{person.public_id}/identity/")
    assert response.status_code == 302
    assert "林美玲" not in body(technician.get(response["Location"]))

    # the manager approves on the requests page
    manager = client
    manager.force_login(cast.manager)
    listing = manager.get("/participants/reidentification/")
    assert f"/participants/reidentification/{request.public_id}/decide/" in body(listing)
    assert "林美玲" not in body(listing)
    response = manager.post(
        f"/participants/reidentification/{request.public_id}/decide/",
        {"decision": "approve", "note": "ok"},
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.state, request.decided_by) == ("approved", cast.manager)
    assert request.expires_at is not None

    # the manager, who did not ask, still does not see the identity
    response = manager.get(f"/participants/{person.public_id}/identity/", follow=True)
    assert response.redirect_chain[-1][0] == f"/participants/{person.public_id}/"
    assert any(
        level == "error" and "approved re-identification request" in text
        for level, text in messages_of(response)
    )
    assert "林美玲" not in body(response)

    # the technician does, on a page that is not cached, and the view is audited
    technician.force_login(cast.technician)
    detail = technician.get(f"/participants/{person.public_id}/")
    assert f"/participants/{person.public_id}/identity/" in body(detail)
    response = technician.get(f"/participants/{person.public_id}/identity/")
    assert response.status_code == 200
    text = body(response)
    assert "林美玲" in text and WOMAN in text and "1975-03-02" in text
    assert response["Cache-Control"] == "no-store"
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.VIEW,
        object_type="participants.identityrecord",
        actor=cast.technician,
    ).exists()


def test_hb01_a_manager_cannot_approve_their_own_request(cast, client, person):
    client.force_login(cast.manager)
    client.post(f"/participants/{person.public_id}/reidentify/", {"reason": "查核", "hours": 1})
    request = ReidentificationRequest.objects.get()
    listing = body(client.get("/participants/reidentification/"))
    assert f"{request.public_id}/decide/" not in listing  # no buttons on one's own request
    response = client.post(
        f"/participants/reidentification/{request.public_id}/decide/", {"decision": "approve"}
    )
    assert ("error", "Someone else must approve your own request. (HB-01)") in messages_of(response)
    request.refresh_from_db()
    assert request.state == "pending"


def test_hb01_refused_request_opens_nothing(cast, client, person):
    request = services.reidentification_request(
        actor=cast.technician, participant=person, reason="查核"
    )
    client.force_login(cast.manager)
    client.post(
        f"/participants/reidentification/{request.public_id}/decide/",
        {"decision": "reject", "note": "理由不足"},
    )
    request.refresh_from_db()
    assert (request.state, request.decision_note) == ("rejected", "理由不足")
    client.force_login(cast.technician)
    assert client.get(f"/participants/{person.public_id}/identity/").status_code == 302


# Delinking -----------------------------------------------------------------------------------


def test_hb01_delink_page_removes_the_identity(cast, client, person):
    client.force_login(cast.manager)
    assert client.get(f"/participants/{person.public_id}/delink/").status_code == 200
    response = client.post(
        f"/participants/{person.public_id}/delink/", {"reason": "參與者要求"}, follow=True
    )
    person.refresh_from_db()
    assert person.status == "delinked"
    assert person.delinked_at is not None
    assert not IdentityRecord.objects.filter(participant=person).exists()
    assert "delinked: no identity is kept" in body(response)
    # the national ID no longer finds the participant
    found = client.get("/participants/", {"q": WOMAN}).context["page"].object_list
    assert list(found) == []


def test_delink_needs_a_reason_and_the_permission(cast, client, person):
    client.force_login(cast.manager)
    client.post(f"/participants/{person.public_id}/delink/", {"reason": " "})
    assert IdentityRecord.objects.filter(participant=person).exists()
    client.force_login(cast.technician)
    response = client.post(f"/participants/{person.public_id}/delink/", {"reason": "x"})
    assert any(level == "error" for level, _text in messages_of(response))
    person.refresh_from_db()
    assert person.status == "active"
    assert IdentityRecord.objects.filter(participant=person).exists()


# Narrowing (HB-03) -------------------------------------------------------------------------


def test_hb03_consent_detail_narrowing_form_narrows(cast, client, consented):
    consent = Consent.objects.get(participant=consented)
    client.force_login(cast.technician)
    page = client.get(f"/participants/consents/{consent.public_id}/")
    assert page.context["form"] is not None
    response = client.post(
        f"/participants/consents/{consent.public_id}/",
        {
            "on": timezone.localdate().isoformat(),
            "permissions": [rules.HMB],
            "note": "不再同意一般研究",
        },
    )
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.state == "narrowed"
    assert {t.id for t in consent.permissions.all()} == {rules.HMB}
    change = ConsentChange.objects.get(consent=consent)
    assert change.kind == "narrowing"
    assert change.before["permissions"] == sorted([rules.GRU, rules.HMB])
    assert change.after["permissions"] == [rules.HMB]


def test_narrowing_form_is_not_offered_to_a_read_only_role(cast, client, consented):
    consent = Consent.objects.get(participant=consented)
    client.force_login(cast.auditor)
    response = client.get(f"/participants/consents/{consent.public_id}/")
    assert response.status_code == 200
    assert response.context["form"] is None
    client.post(
        f"/participants/consents/{consent.public_id}/",
        {"on": timezone.localdate().isoformat(), "permissions": [rules.HMB]},
    )
    consent.refresh_from_db()
    assert consent.state == "active"


# Consent forms (HB-02) -----------------------------------------------------------------------


FORM_POST = {
    "code": "BIO",
    "version": "1",
    "title": "生物資料庫同意書",
    "committee_reference": "IRB-2024-017",
    "approved_on": "2024-01-15",
    "permissions": [rules.GRU],
    "modifiers": [],
    "duration_years": "10",
}


def test_hb02_manager_registers_a_consent_form(cast, client):
    client.force_login(cast.manager)
    response = client.post("/participants/consent-forms/", FORM_POST, follow=True)
    form = ConsentForm.objects.get(code="BIO")
    assert (form.organization, form.version, form.duration_years) == (cast.demo, "1", 10)
    assert [t.id for t in form.permissions.all()] == [rules.GRU]
    assert not form.offers_commercial_use
    assert "IRB-2024-017" in body(response)


def test_consent_forms_page_refuses_a_technician(cast, client):
    client.force_login(cast.technician)
    response = client.get("/participants/consent-forms/")
    assert response.status_code == 200
    assert response.context["form"] is None
    assert client.post("/participants/consent-forms/", FORM_POST).status_code == 404
    assert not ConsentForm.objects.exists()


def test_hb02_a_duplicate_form_version_is_refused(cast, client, gen_form):
    client.force_login(cast.manager)
    response = client.post(
        "/participants/consent-forms/", {**FORM_POST, "code": "GEN", "version": "3"}
    )
    assert any("already exists" in text for _level, text in messages_of(response))
    assert ConsentForm.objects.count() == 1


def test_hb01_searching_by_national_id_keeps_it_out_of_urls(cast, client):
    from biobank.participants import services as participant_services
    from biobank.participants.vault import Identity

    participant_services.participant_register(
        actor=cast.technician, organization=cast.demo, identity=Identity(national_id="A123456789")
    )
    client.force_login(cast.manager)
    response = client.post("/participants/", {"q": "A123456789"})
    body = response.content.decode()
    assert "P000001" in body
    assert "A123456789" not in body  # not echoed in the search box or pager links
