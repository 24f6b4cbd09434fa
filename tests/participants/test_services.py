"""Participants, the vault, re-identification and consent, through the services."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import AuditEvent, Obligation
from biobank.core.services import membership_add
from biobank.participants import links, rules, services
from biobank.participants.models import Consent, IdentityRecord, Participant
from biobank.participants.rules import HeldItem, ProposedUse, Recipient
from biobank.participants.vault import Identity
from tests.participants.conftest import national_id


def register(cast, code: str = "", **identity):
    return services.participant_register(
        actor=cast.technician,
        organization=cast.demo,
        code=code,
        identity=Identity(**identity) if identity else None,
    )


def test_codes_are_generated_in_sequence_or_supplied(cast):
    assert register(cast).code == "P000001"
    assert register(cast).code == "P000002"
    assert register(cast, code="COHORT-7").code == "COHORT-7"
    with pytest.raises(ApplicationError, match="already in use"):
        register(cast, code="COHORT-7")


def test_hb01_identity_is_sealed_and_the_birth_year_kept_coarse(cast):
    participant = register(cast, name="王小明", national_id=national_id(), birth_date="1968-04-12")
    record = IdentityRecord.objects.get(participant=participant)
    assert participant.birth_year == 1968
    assert "王小明".encode() not in bytes(record.sealed)
    assert record.national_id_hash and len(record.national_id_hash) == 64


def test_hb01_a_known_national_id_is_refused_with_the_existing_code(cast):
    first = register(cast, national_id=national_id())
    with pytest.raises(ApplicationError) as error:
        register(cast, national_id=national_id().lower())
    assert first.code in error.value.message
    assert error.value.rule == "HB-01"
    assert Participant.objects.count() == 1  # nothing half-written


def test_hb01_the_same_person_may_be_a_participant_of_another_organization(cast):
    register(cast, national_id=national_id())
    services.participant_register(
        actor=cast.outsider, organization=cast.other, identity=Identity(national_id=national_id())
    )


def test_hb01_invalid_national_id_is_refused(cast):
    with pytest.raises(ApplicationError, match="check digit"):
        register(cast, national_id="A123456788")


def test_hb01_audit_trail_never_holds_identity(cast):
    register(cast, name="王小明", national_id=national_id(), birth_date="1968-04-12")
    for event in AuditEvent.objects.all():
        text = f"{event.before} {event.after} {event.object_repr} {event.reason}"
        assert "王小明" not in text and national_id() not in text and "1968-04-12" not in text


def test_hb01_nobody_sees_identity_without_an_approved_request(cast):
    participant = register(cast, name="王小明")
    for person in (cast.manager, cast.technician, cast.auditor, cast.platform_admin):
        with pytest.raises(PermissionDenied):
            services.identity_reveal(actor=person, participant=participant)


def test_hb01_reidentification_is_requested_approved_by_another_audited_and_expires(cast):
    participant = register(cast, name="王小明")
    request = services.reidentification_request(
        actor=cast.technician, participant=participant, reason="recall for a clinical finding"
    )
    with pytest.raises(PermissionDenied):  # technicians do not approve
        services.reidentification_decide(actor=cast.technician, request=request, approve=True)
    services.reidentification_decide(actor=cast.manager, request=request, approve=True)
    identity = services.identity_reveal(actor=cast.technician, participant=participant)
    assert identity.name == "王小明"
    views = AuditEvent.objects.filter(action=AuditEvent.Action.VIEW, actor=cast.technician)
    assert views.count() == 1
    # the approval is for the requester only
    with pytest.raises(PermissionDenied):
        services.identity_reveal(actor=cast.manager, participant=participant)
    # and it closes by itself after 24 hours
    later = timezone.now() + timedelta(hours=24, minutes=1)
    with time_machine.travel(later), pytest.raises(PermissionDenied):
        services.identity_reveal(actor=cast.technician, participant=participant)


def test_hb01_nobody_approves_their_own_request(cast):
    participant = register(cast, name="x")
    request = services.reidentification_request(
        actor=cast.manager, participant=participant, reason="audit"
    )
    with pytest.raises(ApplicationError, match="Someone else"):
        services.reidentification_decide(actor=cast.manager, request=request, approve=True)


def test_hb01_refused_request_shows_nothing(cast):
    participant = register(cast, name="x")
    request = services.reidentification_request(
        actor=cast.technician, participant=participant, reason="curiosity"
    )
    services.reidentification_decide(actor=cast.manager, request=request, approve=False)
    with pytest.raises(PermissionDenied):
        services.identity_reveal(actor=cast.technician, participant=participant)


def test_hb01_delinking_removes_the_vault_entry_for_good(cast):
    participant = register(cast, name="王小明", national_id=national_id())
    services.participant_delink(actor=cast.manager, participant=participant, reason="requested")
    participant.refresh_from_db()
    assert participant.status == Participant.Status.DELINKED
    assert not IdentityRecord.objects.filter(participant=participant).exists()
    with pytest.raises(ApplicationError):
        services.reidentification_request(
            actor=cast.technician, participant=participant, reason="x"
        )
    with pytest.raises(ApplicationError):
        services.identity_store(
            actor=cast.manager, participant=participant, identity=Identity(name="y")
        )
    # the national ID can now be registered again: nothing links it to the old code
    register(cast, national_id=national_id())


def test_hb02_consent_form_needs_committee_approval_and_a_duration(cast):
    with pytest.raises(ApplicationError) as error:
        services.consent_form_create(
            actor=cast.manager,
            organization=cast.demo,
            code="X",
            version="1",
            title="x",
            committee_reference="",
            approved_on=date(2024, 1, 1),
            permissions=[rules.GRU],
            duration_years=5,
        )
    assert error.value.rule == "HB-02"


def test_hb02_consent_records_choices_within_what_the_form_offers(cast, general_form):
    participant = register(cast)
    consent = services.consent_record(
        actor=cast.technician,
        participant=participant,
        form=general_form,
        signed_on=date(2024, 4, 2),
        capacity="adult",
        signed_by="participant",
        permissions=[rules.GRU],
        nhi_linkage=True,
    )
    assert consent.valid_until == date(2044, 4, 2)
    assert {t.id for t in consent.modifiers.all()} == {rules.NCU}  # the form's condition
    with pytest.raises(ApplicationError, match="commercial"):
        services.consent_record(
            actor=cast.technician,
            participant=participant,
            form=general_form,
            signed_on=date(2024, 4, 2),
            capacity="adult",
            signed_by="participant",
            permissions=[rules.GRU],
            commercial_use=True,
        )
    with pytest.raises(ApplicationError, match="does not offer"):
        services.consent_record(
            actor=cast.technician,
            participant=participant,
            form=general_form,
            signed_on=date(2024, 4, 2),
            capacity="adult",
            signed_by="participant",
            permissions=[rules.POA],
        )


def test_hb02_a_minor_under_7_needs_the_legal_representative(cast, general_form):
    participant = register(cast)
    with pytest.raises(ApplicationError) as error:
        services.consent_record(
            actor=cast.technician,
            participant=participant,
            form=general_form,
            signed_on=date(2024, 4, 2),
            capacity="minor_under_7",
            signed_by="participant",
            permissions=[rules.HMB],
        )
    assert error.value.rule == "HB-02"
    services.consent_record(
        actor=cast.technician,
        participant=participant,
        form=general_form,
        signed_on=date(2024, 4, 2),
        capacity="minor_under_7",
        signed_by="representative",
        representative_relation="母親",
        permissions=[rules.HMB],
    )


def test_hr04_consent_opens_its_end_of_period_obligation(cast, general_form):
    consent = services.consent_record(
        actor=cast.technician,
        participant=register(cast),
        form=general_form,
        signed_on=date(2024, 4, 2),
        capacity="adult",
        signed_by="participant",
        permissions=[rules.GRU],
    )
    obligation = Obligation.objects.get(rule_id="HR-04", subject_id=str(consent.pk))
    assert timezone.localtime(obligation.due_at).date() == date(2044, 4, 2)


def test_hr04_expired_consents_are_marked_and_no_longer_permit_use(cast, general_form):
    participant = register(cast)
    services.consent_record(
        actor=cast.technician,
        participant=participant,
        form=general_form,
        signed_on=date(2024, 4, 2),
        capacity="adult",
        signed_by="participant",
        permissions=[rules.GRU],
    )
    assert services.consents_expire(today=date(2044, 4, 3)) == 1
    decision = services.consent_check_use(
        participant, ProposedUse(purposes=frozenset({rules.HMB}), on=date(2044, 4, 3))
    )
    assert (decision.allowed, decision.rule) == (False, "HB-02")  # no current consent left


def test_hb03_narrowing_is_recorded_without_approval_and_never_widens(cast, general_form):
    consent = services.consent_record(
        actor=cast.technician,
        participant=register(cast),
        form=general_form,
        signed_on=date(2024, 4, 2),
        capacity="adult",
        signed_by="participant",
        permissions=[rules.GRU],
        nhi_linkage=True,
    )
    narrowed = services.consent_narrow(
        actor=cast.technician,
        consent=consent,
        on=date(2025, 1, 2),
        permissions=[rules.HMB],
    )
    assert narrowed.state == Consent.State.NARROWED
    assert not narrowed.nhi_linkage
    with pytest.raises(ApplicationError) as error:
        services.consent_narrow(
            actor=cast.technician,
            consent=narrowed,
            on=date(2025, 1, 3),
            permissions=[rules.GRU],
        )
    assert error.value.rule == "HB-03"


def test_hb03_withdrawal_needs_no_approval_and_opens_the_obligations(cast, general_form):
    participant = register(cast)
    consent = services.consent_record(
        actor=cast.technician,
        participant=participant,
        form=general_form,
        signed_on=date(2024, 4, 2),
        capacity="adult",
        signed_by="participant",
        permissions=[rules.GRU],
    )

    def held(p):  # the specimens app registers the real source of held material
        if p != participant:
            return []
        return [
            HeldItem("S-1", "plasma S-1"),
            HeldItem("S-2", "plasma S-2"),
            HeldItem("S-3", "DNA S-3", delinked=True),
        ]

    def received(p):
        return [Recipient("REQ-9", "黃建國 lab")] if p == participant else []

    links.register_material_source(held)
    links.register_recipient_source(received)
    try:
        preview = services.withdrawal_preview(participant, ["S-2"])
        assert [i.key for i in preview.destroy] == ["S-1"]
        effects = services.consent_withdraw(
            actor=cast.technician,
            participant=participant,
            on=date(2025, 2, 11),
            kept_by_agreement=["S-2"],
            note="by phone",
        )
    finally:
        links._material_sources.remove(held)
        links._recipient_sources.remove(received)
    assert effects == preview
    consent.refresh_from_db()
    assert consent.state == Consent.State.WITHDRAWN
    hb03 = Obligation.objects.filter(rule_id="HB-03").order_by("due_at")
    assert [(o.subject_type, o.subject_id) for o in hb03] == [
        ("withdrawal.notify", "REQ-9"),
        ("withdrawal.destroy", "S-1"),
    ]
    # the end-of-period obligation is moot now
    assert Obligation.objects.get(rule_id="HR-04").state == Obligation.State.WAIVED
    # and the signed documents stay
    assert consent.changes.get().effects["documents_kept"] is True


def test_hb03_withdrawal_is_once(cast, general_form):
    participant = register(cast)
    services.consent_withdraw(actor=cast.technician, participant=participant, on=date(2025, 1, 1))
    with pytest.raises(ApplicationError):
        services.consent_withdraw(
            actor=cast.technician, participant=participant, on=date(2025, 1, 2)
        )


def test_researchers_do_not_register_participants(cast):
    with pytest.raises(PermissionDenied):
        services.participant_register(actor=cast.researcher, organization=cast.demo)


def test_a_second_manager_can_approve(cast):
    membership_add(actor=None, organization=cast.demo, user=cast.qa, role="biobank_manager")
    participant = register(cast, name="x")
    request = services.reidentification_request(
        actor=cast.manager, participant=participant, reason="r"
    )
    services.reidentification_decide(actor=cast.qa, request=request, approve=True)
    assert services.identity_reveal(actor=cast.manager, participant=participant).name == "x"
