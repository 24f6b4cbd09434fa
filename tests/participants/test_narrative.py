"""One participant's story, from enrolment to withdrawal (HB-01 … HB-04, HR-04)."""

from __future__ import annotations

from datetime import date

from biobank.core.audit import audit_verify
from biobank.core.models import Obligation
from biobank.participants import rules, services
from biobank.participants.models import Participant
from biobank.participants.rules import ProposedUse
from biobank.participants.vault import Identity
from tests.participants.conftest import national_id


def test_from_enrolment_to_withdrawal(cast, general_form, client):
    # Monday: Chen enrols a participant who signs consent version 3
    participant = services.participant_register(
        actor=cast.technician,
        organization=cast.demo,
        sex="F",
        identity=Identity(
            name="陳美華", national_id=national_id("B", "2"), birth_date="1972-09-30"
        ),
    )
    services.consent_record(
        actor=cast.technician,
        participant=participant,
        form=general_form,
        signed_on=date(2024, 4, 2),
        capacity="adult",
        signed_by="participant",
        permissions=[rules.GRU],
        nhi_linkage=True,
        recontact=True,
    )
    # Wednesday: a medical study with health-insurance linkage is within the consent (HB-04)
    medical = ProposedUse(purposes=frozenset({rules.HMB}), on=date(2025, 2, 5), nhi_linkage=True)
    assert services.consent_check_use(participant, medical)
    # but a commercial one is not: the form has no commercial option and NCU applies
    commercial = ProposedUse(purposes=frozenset({rules.HMB}), on=date(2025, 2, 5), commercial=True)
    assert not services.consent_check_use(participant, commercial)
    # the participant can be found by national ID, and nobody sees her name without approval
    client.force_login(cast.manager)
    found = client.get("/participants/", {"q": national_id("B", "2")})
    assert participant.code in found.content.decode()
    assert "陳美華" not in found.content.decode()
    # Tuesday next week: she phones to withdraw; the biobank records it, no approval step
    client.force_login(cast.technician)
    preview = client.get(f"/participants/{participant.public_id}/withdraw/")
    assert "Confirm" in preview.content.decode() or "確認" in preview.content.decode()
    client.post(
        f"/participants/{participant.public_id}/withdraw/",
        {"on": "2025-02-11", "kept_by_agreement": "", "note": "by phone", "confirm": "yes"},
    )
    participant.refresh_from_db()
    assert participant.status == Participant.Status.WITHDRAWN
    # from then on nothing is permitted (HB-03)
    decision = services.consent_check_use(participant, medical)
    assert (decision.allowed, decision.rule) == (False, "HB-03")
    # the end-of-period obligation (HR-04) was settled by the withdrawal
    assert Obligation.objects.get(rule_id="HR-04").state == Obligation.State.WAIVED
    # and the audit trail holds the whole story, intact
    assert audit_verify().ok
