"""The follow-up audit and the audited IRB's side (EC-05 … EC-08): the 4-year common findings
of EC-07 from past campaigns, mandatory follow-ups and the draw, the review of an IRB's
improvement with a priority follow-up or a shortened validity (作業程序 十三), the application
recorded on the page, and the IRB seeing its own audit and filing an appeal (作業程序 九, 十一)."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings
from django.urls import reverse

from biobank.core.errors import ApplicationError, PermissionDenied
from biobank.core.models import Obligation
from biobank.ethics import rules, selectors, services
from biobank.ethics.models import AuditAppeal, IRBAudit
from tests.ethics.conftest import all_rated


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to("2026-06-30 10:00+08:00", tick=False)


def _campaign(people, mohw, year):
    return services.campaign_create(
        actor=people["officer"],
        organization=mohw,
        year=year,
        window_opens=date(year, 3, 2),
        window_closes=date(year, 3, 31),
    )


def _announced(people, campaign, irb, *, findings=(), audit_type="video", on=None):
    """An audit rated by one auditor with ``findings`` non-compliant, then announced."""
    audit = services.audit_invite(
        actor=people["officer"], campaign=campaign, irb=irb, audit_type=audit_type
    )
    services.auditor_assign(actor=people["officer"], audit=audit, auditor=people["a1"])
    services.auditor_rate(
        actor=people["a1"],
        audit=audit,
        ratings=all_rated("compliant", **dict.fromkeys(findings, "non_compliant")),
    )
    return services.audit_announce(
        actor=people["officer"], audit=audit, announced_on=on or date(campaign.year, 6, 1)
    )


def _irb(cast, code, organization=None):
    return services.irb_create(
        actor=None,
        organization=organization or cast.demo,
        code=code,
        name=f"{code} 人體試驗委員會",
        kind="institution",
        previously_passed=True,
    )


# EC-07: the top 30 % of common findings over 4 years, as a rule ------------------------------


def test_ec07_findings_count_the_4_campaign_years_before_the_follow_up():
    past = [
        rules.PastAudit(2022, "video", {"1.1": "non_compliant", "2.6": "compliant"}),  # year-4
        rules.PastAudit(2021, "video", {"1.1": "non_compliant", "3.2": "non_compliant"}),  # -5
        rules.PastAudit(2025, "onsite", {"1.1": "non_compliant", "2.6": "non_compliant"}),
        rules.PastAudit(2026, "video", {"2.6": "non_compliant"}),  # the follow-up's own year
        rules.PastAudit(2024, "followup", {"4.9": "non_compliant"}),  # follow-ups not counted
    ]
    assert rules.findings_last_4_years(past, year=2026) == {"1.1": 2, "2.6": 1}
    common = rules.common_findings_for(past, year=2026)
    assert (common.first_year, common.last_year, common.audits) == (2022, 2025, 2)
    assert common.rule == "EC-07"


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        (0, 0),  # no finding at all: nothing is common
        (1, 1),
        (3, 1),  # 0.9 → 1
        (4, 2),  # 1.2 → 2
        (10, 3),  # exactly 30 %: 3, not 4 (exact arithmetic)
        (11, 4),  # 3.3 → 4
        (20, 6),
        (57, 18),  # 17.1 → 18
    ],
)
def test_ec07_top_30_percent_of_criteria_with_findings_on_the_boundaries(criteria, expected):
    numbers = [c.number for c in rules.load_criteria()][:criteria]
    # distinct counts, the first criterion the most frequent finding
    findings = {number: criteria - i for i, number in enumerate(numbers)}
    common = rules.common_findings(findings)
    assert len(common) == expected
    assert set(common) == set(numbers[:expected])


def test_ec07_ties_at_the_cut_are_all_common_and_zero_counts_are_not_findings():
    findings = {"1.1": 5, "1.2": 4, "1.3": 4, "1.5": 4, "2.1": 1, "2.2": 1, "2.3": 0}
    # 6 criteria with findings: 30 % → 2; 1.2, 1.3 and 1.5 tie at the cut
    assert rules.common_findings(findings) == ("1.1", "1.2", "1.3", "1.5")
    assert rules.common_findings({"1.1": 0}) == ()


# EC-07 from the database: the selector and the follow-up page --------------------------------


def test_ec07_follow_up_scope_is_computed_from_past_campaigns(cast, body, client):
    mohw, people = body
    demo_irb, univ, other = (_irb(cast, c) for c in ("D-IRB", "U-IRB", "O-IRB"))
    c2021, c2022, c2025 = (_campaign(people, mohw, y) for y in (2021, 2022, 2025))
    _announced(people, c2021, univ, findings=["7.1", "7.2"])  # too old: 2021 < 2026 - 4
    _announced(people, c2022, univ, findings=["2.6", "3.2"])
    _announced(people, c2022, other, findings=["2.6", "4.9"])
    _announced(people, c2025, other, findings=["2.6", "3.2", "5.1"])
    _announced(people, c2025, demo_irb, findings=["1.1"])
    this_year = _campaign(people, mohw, 2026)
    followup = services.audit_invite(
        actor=people["officer"], campaign=this_year, irb=demo_irb, audit_type="followup"
    )

    past = selectors.past_audits(mohw, year=2026)
    assert sorted(p.year for p in past) == [2022, 2022, 2025, 2025]
    scope, common, last = services.followup_scope_for(followup)
    # 2.6: 3 findings, 3.2: 2, 1.1 / 4.9 / 5.1: 1 → 5 criteria, top 30 % = 2
    assert common.counts == {"1.1": 1, "2.6": 3, "3.2": 2, "4.9": 1, "5.1": 1}
    assert scope.common == ("2.6", "3.2")
    assert last is not None and last.campaign.year == 2025
    assert scope.improvements == ("1.1",)
    assert scope.items == ("1.1", "1.4", "2.6", "3.2")

    services.followup_sample_set(actor=people["officer"], audit=followup, items=["6.4", "7.1"])
    with pytest.raises(ApplicationError) as too_many:
        services.followup_sample_set(
            actor=people["officer"], audit=followup, items=["1.1", "1.2", "1.3", "1.5", "1.6"]
        )
    assert too_many.value.rule == "EC-07"
    with pytest.raises(ApplicationError):
        services.followup_sample_set(actor=people["officer"], audit=followup, items=["9.9"])

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(people["officer"])
    page = client.get(reverse("ethics:audit-detail", args=[followup.public_id])).content.decode()
    assert 'id="scope-items">1.1, 1.4, 2.6, 3.2, 6.4, 7.1<' in page
    assert "2022–2025" in page and "4 audits" in page
    client.post(
        reverse("ethics:audit-detail", args=[followup.public_id]),
        {"action": "sample", "items": "2.1, 2.2"},
    )
    followup.refresh_from_db()
    assert followup.followup_sampled == ["2.1", "2.2"]


# EC-06: mandatory follow-ups, improvement review, shortened validity -------------------------


def test_ec06_a_mandatory_follow_up_states_its_grounds_and_joins_the_next_draw(cast, body):
    mohw, people = body
    irb = _irb(cast, "M-IRB")
    c2025 = _campaign(people, mohw, 2025)
    audit = _announced(people, c2025, irb)
    with pytest.raises(ApplicationError) as bare:
        services.audit_mandatory_followup_set(
            actor=people["officer"], audit=audit, mandatory=True, grounds=" "
        )
    assert bare.value.rule == "EC-06"
    with pytest.raises(PermissionDenied):
        services.audit_mandatory_followup_set(
            actor=people["a1"], audit=audit, mandatory=True, grounds="評定會議決議"
        )
    services.audit_mandatory_followup_set(
        actor=people["officer"], audit=audit, mandatory=True, grounds="評定會議決議"
    )
    this_year = _campaign(people, mohw, 2026)
    assert services.mandatory_followups_pending(mohw, year=2026) == [irb]
    draw = services.followup_draw_run(
        actor=people["officer"],
        campaign=this_year,
        count=0,
        mandatory=services.mandatory_followups_pending(mohw, year=2026),
        seed=1,
    )
    assert draw.mandatory == ["M-IRB"]
    # followed up this year: no longer pending
    assert services.mandatory_followups_pending(mohw, year=2026) == []


def test_ec06_improvement_review_with_doubts_shortens_the_validity_or_names_a_priority(cast, body):
    mohw, people = body
    irb = _irb(cast, "S-IRB")
    periodic = _announced(people, _campaign(people, mohw, 2025), irb)
    # passed before, no lapse: 1 January 2026 to 31 December 2031 (EC-05)
    assert (periodic.valid_from, periodic.valid_until) == (date(2026, 1, 1), date(2031, 12, 31))
    this_year = _campaign(people, mohw, 2026)
    followup = services.audit_invite(
        actor=people["officer"], campaign=this_year, irb=irb, audit_type="followup"
    )
    with pytest.raises(ApplicationError) as not_rated:
        services.followup_improvement_review(
            actor=people["officer"],
            audit=followup,
            reviewed_on=date(2026, 6, 30),
            doubts_remain=False,
            review="已改善",
        )
    assert not_rated.value.rule == "EC-06"
    services.followup_improvement(actor=people["officer"], audit=followup, due=date(2026, 9, 30))

    def review(**kwargs):
        return services.followup_improvement_review(
            actor=people["officer"],
            audit=followup,
            reviewed_on=date(2026, 6, 30),
            review="仍有疑慮",
            **kwargs,
        )

    refused = [
        {"doubts_remain": True},  # doubts need a consequence
        {"doubts_remain": False, "shorten_to": date(2026, 12, 31)},  # no doubt, no consequence
        {"doubts_remain": True, "shorten_to": date(2031, 12, 31)},  # not shorter
        {"doubts_remain": True, "shorten_to": date(2026, 6, 29)},  # before the review
    ]
    for kwargs in refused:
        with pytest.raises(ApplicationError) as error:
            review(**kwargs)
        assert error.value.rule == "EC-06", kwargs
    # the last day still shorter, and the review day itself, are allowed by the rule
    assert rules.improvement_review_check(
        needs_improvement=True,
        doubts_remain=True,
        priority_followup=False,
        shorten_to=date(2031, 12, 30),
        valid_from=date(2026, 1, 1),
        valid_until=date(2031, 12, 31),
        reviewed_on=date(2026, 6, 30),
    ).allowed
    review(doubts_remain=True, shorten_to=date(2026, 6, 30), priority_followup=True)

    periodic.refresh_from_db()
    followup.refresh_from_db()
    assert periodic.valid_until == date(2026, 6, 30)
    assert periodic.validity_shortened_from == date(2031, 12, 31)
    assert followup.improvement_doubts is True and followup.mandatory_followup
    assert irb not in services.valid_irbs(mohw, on=date(2026, 7, 1))
    improvement = Obligation.objects.get(rule_id="EC-06", subject_id=str(followup.pk))
    assert improvement.state != "open"
    # a priority follow-up next year: pending for 2027, not satisfied by this year's follow-up
    assert services.mandatory_followups_pending(mohw, year=2027) == [irb]
    with pytest.raises(ApplicationError):
        review(doubts_remain=False)  # reviewed once


def test_ec06_improvement_accepted_without_doubts_changes_nothing_else(cast, body):
    mohw, people = body
    irb = _irb(cast, "A-IRB")
    periodic = _announced(people, _campaign(people, mohw, 2025), irb)
    followup = services.audit_invite(
        actor=people["officer"],
        campaign=_campaign(people, mohw, 2026),
        irb=irb,
        audit_type="followup",
    )
    services.followup_improvement(actor=people["officer"], audit=followup, due=date(2026, 9, 30))
    services.followup_improvement_review(
        actor=people["officer"],
        audit=followup,
        reviewed_on=date(2026, 6, 30),
        doubts_remain=False,
        review="改善完成",
    )
    periodic.refresh_from_db()
    assert periodic.valid_until == date(2031, 12, 31) and periodic.validity_shortened_from is None
    assert services.mandatory_followups_pending(mohw, year=2027) == []


def test_ec05_ec06_ec08_the_body_records_application_mandatory_and_review_on_the_page(
    cast, body, client
):
    mohw, people = body
    irb = _irb(cast, "P-IRB")
    periodic = _announced(people, _campaign(people, mohw, 2025), irb)
    this_year = _campaign(people, mohw, 2026)
    invited = services.audit_invite(
        actor=people["officer"], campaign=this_year, irb=_irb(cast, "N-IRB"), audit_type="video"
    )
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(people["officer"])
    url = reverse("ethics:audit-detail", args=[invited.public_id])
    page = client.get(url).content.decode()
    assert 'name="applied_on"' in page and 'name="email"' in page
    application = {
        "action": "apply",
        "applied_on": "2026-03-20",
        "institution_name": "示範醫院",
        "irb_name": "N-IRB 人體試驗委員會",
        "institution_type": "醫療機構",
        "category": "institution",
        "last_result": "new",
        "chair": "陳主委",
        "contact": "李秘書",
        "address": "台北市",
        "phone": "02-1234",
        "email": "irb@example.org",
    }
    assert client.post(url, application).status_code == 302
    invited.refresh_from_db()
    assert invited.state == "applied" and invited.application_complete
    assert invited.applied_on == date(2026, 3, 20)
    late = client.post(url, {**application, "applied_on": "2026-04-08"}, follow=True)
    assert "EC-08" in late.content.decode() or "Completion was due" in late.content.decode()

    past_url = reverse("ethics:audit-detail", args=[periodic.public_id])
    client.post(past_url, {"action": "mandatory", "mandatory": "1", "grounds": "投訴經認定違規"})
    periodic.refresh_from_db()
    assert periodic.mandatory_followup and periodic.mandatory_followup_grounds == "投訴經認定違規"
    campaign_page = client.get(
        reverse("ethics:campaign-detail", args=[this_year.public_id])
    ).content.decode()
    assert '<option value="P-IRB" selected>' in campaign_page

    followup = services.audit_invite(
        actor=people["officer"], campaign=this_year, irb=irb, audit_type="followup"
    )
    services.followup_improvement(actor=people["officer"], audit=followup, due=date(2026, 9, 30))
    follow_url = reverse("ethics:audit-detail", args=[followup.public_id])
    assert "Review the improvement" in client.get(follow_url).content.decode()
    client.post(
        follow_url,
        {
            "action": "review",
            "reviewed_on": "2026-06-30",
            "review": "仍有疑慮",
            "doubts": "1",
            "shorten_to": "2027-12-31",
        },
    )
    periodic.refresh_from_db()
    assert periodic.valid_until == date(2027, 12, 31)
    report = client.get(reverse("ethics:audit-report", args=[periodic.public_id])).content.decode()
    assert "shortened" in report and "2031-12-31" in report


# The IRB sees its own audit ------------------------------------------------------------------


def test_the_irb_sees_its_own_audit_but_no_sheet_before_the_announcement(
    cast, body, committee, client
):
    mohw, people = body
    campaign = _campaign(people, mohw, 2026)
    audit = services.audit_invite(
        actor=people["officer"], campaign=campaign, irb=committee, audit_type="video"
    )
    services.auditor_assign(actor=people["officer"], audit=audit, auditor=people["a1"])
    services.auditor_rate(
        actor=people["a1"], audit=audit, ratings=all_rated("compliant", **{"4.9": "non_compliant"})
    )
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(cast.irb_member)  # chao reads the IRB
    listing = client.get(reverse("ethics:irb-audits", args=[committee.public_id]))
    assert listing.status_code == 200
    assert "2026" in listing.content.decode()
    url = reverse("ethics:irb-audit", args=[committee.public_id, audit.public_id])
    before = client.get(url).content.decode()
    assert 'id="not-announced"' in before
    assert "4.9" not in before and "56 / 57" not in before
    assert "Ratings per auditor" not in before
    assert "File an appeal" not in before
    # the body's own pages stay closed to the IRB (another organization)
    assert client.get(reverse("ethics:audit-ratings", args=[audit.public_id])).status_code == 404

    services.audit_announce(actor=people["officer"], audit=audit, announced_on=date(2026, 6, 1))
    after = client.get(url).content.decode()
    assert 'id="report"' in after and "4.9" in after and "56 / 57" in after
    assert "2027-01-01" in after and "2032-12-31" in after  # passed before: 6 years (EC-05)
    assert "Ratings per auditor" not in after  # no auditor's sheet, even now
    assert "File an appeal" not in after  # chao reads; only the administrator files

    client.post(url, {"grounds": "4.9 已有紀錄"})
    assert not AuditAppeal.objects.exists()

    client.force_login(cast.irb_admin)
    assert "File an appeal" in client.get(url).content.decode()
    client.post(url, {"grounds": "4.9 已有申訴處理紀錄"})
    appeal = AuditAppeal.objects.get(audit=audit)
    assert appeal.filed_on == date(2026, 6, 30)
    assert "File an appeal" not in client.get(url).content.decode()  # one under re-review
    with pytest.raises(ApplicationError):
        services.appeal_request(actor=cast.irb_admin, audit=audit, grounds="再一次")
    services.appeal_decide(
        actor=people["officer"],
        appeal=appeal,
        upheld=False,
        outcome="維持原評定",
        decided_on=date(2026, 6, 30),
    )
    assert "維持原評定" in client.get(url).content.decode()

    # the outsider's organization has no such IRB
    client.force_login(cast.outsider)
    assert client.get(url).status_code == 404


def test_the_irb_sees_needs_improvement_items_with_their_deadline(cast, body, committee, client):
    mohw, people = body
    _announced(people, _campaign(people, mohw, 2025), committee, findings=["2.6"])
    followup = _announced(
        people, _campaign(people, mohw, 2026), committee, findings=["3.2"], audit_type="followup"
    )
    services.followup_improvement(actor=people["officer"], audit=followup, due=date(2026, 9, 30))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(cast.irb_admin)
    listing = client.get(reverse("ethics:irb-audits", args=[committee.public_id])).content
    assert b"2026-09-30" in listing
    page = client.get(
        reverse("ethics:irb-audit", args=[committee.public_id, followup.public_id])
    ).content.decode()
    assert 'id="improvement"' in page and "2026-09-30" in page and "<strong>3.2</strong>" in page


def test_appeal_request_needs_the_irb_administrator_and_an_announced_result(cast, body, committee):
    mohw, people = body
    audit = services.audit_invite(
        actor=people["officer"],
        campaign=_campaign(people, mohw, 2026),
        irb=committee,
        audit_type="video",
    )
    with pytest.raises(ApplicationError):
        services.appeal_request(actor=cast.irb_admin, audit=audit, grounds="尚未公告")
    assert audit.state == IRBAudit.State.INVITED
    with pytest.raises(PermissionDenied):
        services.appeal_request(actor=people["officer"], audit=audit, grounds="x")


@pytest.mark.parametrize(
    ("kwargs", "allowed"),
    [
        ({"needs_improvement": False}, False),
        ({"doubts_remain": False}, True),
        ({"doubts_remain": False, "priority_followup": True}, False),
        ({"doubts_remain": True}, False),
        ({"doubts_remain": True, "priority_followup": True}, True),
        ({"doubts_remain": True, "shorten_to": date(2027, 1, 1), "valid_until": None}, False),
        ({"doubts_remain": True, "shorten_to": date(2031, 12, 31)}, False),  # not shorter
        ({"doubts_remain": True, "shorten_to": date(2031, 12, 30)}, True),
        ({"doubts_remain": True, "shorten_to": date(2026, 6, 30)}, True),  # the review day
        ({"doubts_remain": True, "shorten_to": date(2026, 6, 29)}, False),
    ],
)
def test_ec06_improvement_review_rule(kwargs, allowed):
    given = {
        "needs_improvement": True,
        "doubts_remain": False,
        "priority_followup": False,
        "shorten_to": None,
        "valid_from": date(2026, 1, 1),
        "valid_until": date(2031, 12, 31),
        "reviewed_on": date(2026, 6, 30),
        **kwargs,
    }
    decision = rules.improvement_review_check(**given)
    assert decision.allowed is allowed and decision.rule == "EC-06"


def test_ec06_mandatory_follow_up_rule_needs_grounds_only_when_mandatory():
    assert rules.mandatory_followup_check(mandatory=False, grounds="").allowed
    assert not rules.mandatory_followup_check(mandatory=True, grounds="  ").allowed
    assert rules.mandatory_followup_check(mandatory=True, grounds="評定會議決議").rule == "EC-06"


def test_ec07_only_a_follow_up_samples_criteria(cast, body):
    mohw, people = body
    audit = services.audit_invite(
        actor=people["officer"],
        campaign=_campaign(people, mohw, 2026),
        irb=_irb(cast, "V-IRB"),
        audit_type="video",
    )
    with pytest.raises(ApplicationError) as refused:
        services.followup_sample_set(actor=people["officer"], audit=audit, items=["1.1"])
    assert refused.value.rule == "EC-07"
