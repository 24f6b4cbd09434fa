"""The auditing body's yearly audit (EC-01, EC-04 … EC-08, EC-12)."""

from __future__ import annotations

from datetime import date

import pytest

from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import Obligation
from biobank.ethics import rules, services
from biobank.ethics.models import IRB, FollowUpDraw, IRBAudit


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to("2026-06-30 10:00+08:00", tick=False)


def _irb(cast, code, *, passed=True, organization=None):
    return services.irb_create(
        actor=None,
        organization=organization or cast.demo,
        code=code,
        name=f"{code} 人體試驗委員會",
        kind="institution",
        previously_passed=passed,
    )


def _all(rating, **overrides):
    ratings = {c.number: rating for c in rules.load_criteria()}
    ratings.update(overrides)
    return ratings


def test_ec01_only_the_four_kinds_of_irb_are_audited(cast):
    assert set(rules.IRB_KINDS) == set(IRB.Kind.values)
    with pytest.raises(ApplicationError) as refused:
        services.irb_create(
            actor=cast.irb_admin, organization=cast.demo, code="X", name="X", kind="clinic"
        )
    assert refused.value.rule == "EC-01"


def test_ec08_incomplete_application_completed_within_5_days_of_the_deadline(cast, body):
    # Friday 3 April 2026 + 5 days = Wednesday 8 April (TD-01)
    assert rules.application_completion_due(date(2026, 4, 3)) == date(2026, 4, 8)
    mohw, people = body
    campaign = services.campaign_create(
        actor=people["officer"],
        organization=mohw,
        year=2026,
        window_opens=date(2026, 3, 2),
        window_closes=date(2026, 3, 31),
    )
    assert campaign.completion_due == date(2026, 4, 7)
    assert Obligation.objects.get(rule_id="EC-08").due_at.date() == date(2026, 4, 7)
    audit = services.audit_invite(
        actor=people["officer"], campaign=campaign, irb=_irb(cast, "I-1"), audit_type="video"
    )
    with pytest.raises(ApplicationError) as late:
        services.audit_apply(
            actor=people["officer"], audit=audit, applied_on=date(2026, 4, 1), application={}
        )
    assert late.value.rule == "EC-08"
    audit = services.audit_apply(
        actor=people["officer"],
        audit=audit,
        applied_on=date(2026, 3, 30),
        application={"institution_name": "示範醫院", "irb_name": "示範醫院人體試驗委員會"},
    )
    assert not audit.application_complete
    assert "chair" in rules.application_missing(audit.application)
    complete = {
        "institution_type": "medical",
        "category": "institution",
        "last_result": "passed",
        "last_audit_year": "2020",
        "chair": "陳主委",
        "contact": "李雅婷（執行秘書）",
        "address": "台北市",
        "phone": "02-1234",
        "email": "irb@example.org",
    }
    with pytest.raises(ApplicationError):
        services.audit_apply(
            actor=people["officer"], audit=audit, applied_on=date(2026, 4, 8), application=complete
        )
    audit = services.audit_apply(
        actor=people["officer"], audit=audit, applied_on=date(2026, 4, 7), application=complete
    )
    assert audit.application_complete


def test_ec06_the_follow_up_draw_is_reproducible_from_its_seed():
    codes = [f"IRB-{n:02d}" for n in range(1, 21)]
    first = rules.followup_draw(codes, count=3, seed=20260630, mandatory=["IRB-07"])
    again = rules.followup_draw(list(reversed(codes)), count=3, seed=20260630, mandatory=["IRB-07"])
    assert first == again
    assert first.mandatory == ("IRB-07",) and "IRB-07" not in first.drawn
    assert len(first.selected) == 4
    assert rules.followup_draw(codes[:2], count=5, seed=1).drawn.__len__() == 2


def test_ec06_a_new_irb_that_passes_gets_an_on_site_audit_next_year():
    assert rules.next_audit_type(passed=True, newly_established=True) == "onsite"
    assert rules.next_audit_type(passed=True, newly_established=False) is None
    assert rules.next_audit_type(passed=False, newly_established=True) is None


def test_ec07_follow_up_scope():
    findings = {"2.6": 9, "3.2": 7, "1.1": 7, "4.9": 3, "5.1": 2, "2.17": 1, "6.4": 1, "1.3": 0}
    scope = rules.followup_scope(
        last_findings=["2.6", "3.2"], findings_last_4_years=findings, sampled=["4.4", "7.1"]
    )
    # 7 criteria with findings: 30 % → 3 (ceil); 3.2 and 1.1 tie at the cut
    assert scope.common == ("1.1", "2.6", "3.2")
    assert scope.mandatory == ("1.4",)
    assert scope.items == ("1.1", "1.4", "2.6", "3.2", "4.4", "7.1")
    with pytest.raises(ValueError, match="EC-07"):
        rules.followup_scope(
            last_findings=[], findings_last_4_years={}, sampled=["1.1", "1.2", "1.3", "1.5", "1.6"]
        )


@pytest.mark.parametrize(
    ("audit_type", "irbs", "total"),
    [
        ("video", 1, (120, 150)),
        ("video", 2, (160, 190)),
        ("onsite", 1, (300, 340)),
        ("onsite", 3, (470, 470)),
        ("followup", 1, (160, 200)),
        ("followup", 2, (215, 255)),
    ],
)
def test_ec12_agendas_add_up_to_the_annexes_totals(audit_type, irbs, total):
    steps, minutes = rules.agenda(audit_type, irbs)
    assert minutes == total
    assert steps[0].step_zh.endswith("會前會")


