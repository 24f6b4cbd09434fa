"""Every ethics page renders for the demo data as the right demo role, in English and in
Traditional Chinese, and shows its key figures; a few forms of the auditing body are posted
(ratings, assignment, announcement, appeal, needs improvement, invitation, draw)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from biobank.core import demo as core_demo
from biobank.core.demo import DemoContext
from biobank.ethics import demo as ethics_demo
from biobank.ethics import rules
from biobank.ethics.models import (
    IRB,
    AuditAppeal,
    AuditCampaign,
    Complaint,
    FollowUpDraw,
    IRBAudit,
    Meeting,
    Protocol,
)


@pytest.fixture
def demo(db) -> DemoContext:
    context = DemoContext()
    core_demo.load(context)
    ethics_demo.load(context)
    return context


@pytest.fixture(params=["en", "zh-hant"])
def language(request, client) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = request.param
    return request.param


def _english(client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def _get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def _campaigns() -> tuple[AuditCampaign, AuditCampaign]:
    year = timezone.localdate().year
    return (
        AuditCampaign.objects.get(year=year - 1),
        AuditCampaign.objects.get(year=year),
    )


def test_irb_pages_render_for_the_irb_administrator(demo, client, language):
    client.force_login(demo.users["lee"])
    irb = IRB.objects.get(code="DEMO-IRB")
    year = timezone.localdate().year
    assert "DEMO-IRB" in _get(client, reverse("ethics:irb-list"))
    detail = _get(client, reverse("ethics:irb-detail", args=[irb.public_id]))
    assert 'id="composition" class="ok"' in detail  # HR-02: the roster passes
    assert "陳文雄" in detail
    assessment = _get(client, reverse("ethics:self-assessment", args=[irb.public_id, year]))
    assert "40" in assessment and "57" in assessment  # 40 of 57 rated so far
    assert reverse("ethics:irb-application-pdf", args=[irb.public_id]) in assessment
    assert reverse("ethics:protocol-list", args=[irb.public_id]) + "#notices" in assessment
    assert reverse("ethics:irb-detail", args=[irb.public_id]) + "#composition" in assessment
    protocols = _get(client, reverse("ethics:protocol-list", args=[irb.public_id]))
    assert "IRB-2026-001" in protocols and 'id="notice-share"' in protocols
    assert "100 %" in protocols  # the one decision was notified within 14 working days
    records = _get(client, reverse("ethics:records", args=[irb.public_id]))
    assert records.count('class="badge overdue"') >= 4  # 2 stale and 2 missing SOPs (EC-11)
    assert "IRB-SOP-05" in records
    assert "P-0042" in records
    _get(client, reverse("ethics:meeting-list", args=[irb.public_id]))
    _get(client, reverse("ethics:meeting-detail", args=[Meeting.objects.get().public_id]))
    protocol = Protocol.objects.get(code="IRB-2026-001")
    _get(client, reverse("ethics:protocol-detail", args=[protocol.public_id]))
    submission = protocol.submissions.get()
    _get(client, reverse("ethics:submission-detail", args=[submission.public_id]))
    _get(client, reverse("ethics:complaint-detail", args=[Complaint.objects.get().public_id]))
    pdf = client.get(reverse("ethics:irb-application-pdf", args=[irb.public_id]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_self_assessment_evidence_is_computed_from_the_records(demo, client):
    _english(client)
    client.force_login(demo.users["chao"])  # an IRB member reads it
    irb = IRB.objects.get(code="DEMO-IRB")
    page = _get(
        client, reverse("ethics:self-assessment", args=[irb.public_id, timezone.localdate().year])
    )
    assert "Decisions notified within 14 working days (EC-09): 1 of 1 (100%)" in page
    assert "Composition check (HR-02): the composition meets the Act" in page
    assert "24 of 26 topics" in page


def test_auditing_body_pages_render_for_the_platform_admin(demo, client, language):
    client.force_login(demo.users["admin"])
    last, this = _campaigns()
    listed = _get(client, reverse("ethics:campaign-list"))
    assert str(last.year) in listed and str(this.year) in listed

    past = _get(client, reverse("ethics:campaign-detail", args=[last.public_id]))
    assert "DEMO-IRB" in past and "UNIV-IRB" in past and "OTHER-IRB" in past
    assert "98 %" in past  # DEMO-IRB: 56 of 57

    current = _get(client, reverse("ethics:campaign-detail", args=[this.public_id]))
    assert f'<code class="seed">{ethics_demo.DRAW_SEED}</code>' in current
    draw = FollowUpDraw.objects.get()
    replayed = rules.followup_draw(
        draw.candidates, count=draw.count, seed=draw.seed, mandatory=draw.mandatory
    )
    assert list(replayed.drawn) == draw.drawn
    assert 'class="badge done"' in current  # the replay matches the recorded draw
    due = timezone.localdate() + timedelta(days=90)
    assert due.isoformat() in current  # the follow-up's improvement deadline

    passing = _get(client, reverse("ethics:campaign-passing", args=[last.public_id]))
    assert "DEMO-IRB" in passing and "UNIV-IRB" in passing
    assert f"{this.year + 5}-12-31" in passing  # DEMO-IRB passed before: 6 years (EC-05)

    demo_audit = IRBAudit.objects.get(campaign=last, irb__code="DEMO-IRB")
    failed = IRBAudit.objects.get(campaign=last, irb__code="OTHER-IRB")
    detail = _get(client, reverse("ethics:audit-detail", args=[failed.public_id]))
    assert "維持原查核結果" in detail  # the appeal's outcome, in words
    assert 'id="validity"' in detail
    ratings = _get(client, reverse("ethics:audit-ratings", args=[demo_audit.public_id]))
    assert "hsu" in ratings and "tsai" in ratings
    report = _get(client, reverse("ethics:audit-report", args=[failed.public_id]))
    assert 'id="findings"' in report and "1.4" in report and "4.9" in report
    application = _get(client, reverse("ethics:audit-detail", args=[demo_audit.public_id]))
    assert "02-2312-3456" in application
    _get(client, reverse("ethics:agenda") + "?type=followup&irbs=2")


def test_an_auditor_rates_and_the_body_announces(demo, client):
    _english(client)
    _, this = _campaigns()
    audit = IRBAudit.objects.get(campaign=this, irb__code="DEMO-IRB", audit_type="video")
    client.force_login(demo.users["tsai"])
    url = reverse("ethics:audit-ratings", args=[audit.public_id])
    form = {f"r-{c.number}": "compliant" for c in rules.load_criteria()}
    form["r-1.4"] = "excellent"
    response = client.post(url, form)
    assert response.status_code == 302
    assert audit.auditors.get(auditor=demo.users["tsai"]).submitted_at is not None
    # tsai and hsu both rated: 2.6 is a tie, which goes to the stricter rating
    page = _get(client, url)
    assert "Submit my ratings" in page and "56 / 57" in page

    client.force_login(demo.users["admin"])
    detail = reverse("ethics:audit-detail", args=[audit.public_id])
    today = timezone.localdate().isoformat()
    assert client.post(detail, {"action": "announce", "announced_on": today}).status_code == 302
    audit.refresh_from_db()
    assert audit.passed and audit.valid_until.year == this.year + 6
    client.post(detail, {"action": "appeal", "filed_on": today, "grounds": "2.6 已改善"})
    appeal = AuditAppeal.objects.get(audit=audit)
    client.post(
        detail,
        {
            "action": "decide",
            "appeal": str(appeal.pk),
            "outcome": "維持",
            "decided_on": today,
        },
    )
    appeal.refresh_from_db()
    assert appeal.upheld is False and appeal.outcome == "維持"
    # once announced, the auditor cannot rate any more
    client.force_login(demo.users["tsai"])
    assert "Submit my ratings" not in _get(client, url)


def test_the_body_assigns_invites_draws_and_sets_improvement(demo, client):
    _english(client)
    _, this = _campaigns()
    client.force_login(demo.users["admin"])
    univ = IRBAudit.objects.get(campaign=this, irb__code="UNIV-IRB")
    detail = reverse("ethics:audit-detail", args=[univ.public_id])
    assert client.post(detail, {"action": "assign", "auditor": "hsu"}).status_code == 302
    assert univ.auditors.get().auditor.username == "hsu"
    unknown = client.post(detail, {"action": "assign", "auditor": "lee"}, follow=True)
    assert "Choose an auditor of this body." in unknown.content.decode()

    campaign = reverse("ethics:campaign-detail", args=[this.public_id])
    other = IRB.objects.get(code="OTHER-IRB")
    client.post(campaign, {"action": "invite", "irb": str(other.public_id), "audit_type": "onsite"})
    assert IRBAudit.objects.filter(campaign=this, irb=other, audit_type="onsite").exists()
    client.post(campaign, {"action": "draw", "count": "1", "seed": "7", "mandatory": ["OTHER-IRB"]})
    draw = FollowUpDraw.objects.get(seed=7)
    assert draw.mandatory == ["OTHER-IRB"]
    assert IRBAudit.objects.filter(campaign=this, irb=other, audit_type="followup").exists()

    followup = IRBAudit.objects.get(campaign=this, irb=other, audit_type="followup")
    due = (timezone.localdate() + timedelta(days=60)).isoformat()
    client.post(
        reverse("ethics:audit-detail", args=[followup.public_id]),
        {"action": "improvement", "due": due},
    )
    followup.refresh_from_db()
    assert followup.needs_improvement and followup.improvement_due.isoformat() == due


def test_the_irb_side_cannot_see_the_auditing_body(demo, client):
    _, this = _campaigns()
    _english(client)
    client.force_login(demo.users["lee"])
    assert client.get(reverse("ethics:campaign-detail", args=[this.public_id])).status_code == 404
    audit = this.audits.first()
    for name in ("ethics:audit-detail", "ethics:audit-ratings", "ethics:audit-report"):
        assert client.get(reverse(name, args=[audit.public_id])).status_code == 404
    client.force_login(demo.users["hsu"])  # an auditor reads but cannot manage: nothing drawn
    response = client.post(reverse("ethics:campaign-detail", args=[this.public_id]), {"count": "1"})
    assert response.status_code == 200 and "IRBs to draw" not in response.content.decode()
    assert FollowUpDraw.objects.count() == 1


def test_the_irb_sees_its_own_audits_from_the_demo(demo, client, language):
    """DEMO-IRB's staff see last year's announced result with its 6-year validity (EC-05) and
    the report, and this year's audit only as "not announced" (no sheet, no score)."""
    last, this = _campaigns()
    client.force_login(demo.users["lee"])
    irb = IRB.objects.get(code="DEMO-IRB")
    listing = _get(client, reverse("ethics:irb-audits", args=[irb.public_id]))
    assert str(last.year) in listing and str(this.year) in listing
    assert f"{this.year + 5}-12-31" in listing
    announced = IRBAudit.objects.get(campaign=last, irb=irb)
    page = _get(client, reverse("ethics:irb-audit", args=[irb.public_id, announced.public_id]))
    assert 'id="report"' in page and "56 / 57" in page
    current = IRBAudit.objects.get(campaign=this, irb=irb, audit_type="video")
    page = _get(client, reverse("ethics:irb-audit", args=[irb.public_id, current.public_id]))
    assert 'id="not-announced"' in page and "56 / 57" not in page
