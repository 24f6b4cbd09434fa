"""Protocols from submission to decision notice (HR-01 … HR-03, EC-09, EC-10)."""

from __future__ import annotations

from datetime import date

import pytest

from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import AuditEvent, Obligation
from biobank.ethics import rules, selectors, services
from biobank.ethics.models import Protocol, ReviewDecision, Submission
from tests.ethics.conftest import member

TODAY = "2026-06-30 10:00+08:00"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(TODAY, tick=False)


def _protocol(cast, irb, code="P-001", risk="more_than_minimal"):
    return services.protocol_create(
        actor=cast.irb_admin,
        irb=irb,
        code=code,
        title="第二型糖尿病血漿生物標記研究",
        principal_investigator="黃研究員",
        risk=risk,
        received_on=date(2026, 3, 2),
    )


def _held_meeting(cast, irb, number="115-03", on=date(2026, 3, 20), absent=()):
    meeting = services.meeting_create(actor=cast.irb_admin, irb=irb, number=number, held_on=on)
    present = [m for m in services.sitting_members(irb, on=on) if m.name not in absent]
    return meeting, present


def _approve_expedited(cast, submission, on):
    services.submission_triage(
        actor=cast.irb_admin,
        submission=submission,
        review_type="expedited",
        reasons=["minimal_risk"],
    )
    return services.decision_record(
        actor=cast.irb_admin, submission=submission, outcome="approve", decided_on=on
    )


# Narrative ------------------------------------------------------------------------------------


def test_narrative_from_submission_to_decision_notice(cast, committee, client):
    """Lee receives a new protocol, sends it to the full board with reasons (HR-01), assigns a
    reviewer and an expert, the meeting has its quorum (HR-02) and approves it; the notice is
    due in 14 working days (EC-09), the letter is a PDF, and recording the notice closes the
    obligation, while the next continuing review is due within a year (HR-03)."""
    protocol = _protocol(cast, committee)
    submission = protocol.submissions.get()
    assert submission.kind == Submission.Kind.NEW

    services.submission_triage(
        actor=cast.irb_admin,
        submission=submission,
        review_type="full",
        reasons=["more_than_minimal_risk", "vulnerable_participants"],
    )
    reviewer = services.reviewer_assign(
        actor=cast.irb_admin, submission=submission, member=member(committee, "黃委員")
    )
    services.reviewer_assign(
        actor=cast.irb_admin, submission=submission, expert_name="內分泌專家", kind="expert"
    )
    services.reviewer_opinion(
        actor=cast.irb_member,
        assignment=reviewer,
        opinion="同意書需補充檢體保存期限",
        recommendation="approve_with_changes",
    )
    meeting, present = _held_meeting(cast, committee)
    services.meeting_agenda_add(actor=cast.irb_admin, meeting=meeting, submission=submission)
    services.meeting_attendance_set(actor=cast.irb_admin, meeting=meeting, present=present)
    assert services.meeting_quorum(meeting)

    decision = services.decision_record(
        actor=cast.irb_admin,
        submission=submission,
        outcome="approve_with_changes",
        decided_on=date(2026, 3, 20),
        conditions="同意書補充檢體保存期限後核准",
        meeting=meeting,
    )
    # 14 working days after Friday 20 March 2026, the decision day not counted and the
    # Children's Day and Tomb-Sweeping holidays of early April skipped (EC-09, TD-01)
    assert decision.notice_due == rules.review_notice_due(date(2026, 3, 20)) == date(2026, 4, 13)
    notice = Obligation.objects.get(rule_id="EC-09", subject_id=str(decision.pk))
    assert notice.state == Obligation.State.OPEN
    protocol.refresh_from_db()
    assert protocol.state == Protocol.State.APPROVED
    assert protocol.approved_until == date(2026, 9, 20)  # more than minimal risk: 6 months
    continuing = Obligation.objects.get(rule_id="HR-03", subject_id=str(protocol.pk))
    assert continuing.due_at.date() == date(2026, 9, 20)

    client.force_login(cast.irb_admin)
    letter = client.get(f"/ethics/submissions/{submission.public_id}/letter.pdf")
    assert letter.status_code == 200 and letter.content.startswith(b"%PDF")

    services.decision_notify(actor=cast.irb_admin, decision=decision, notified_on=date(2026, 3, 24))
    notice.refresh_from_db()
    submission.refresh_from_db()
    assert notice.state == Obligation.State.DONE
    assert submission.state == Submission.State.NOTIFIED
    assert AuditEvent.objects.filter(object_id=str(decision.pk), action="transition").exists()