def test_ec04_ec05_campaign_consolidates_auditors_scores_and_sets_validity(cast, body, client):
    mohw, people = body
    campaign = services.campaign_create(
        actor=people["officer"],
        organization=mohw,
        year=2026,
        window_opens=date(2026, 3, 2),
        window_closes=date(2026, 3, 31),
    )
    new_irb = _irb(cast, "NEW-IRB", passed=False)
    audit = services.audit_invite(
        actor=people["officer"], campaign=campaign, irb=new_irb, audit_type="video"
    )
    for name in ("a1", "a2"):
        services.auditor_assign(actor=people["officer"], audit=audit, auditor=people[name])
    with pytest.raises(ApplicationError):
        services.auditor_assign(actor=people["officer"], audit=audit, auditor=cast.outsider)
    with pytest.raises(ApplicationError) as bad:
        services.auditor_rate(actor=people["a1"], audit=audit, ratings={"1.1": "compliant"})
    assert bad.value.rule == "EC-03"
    services.auditor_rate(actor=people["a1"], audit=audit, ratings=_all("compliant"))
    services.auditor_rate(
        actor=people["a2"], audit=audit, ratings=_all("excellent", **{"2.6": "non_compliant"})
    )
    audit = services.audit_announce(
        actor=people["officer"], audit=audit, announced_on=date(2026, 6, 1)
    )
    assert audit.consolidated["2.6"] == "non_compliant"  # a tie goes to the stricter rating
    assert audit.passed and audit.ratio == pytest.approx(56 / 57)
    # first pass: from the announcement to the end of next year (EC-05)
    assert (audit.valid_from, audit.valid_until) == (date(2026, 6, 1), date(2027, 12, 31))
    assert Obligation.objects.get(rule_id="EC-06", subject_id=str(audit.pk)).state == "open"
    new_irb.refresh_from_db()
    assert new_irb.previously_passed

    appeal = services.appeal_file(
        actor=people["officer"], audit=audit, filed_on=date(2026, 6, 10), grounds="2.6 已有紀錄"
    )
    services.appeal_decide(
        actor=people["officer"],
        appeal=appeal,
        upheld=False,
        outcome="維持原評定",
        decided_on=date(2026, 6, 20),
    )
    with pytest.raises(PermissionDenied):
        services.campaign_create(
            actor=cast.irb_admin,
            organization=mohw,
            year=2027,
            window_opens=date(2027, 3, 1),
            window_closes=date(2027, 3, 31),
        )


def test_ec06_follow_up_draw_records_its_seed_and_invites_the_drawn(cast, body):
    mohw, people = body
    past = services.campaign_create(
        actor=people["officer"],
        organization=mohw,
        year=2025,
        window_opens=date(2025, 3, 3),
        window_closes=date(2025, 3, 31),
    )
    irbs = [_irb(cast, f"V-{n}") for n in range(1, 6)]
    for irb in irbs:
        audit = services.audit_invite(
            actor=people["officer"], campaign=past, irb=irb, audit_type="video"
        )
        services.auditor_assign(actor=people["officer"], audit=audit, auditor=people["a1"])
        services.auditor_rate(actor=people["a1"], audit=audit, ratings=_all("compliant"))
        services.audit_announce(actor=people["officer"], audit=audit, announced_on=date(2025, 6, 1))
    this_year = services.campaign_create(
        actor=people["officer"],
        organization=mohw,
        year=2026,
        window_opens=date(2026, 3, 2),
        window_closes=date(2026, 3, 31),
    )
    complained = _irb(cast, "COMPLAINED", organization=cast.other)
    draw = services.followup_draw_run(
        actor=people["officer"], campaign=this_year, count=2, mandatory=[complained]
    )
    assert sorted(draw.candidates) == [f"V-{n}" for n in range(1, 6)]
    replay = rules.followup_draw(draw.candidates, count=2, seed=draw.seed, mandatory=draw.mandatory)
    assert list(replay.drawn) == draw.drawn
    followups = IRBAudit.objects.filter(campaign=this_year, audit_type="followup")
    assert sorted(a.irb.code for a in followups) == sorted(["COMPLAINED", *draw.drawn])
    assert FollowUpDraw.objects.count() == 1
    audit = followups.get(irb=complained)
    services.followup_improvement(actor=people["officer"], audit=audit, due=date(2026, 9, 30))
    assert Obligation.objects.get(rule_id="EC-06", subject_id=str(audit.pk)).due_at.date() == date(
        2026, 9, 30
    )


def test_campaign_pages_agenda_and_application_pdf(cast, body, client):
    mohw, people = body
    client.force_login(people["officer"])
    response = client.post(
        "/ethics/campaigns/",
        {
            "organization": "MOHW",
            "year": "2026",
            "window_opens": "2026-03-02",
            "window_closes": "2026-03-31",
        },
    )
    assert response.status_code == 302
    campaign = mohw.irb_audit_campaigns.get()
    audit = services.audit_invite(
        actor=people["officer"], campaign=campaign, irb=_irb(cast, "I-9"), audit_type="onsite"
    )
    services.audit_apply(
        actor=people["officer"],
        audit=audit,
        applied_on=date(2026, 3, 10),
        application={"institution_name": "示範醫院", "chair": "陳主委"},
    )
    assert client.get(response["Location"]).status_code == 200
    client.post(response["Location"], {"count": "1", "seed": "42"})
    assert campaign.draws.get().seed == 42
    detail = client.get(f"/ethics/audits/{audit.public_id}/").content.decode()
    assert "示範醫院" in detail and "irb_name" in detail
    pdf = client.get(f"/ethics/audits/{audit.public_id}/application.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    page = client.get("/ethics/agenda/?type=onsite&irbs=2").content.decode()
    assert 'id="total">470<' in page
    client.force_login(cast.irb_admin)  # DEMO's IRB administrator is not the auditing body
    assert client.get(f"/ethics/audits/{audit.public_id}/").status_code == 404