# HR-01 review type ----------------------------------------------------------------------------


def test_hr01_review_type_needs_reasons_from_its_list():
    assert rules.review_type_check(
        kind="new", review_type="expedited", reasons=["minimal_risk"], risk="minimal"
    )
    refused = rules.review_type_check(kind="new", review_type="full", reasons=[], risk="high")
    assert not refused and refused.rule == "HR-01"
    assert not rules.review_type_check(
        kind="new", review_type="full", reasons=["minimal_risk"], risk="high"
    )


def test_hr01_only_a_new_minimal_risk_protocol_is_exempt():
    ok = {"review_type": "exempt", "reasons": ["public_information"]}
    assert rules.review_type_check(kind="new", risk="minimal", **ok)
    assert not rules.review_type_check(kind="amendment", risk="minimal", **ok)
    assert not rules.review_type_check(kind="new", risk="high", **ok)


def test_hr01_more_than_minimal_risk_goes_to_the_full_board(cast, committee):
    submission = _protocol(cast, committee).submissions.get()
    with pytest.raises(ApplicationError) as refused:
        services.submission_triage(
            actor=cast.irb_admin,
            submission=submission,
            review_type="expedited",
            reasons=["minimal_risk"],
        )
    assert refused.value.rule == "HR-01"


def test_hr01_full_review_is_decided_only_at_a_meeting(cast, committee):
    submission = _protocol(cast, committee).submissions.get()
    services.submission_triage(
        actor=cast.irb_admin,
        submission=submission,
        review_type="full",
        reasons=["committee_decision"],
    )
    with pytest.raises(ApplicationError) as refused:
        services.decision_record(
            actor=cast.irb_admin,
            submission=submission,
            outcome="approve",
            decided_on=date(2026, 4, 1),
        )
    assert refused.value.rule == "HR-01"


def test_hr01_amendment_needs_an_approved_protocol(cast, committee):
    protocol = _protocol(cast, committee)
    with pytest.raises(ApplicationError):
        services.submission_create(
            actor=cast.irb_admin, protocol=protocol, kind="amendment", received_on=date(2026, 4, 1)
        )


def test_hr02_a_meeting_without_quorum_cannot_decide(cast, committee):
    submission = _protocol(cast, committee).submissions.get()
    services.submission_triage(
        actor=cast.irb_admin,
        submission=submission,
        review_type="full",
        reasons=["committee_decision"],
    )
    # the external non-scientist stays away: no quorum (L0020179 §6)
    meeting, present = _held_meeting(cast, committee, absent={"李社區", "張律師"})
    services.meeting_agenda_add(actor=cast.irb_admin, meeting=meeting, submission=submission)
    services.meeting_attendance_set(actor=cast.irb_admin, meeting=meeting, present=present)
    with pytest.raises(ApplicationError) as refused:
        services.decision_record(
            actor=cast.irb_admin,
            submission=submission,
            outcome="approve",
            decided_on=meeting.held_on,
            meeting=meeting,
        )
    assert refused.value.rule == "HR-02"


# HR-03 continuing review and suspension ------------------------------------------------------


def test_hr03_continuing_review_at_least_yearly_sooner_by_risk():
    assert rules.continuing_review_due(date(2026, 1, 31), risk="minimal") == date(2027, 1, 31)
    assert rules.continuing_review_due(date(2026, 1, 31), risk="high") == date(2026, 4, 30)
    assert rules.continuing_review_due(date(2026, 8, 31), risk="minimal", months=6) == date(
        2027, 2, 28
    )
    with pytest.raises(ValueError, match="HR-03"):
        rules.continuing_review_due(date(2026, 1, 1), risk="minimal", months=13)


def test_hr03_approved_continuing_review_closes_the_old_obligation_and_opens_the_next(
    cast, committee
):
    protocol = _protocol(cast, committee, code="P-LOW", risk="minimal")
    _approve_expedited(cast, protocol.submissions.get(), date(2026, 3, 2))
    first = Obligation.objects.get(rule_id="HR-03", subject_id=str(protocol.pk))
    assert first.due_at.date() == date(2027, 3, 2)
    renewal = services.submission_create(
        actor=cast.irb_admin, protocol=protocol, kind="continuing", received_on=date(2026, 6, 1)
    )
    services.submission_triage(
        actor=cast.irb_admin,
        submission=renewal,
        review_type="expedited",
        reasons=["continuing_no_new_risk"],
    )
    services.decision_record(
        actor=cast.irb_admin,
        submission=renewal,
        outcome="approve",
        decided_on=date(2026, 6, 5),
        continuing_review_months=6,
    )
    first.refresh_from_db()
    assert first.state == Obligation.State.DONE
    latest = Obligation.objects.get(
        rule_id="HR-03", subject_id=str(protocol.pk), state=Obligation.State.OPEN
    )
    assert latest.due_at.date() == date(2026, 12, 5)


def test_hr03_suspension_grounds_notified_within_14_days(cast, committee):
    protocol = _protocol(cast, committee, code="P-S", risk="minimal")
    _approve_expedited(cast, protocol.submissions.get(), date(2026, 3, 2))
    suspension = services.submission_create(
        actor=cast.irb_admin,
        protocol=protocol,
        kind="suspension",
        received_on=date(2026, 5, 4),
        summary="未依核准計畫收案",
    )
    decision = _approve_expedited(cast, suspension, date(2026, 5, 5))
    protocol.refresh_from_db()
    assert protocol.state == Protocol.State.SUSPENDED
    grounds = Obligation.objects.get(rule_id="HR-03", subject_id=str(decision.pk))
    # 5 May 2026 + 14 days = 19 May, a Tuesday (TD-01)
    assert (
        grounds.due_at.date() == rules.suspension_notice_due(date(2026, 5, 5)) == date(2026, 5, 19)
    )
    services.decision_notify(actor=cast.irb_admin, decision=decision, notified_on=date(2026, 5, 6))
    grounds.refresh_from_db()
    assert grounds.state == Obligation.State.DONE


# EC-09, EC-10 ---------------------------------------------------------------------------------


def test_ec09_notice_share_counts_late_and_pending():
    share = rules.notice_share(
        [
            (date(2026, 1, 20), date(2026, 1, 19)),
            (date(2026, 1, 20), date(2026, 1, 21)),
            (date(2026, 1, 20), None),
            (date(2026, 7, 20), None),
        ],
        today=date(2026, 6, 30),
    )
    assert (share.decided, share.on_time, share.late, share.pending) == (4, 1, 2, 1)
    assert share.ratio == pytest.approx(1 / 3)


def test_ec10_retention_three_years_after_the_end_then_listed_not_deleted(cast, committee):
    assert rules.retention_until(date(2024, 2, 29)) == date(2027, 2, 28)
    protocol = _protocol(cast, committee, code="P-OLD", risk="minimal")
    _approve_expedited(cast, protocol.submissions.get(), date(2026, 3, 2))
    closure = services.submission_create(
        actor=cast.irb_admin,
        protocol=protocol,
        kind="closure",
        received_on=date(2026, 6, 1),
        ended_on=date(2026, 5, 31),
    )
    _approve_expedited(cast, closure, date(2026, 6, 3))
    protocol.refresh_from_db()
    assert protocol.state == Protocol.State.CLOSED
    assert protocol.retention_until == date(2029, 5, 31)
    assert Obligation.objects.get(rule_id="EC-10", subject_id=str(protocol.pk)).state == "open"
    assert not Obligation.objects.filter(
        rule_id="HR-03", subject_id=str(protocol.pk), state="open"
    ).exists()
    assert services.purgeable_protocols(committee, today=date(2029, 5, 31)) == []
    assert services.purgeable_protocols(committee, today=date(2029, 6, 1)) == [protocol]
    assert Protocol.objects.filter(pk=protocol.pk).exists()


def test_ec10_ethics_purgeable_lists_rows_for_biobank_retention(cast, committee):
    """The rows ``biobank retention`` lists: kind, id, label, kept until (EC-10)."""
    protocol = _protocol(cast, committee, code="P-END", risk="minimal")
    _approve_expedited(cast, protocol.submissions.get(), date(2026, 3, 2))
    closure = services.submission_create(
        actor=cast.irb_admin,
        protocol=protocol,
        kind="closure",
        received_on=date(2026, 6, 1),
        ended_on=date(2026, 5, 31),
    )
    _approve_expedited(cast, closure, date(2026, 6, 3))
    _protocol(cast, committee, code="P-RUNNING", risk="minimal")
    assert selectors.ethics_purgeable(date(2029, 5, 31)) == []
    (row,) = selectors.ethics_purgeable(date(2029, 6, 1))
    assert row.kind == "ethics.protocol"
    assert row.id == str(protocol.public_id)
    assert row.organization == "DEMO" and row.rule == "EC-10"
    assert row.label.startswith("DEMO-IRB P-END")
    assert row.kept_until == date(2029, 5, 31)
    assert Protocol.objects.filter(code="P-END").exists()  # listed, never deleted


def test_termination_ends_the_project_and_starts_retention(cast, committee):
    protocol = _protocol(cast, committee, code="P-T", risk="minimal")
    _approve_expedited(cast, protocol.submissions.get(), date(2026, 3, 2))
    termination = services.submission_create(
        actor=cast.irb_admin,
        protocol=protocol,
        kind="suspension",
        terminate=True,
        received_on=date(2026, 5, 4),
    )
    _approve_expedited(cast, termination, date(2026, 5, 5))
    protocol.refresh_from_db()
    assert protocol.state == Protocol.State.TERMINATED
    assert protocol.retention_until == date(2029, 5, 5)


# Permissions and the rest ---------------------------------------------------------------------


def test_only_the_irb_administrator_records_decisions(cast, committee):
    submission = _protocol(cast, committee, risk="minimal").submissions.get()
    with pytest.raises(PermissionDenied):
        services.submission_triage(
            actor=cast.irb_member,
            submission=submission,
            review_type="expedited",
            reasons=["minimal_risk"],
        )
    with pytest.raises(PermissionDenied):
        _protocol(cast, committee, code="P-X") if False else services.protocol_create(
            actor=cast.outsider,
            irb=committee,
            code="P-X",
            title="x",
            principal_investigator="x",
            risk="minimal",
            received_on=date(2026, 3, 2),
        )


def test_defer_and_disapprove_need_reasons_and_decide_once(cast, committee):
    submission = _protocol(cast, committee, risk="minimal").submissions.get()
    services.submission_triage(
        actor=cast.irb_admin,
        submission=submission,
        review_type="expedited",
        reasons=["minimal_risk"],
    )
    with pytest.raises(ApplicationError):
        services.decision_record(
            actor=cast.irb_admin,
            submission=submission,
            outcome="disapprove",
            decided_on=date(2026, 3, 5),
        )
    services.decision_record(
        actor=cast.irb_admin,
        submission=submission,
        outcome="disapprove",
        decided_on=date(2026, 3, 5),
        conditions="風險過高",
    )
    assert (
        submission.protocol.__class__.objects.get(pk=submission.protocol_id).state == "disapproved"
    )
    with pytest.raises(ApplicationError):
        services.decision_record(
            actor=cast.irb_admin,
            submission=submission,
            outcome="approve",
            decided_on=date(2026, 3, 6),
        )


def test_exempt_protocol_has_no_continuing_review(cast, committee):
    submission = _protocol(cast, committee, code="P-EX", risk="minimal").submissions.get()
    services.submission_triage(
        actor=cast.irb_admin,
        submission=submission,
        review_type="exempt",
        reasons=["public_information"],
    )
    decision = services.decision_record(
        actor=cast.irb_admin, submission=submission, outcome="approve", decided_on=date(2026, 3, 3)
    )
    assert decision.outcome == ReviewDecision.Outcome.APPROVE
    assert not Obligation.objects.filter(rule_id="HR-03").exists()


def test_review_pages_walk_the_workflow(cast, committee, client):
    client.force_login(cast.irb_admin)
    response = client.post(
        f"/ethics/{committee.public_id}/protocols/",
        {
            "code": "P-WEB",
            "title": "網頁計畫",
            "principal_investigator": "黃研究員",
            "risk": "minimal",
            "received_on": "2026-03-02",
        },
    )
    protocol = Protocol.objects.get(code="P-WEB")
    assert response.status_code == 302
    submission = protocol.submissions.get()
    base = f"/ethics/submissions/{submission.public_id}/"
    client.post(base + "triage/", {"review_type": "expedited", "reasons": ["minimal_risk"]})
    client.post(base + "assign/", {"member": member(committee, "林委員").pk})
    client.post(base + "decide/", {"outcome": "approve", "decided_on": "2026-03-04"})
    client.post(base + "notify/", {"notified_on": "2026-03-05"})
    submission.refresh_from_db()
    assert submission.state == Submission.State.NOTIFIED
    page = client.get(base)
    assert "EC-09" in page.content.decode()
    assert client.get(f"/ethics/protocols/{protocol.public_id}/").status_code == 200
    assert client.get(f"/ethics/{committee.public_id}/protocols/").status_code == 200
    meetings = client.post(
        f"/ethics/{committee.public_id}/meetings/", {"number": "115-01", "held_on": "2026-03-20"}
    )
    assert meetings.status_code == 302
    assert client.get(meetings["Location"]).status_code == 200
    bad = client.post(base + "decide/", {"outcome": "approve", "decided_on": "not a date"})
    assert bad.status_code == 302
