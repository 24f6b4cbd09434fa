"""The ethics API (/api/v1/ethics/...): roster and composition (HR-02), protocols, submissions
and decisions (HR-01, EC-09), meetings, the self-assessment with its live score (EC-02 …
EC-04), the auditing body's campaigns, ratings, consolidated result, passing IRBs and the
follow-up draw (EC-04 … EC-06); and tenancy: another organization's records answer 404,
a write without the permission 403."""

from __future__ import annotations

from datetime import date

import pytest

from biobank.core import services as core_services
from biobank.ethics import rules, services
from tests.ethics.conftest import all_rated

TODAY = "2026-06-30 10:00+08:00"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(TODAY, tick=False)


class Api:
    """A test client speaking to /api/v1 with one user's bearer token."""

    def __init__(self, client, user) -> None:
        _, plain = core_services.token_create(user=user)
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {plain}"}

    def get(self, path: str, **params):
        return self.client.get(f"/api/v1{path}", params, **self.headers)

    def post(self, path: str, payload: dict):
        return self.client.post(
            f"/api/v1{path}", payload, content_type="application/json", **self.headers
        )


@pytest.fixture
def approved(cast, committee):
    """An approved minimal-risk protocol of the committee."""
    protocol = services.protocol_create(
        actor=cast.irb_admin,
        irb=committee,
        code="P-001",
        title="第二型糖尿病血漿生物標記研究",
        principal_investigator="黃研究員",
        risk="minimal",
        received_on=date(2026, 3, 2),
    )
    submission = protocol.submissions.get()
    services.submission_triage(
        actor=cast.irb_admin,
        submission=submission,
        review_type="expedited",
        reasons=["minimal_risk"],
    )
    services.decision_record(
        actor=cast.irb_admin, submission=submission, outcome="approve", decided_on=date(2026, 3, 9)
    )
    protocol.refresh_from_db()
    return protocol


def test_roster_and_composition_check_answer_criterion_1_4(cast, committee, client):
    api = Api(client, cast.irb_member)
    listed = api.get("/ethics/irbs").json()
    assert [i["code"] for i in listed] == ["DEMO-IRB"]
    detail = api.get(f"/ethics/irbs/{committee.public_id}").json()
    assert len(detail["members"]) == 7
    assert detail["composition"]["allowed"] is True
    assert detail["composition"]["rule"] == "HR-02"
    assert {m["role"] for m in detail["members"]} == {"chair", "member", "staff"}


def test_submission_created_and_decided_through_the_api_sets_the_ec09_notice(
    cast, committee, approved, client
):
    api = Api(client, cast.irb_admin)
    protocols = api.get(f"/ethics/irbs/{committee.public_id}/protocols").json()
    assert [p["code"] for p in protocols] == ["P-001"]
    assert protocols[0]["state"] == "approved"
    created = api.post(
        f"/ethics/protocols/{approved.public_id}/submissions",
        {"kind": "amendment", "received_on": "2026-06-01", "summary": "增加收案醫院"},
    )
    assert created.status_code == 201, created.content
    submission_id = created.json()["id"]
    assert created.json()["state"] == "received"

    # deciding before the review type is set is refused by HR-01
    early = api.post(
        f"/ethics/submissions/{submission_id}/decision",
        {"outcome": "approve", "decided_on": "2026-06-10"},
    )
    assert early.status_code == 400 and early.json()["rule"] == "HR-01"

    submission = services.submission_triage(
        actor=cast.irb_admin,
        submission=approved.submissions.get(kind="amendment"),
        review_type="expedited",
        reasons=["minimal_risk"],
    )
    decided = api.post(
        f"/ethics/submissions/{submission.public_id}/decision",
        {"outcome": "approve", "decided_on": "2026-06-10"},
    )
    assert decided.status_code == 201, decided.content
    assert decided.json()["notice_due"] == rules.review_notice_due(date(2026, 6, 10)).isoformat()
    detail = api.get(f"/ethics/protocols/{approved.public_id}").json()
    assert {s["kind"]: s["state"] for s in detail["submissions"]} == {
        "new": "decided",
        "amendment": "decided",
    }
    assert api.get(f"/ethics/submissions/{submission.public_id}").json()["decision"]["outcome"] == (
        "approve"
    )


def test_a_member_without_irb_manage_cannot_create_a_submission(cast, approved, client):
    refused = Api(client, cast.irb_member).post(
        f"/ethics/protocols/{approved.public_id}/submissions",
        {"kind": "amendment", "received_on": "2026-06-01"},
    )
    assert refused.status_code == 403


def test_meetings_list_and_quorum(cast, committee, client):
    meeting = services.meeting_create(
        actor=cast.irb_admin, irb=committee, number="115-06", held_on=date(2026, 6, 20)
    )
    services.meeting_attendance_set(
        actor=cast.irb_admin,
        meeting=meeting,
        present=services.sitting_members(committee, on=date(2026, 6, 20)),
    )
    api = Api(client, cast.irb_admin)
    assert [
        m["number"] for m in api.get(f"/ethics/irbs/{committee.public_id}/meetings").json()
    ] == ["115-06"]
    detail = api.get(f"/ethics/meetings/{meeting.public_id}").json()
    assert detail["state"] == "held"
    assert detail["quorum"]["allowed"] is True and len(detail["present"]) == 6


def test_self_assessment_read_and_rated_with_a_live_score(cast, committee, client):
    api = Api(client, cast.irb_admin)
    form = api.get(f"/ethics/irbs/{committee.public_id}/self-assessment/2026").json()
    assert len(form["criteria"]) == 57
    assert form["live"]["rated"] == 0 and form["live"]["score"] is None
    c14 = next(c for c in form["criteria"] if c["number"] == "1.4")
    assert c14["kind"] == "mandatory" and "HR-02" in c14["computed"]
    rated = api.post(
        f"/ethics/irbs/{committee.public_id}/self-assessment/2026/ratings",
        {"number": "1.4", "rating": "compliant", "evidence": "委員名單"},
    ).json()
    assert rated["live"]["rated"] == 1 and rated["live"]["ratio"] == 1.0
    # 2.3 is 「*可」: NA refused for an IRB that passed before (EC-03)
    refused = api.post(
        f"/ethics/irbs/{committee.public_id}/self-assessment/2026/ratings",
        {"number": "2.3", "rating": "na"},
    )
    assert refused.status_code == 400 and refused.json()["rule"] == "EC-03"
    for number, rating in all_rated("compliant", **{"1.1": "non_compliant"}).items():
        services.self_assessment_rate(
            actor=cast.irb_admin, irb=committee, year=2026, number=number, rating=rating
        )
    live = api.get(f"/ethics/irbs/{committee.public_id}/self-assessment/2026").json()["live"]
    assert live["score"]["passed"] is True and live["needed"] == 0


@pytest.fixture
def announced(cast, body):
    """MOHW's 2026 campaign: DEMO's IRB rated by two auditors and announced; OTHER's IRB
    invited, one sheet in."""
    mohw, people = body
    officer = people["officer"]
    campaign = services.campaign_create(
        actor=officer,
        organization=mohw,
        year=2026,
        window_opens=date(2026, 3, 2),
        window_closes=date(2026, 3, 31),
    )
    passing = services.irb_create(
        actor=None, organization=cast.demo, code="D-IRB", name="示範", kind="institution"
    )
    pending = services.irb_create(
        actor=None, organization=cast.other, code="O-IRB", name="他院", kind="institution"
    )
    audit = services.audit_invite(actor=officer, campaign=campaign, irb=passing, audit_type="video")
    other = services.audit_invite(actor=officer, campaign=campaign, irb=pending, audit_type="video")
    for name in ("a1", "a2"):
        services.auditor_assign(actor=officer, audit=audit, auditor=people[name])
    services.auditor_assign(actor=officer, audit=other, auditor=people["a1"])
    services.auditor_rate(actor=people["a1"], audit=audit, ratings=all_rated("compliant"))
    services.auditor_rate(
        actor=people["a2"], audit=audit, ratings=all_rated("excellent", **{"2.6": "non_compliant"})
    )
    services.auditor_rate(
        actor=people["a1"], audit=other, ratings=all_rated("compliant", **{"1.4": "non_compliant"})
    )
    services.audit_announce(actor=officer, audit=audit, announced_on=date(2026, 6, 1))
    return campaign, audit, other, people


def test_campaign_ratings_consolidated_result_and_passing_list(cast, announced, client):
    campaign, audit, other, people = announced
    api = Api(client, people["officer"])
    assert [c["year"] for c in api.get("/ethics/campaigns").json()] == [2026]
    detail = api.get(f"/ethics/campaigns/{campaign.public_id}").json()
    assert [a["irb"] for a in detail["audits"]] == ["D-IRB", "O-IRB"]
    due = rules.application_completion_due(date(2026, 3, 31))  # 5 days after (EC-08)
    assert detail["completion_due"] == due.isoformat()

    sheets = api.get(f"/ethics/audits/{audit.public_id}/ratings").json()
    assert [s["auditor"] for s in sheets] == ["a1", "a2"]
    assert sheets[1]["ratings"]["2.6"] == "non_compliant"

    result = api.get(f"/ethics/audits/{audit.public_id}/consolidated").json()
    assert result["consolidated"]["2.6"] == "non_compliant"
    assert result["non_compliant"] == ["2.6"]
    assert result["score"]["passed"] is True
    assert result["score"]["ratio"] == pytest.approx(56 / 57)
    assert (result["valid_from"], result["valid_until"]) == ("2026-06-01", "2027-12-31")

    # not announced yet: the consolidation as the sheets stand; 1.4 fails whatever the ratio
    live = api.get(f"/ethics/audits/{other.public_id}/consolidated").json()
    assert live["state"] == "invited" and live["passed"] is None
    assert live["score"]["passed"] is False and live["score"]["failed_mandatory"] == ["1.4"]

    passing = api.get(f"/ethics/campaigns/{campaign.public_id}/passing").json()
    assert [p["irb"] for p in passing] == ["D-IRB"]
    assert api.get(f"/ethics/audits/{audit.public_id}").json()["passed"] is True


def test_follow_up_draw_records_its_seed_and_replays(cast, announced, client, body):
    _campaign, _audit, _other, people = announced
    mohw, _ = body
    next_year = services.campaign_create(
        actor=people["officer"],
        organization=mohw,
        year=2027,
        window_opens=date(2027, 3, 1),
        window_closes=date(2027, 3, 31),
    )
    api = Api(client, people["officer"])
    drawn = api.post(
        f"/ethics/campaigns/{next_year.public_id}/draws",
        {"count": 1, "seed": 20270101, "mandatory": ["O-IRB"]},
    )
    assert drawn.status_code == 201, drawn.content
    body_json = drawn.json()
    assert body_json["seed"] == 20270101
    assert body_json["candidates"] == ["D-IRB"] and body_json["mandatory"] == ["O-IRB"]
    assert body_json["drawn"] == body_json["replayed"] == ["D-IRB"]
    audits = api.get(f"/ethics/campaigns/{next_year.public_id}").json()["audits"]
    assert sorted((a["irb"], a["audit_type"]) for a in audits) == [
        ("D-IRB", "followup"),
        ("O-IRB", "followup"),
    ]
    unknown = api.post(
        f"/ethics/campaigns/{next_year.public_id}/draws", {"count": 0, "mandatory": ["NOPE"]}
    )
    assert unknown.status_code == 400 and unknown.json()["rule"] == "EC-06"
    # an auditor may read the campaign but not draw
    refused = Api(client, people["a1"]).post(
        f"/ethics/campaigns/{next_year.public_id}/draws", {"count": 1}
    )
    assert refused.status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/ethics/irbs/{irb}",
        "/ethics/irbs/{irb}/protocols",
        "/ethics/irbs/{irb}/meetings",
        "/ethics/irbs/{irb}/self-assessment/2026",
        "/ethics/protocols/{protocol}",
        "/ethics/submissions/{submission}",
    ],
)
def test_another_organization_gets_404_for_irb_records(cast, approved, client, path):
    url = path.format(
        irb=approved.irb.public_id,
        protocol=approved.public_id,
        submission=approved.submissions.get().public_id,
    )
    api = Api(client, cast.outsider)
    assert api.get(url).status_code == 404
    assert api.get("/ethics/irbs").json() == []


def test_another_organization_cannot_write_or_read_campaigns(cast, approved, announced, client):
    campaign, audit, _other, _people = announced
    api = Api(client, cast.outsider)
    assert (
        api.post(
            f"/ethics/protocols/{approved.public_id}/submissions",
            {"kind": "amendment", "received_on": "2026-06-01"},
        ).status_code
        == 404
    )
    assert (
        api.post(
            f"/ethics/irbs/{approved.irb.public_id}/self-assessment/2026/ratings",
            {"number": "1.1", "rating": "compliant"},
        ).status_code
        == 404
    )
    # the audited IRB's own administrator is not the auditing body
    for user in (cast.outsider, cast.irb_admin):
        api = Api(client, user)
        assert api.get("/ethics/campaigns").json() == []
        for url in (
            f"/ethics/campaigns/{campaign.public_id}",
            f"/ethics/campaigns/{campaign.public_id}/passing",
            f"/ethics/audits/{audit.public_id}/ratings",
            f"/ethics/audits/{audit.public_id}/consolidated",
        ):
            assert api.get(url).status_code == 404, (user, url)
        assert (
            api.post(f"/ethics/campaigns/{campaign.public_id}/draws", {"count": 1}).status_code
            == 404
        )


# Writes for the IRB's own records: roster, records, meetings ---------------------------------


def test_roster_add_and_end_a_member_through_the_api_hr02(cast, committee, client):
    api = Api(client, cast.irb_admin)
    added = api.post(
        f"/ethics/irbs/{committee.public_id}/members",
        {"name": "吳委員", "gender": "F", "external": True, "term_start": "2026-01-01"},
    )
    assert added.status_code == 201, added.content
    member_id = added.json()["id"]
    assert added.json()["role"] == "member" and added.json()["term_end"] is None
    ended = api.post(
        f"/ethics/irbs/{committee.public_id}/members/{member_id}/end",
        {"term_end": "2026-06-30", "reason": "任期屆滿"},
    )
    assert ended.status_code == 200 and ended.json()["term_end"] == "2026-06-30"
    again = api.post(
        f"/ethics/irbs/{committee.public_id}/members/{member_id}/end", {"term_end": "2026-07-30"}
    )
    assert again.status_code == 400
    # the legal expert leaves: the composition check (criterion 1.4) no longer passes
    lawyer = committee.members.get(name="張律師")
    api.post(
        f"/ethics/irbs/{committee.public_id}/members/{lawyer.pk}/end", {"term_end": "2026-06-01"}
    )
    detail = api.get(f"/ethics/irbs/{committee.public_id}").json()
    assert detail["composition"]["allowed"] is False and detail["composition"]["rule"] == "HR-02"
    bad = api.post(
        f"/ethics/irbs/{committee.public_id}/members",
        {"name": "x", "gender": "Q", "external": False},
    )
    assert bad.status_code == 400


def test_records_sop_declaration_training_complaint_through_the_api(
    cast, committee, approved, client
):
    api = Api(client, cast.irb_admin)
    base = f"/ethics/irbs/{committee.public_id}"
    sop = api.post(
        f"{base}/sops",
        {"topic": 3, "document": "SOP-03", "version": "2.0", "approved_on": "2024-01-10"},
    )
    assert sop.status_code == 201, sop.content
    assert sop.json()["stale"] is True  # not reviewed within 24 months (EC-11)
    wrong = api.post(
        f"{base}/sops", {"topic": 27, "document": "x", "version": "1", "approved_on": "2026-01-01"}
    )
    assert wrong.status_code == 400 and wrong.json()["rule"] == "EC-11"
    register = api.get(f"{base}/sops").json()
    assert len(register) == 26 and register[2]["document"] == "SOP-03"

    chair = committee.members.get(name="陳主委")
    declared = api.post(
        f"{base}/members/{chair.pk}/declarations",
        {
            "kind": "conflict",
            "signed_on": "2026-06-01",
            "protocol": str(approved.public_id),
            "conflicted": True,
            "details": "計畫主持人為配偶",
        },
    )
    assert declared.status_code == 201, declared.content
    assert declared.json()["protocol"] == "P-001" and declared.json()["conflicted"] is True
    trained = api.post(
        f"{base}/members/{chair.pk}/training",
        {"course": "研究倫理繼續教育", "taken_on": "2026-05-01", "hours": "4.0"},
    )
    assert trained.status_code == 201 and trained.json()["hours"] in ("4.0", 4.0)
    future = api.post(
        f"{base}/members/{chair.pk}/training",
        {"course": "x", "taken_on": "2026-12-01", "hours": "1"},
    )
    assert future.status_code == 400

    received = api.post(
        f"{base}/complaints",
        {"received_on": "2026-06-10", "complainant": "P-0012", "summary": "同意書說明不清"},
    )
    assert received.status_code == 201 and received.json()["state"] == "received"
    complaint = received.json()["id"]
    early = api.post(
        f"/ethics/complaints/{complaint}/closure", {"outcome": "x", "closed_on": "2026-06-20"}
    )
    assert early.status_code == 400
    investigated = api.post(
        f"/ethics/complaints/{complaint}/investigation", {"investigation": "訪談研究護理師"}
    )
    assert investigated.json()["state"] == "investigating"
    closed = api.post(
        f"/ethics/complaints/{complaint}/closure",
        {"outcome": "修訂同意書說明", "closed_on": "2026-06-20"},
    )
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    assert api.get(f"/ethics/complaints/{complaint}").json()["outcome"] == "修訂同意書說明"


def test_meeting_created_attended_and_quorum_checked_through_the_api_hr02(cast, committee, client):
    api = Api(client, cast.irb_admin)
    created = api.post(
        f"/ethics/irbs/{committee.public_id}/meetings",
        {"number": "115-07", "held_on": "2026-06-29"},
    )
    assert created.status_code == 201, created.content
    meeting = created.json()["id"]
    assert created.json()["state"] == "planned" and created.json()["quorum"] is None
    voting = [m for m in committee.members.all() if m.role != "staff"]
    # 6 sitting voting members: 2/3 = 4 present, with the external non-scientist 李社區
    few = [m.pk for m in voting if m.name in {"陳主委", "林委員", "李社區"}]
    attended = api.post(f"/ethics/meetings/{meeting}/attendance", {"present": few})
    assert attended.status_code == 200 and attended.json()["state"] == "held"
    quorum = api.get(f"/ethics/meetings/{meeting}/quorum").json()
    assert quorum["allowed"] is False and quorum["rule"] == "HR-02"
    enough = few + [m.pk for m in voting if m.name == "王委員"]
    api.post(f"/ethics/meetings/{meeting}/attendance", {"present": enough, "minutes": "討論"})
    quorum = api.get(f"/ethics/meetings/{meeting}/quorum").json()
    assert quorum["allowed"] is True and len(quorum["present"]) == 4
    stranger = api.post(f"/ethics/meetings/{meeting}/attendance", {"present": [999999]})
    assert stranger.status_code == 404
    duplicate = api.post(
        f"/ethics/irbs/{committee.public_id}/meetings",
        {"number": "115-07", "held_on": "2026-07-01"},
    )
    assert duplicate.status_code == 400


def test_api_writes_answer_403_without_irb_manage_and_404_to_another_organization(
    cast, committee, approved, client
):
    complaint = services.complaint_receive(
        actor=cast.irb_admin,
        irb=committee,
        received_on=date(2026, 6, 1),
        complainant="P-1",
        summary="申訴",
    )
    meeting = services.meeting_create(
        actor=cast.irb_admin, irb=committee, number="115-08", held_on=date(2026, 6, 29)
    )
    chair = committee.members.get(name="陳主委")
    base = f"/ethics/irbs/{committee.public_id}"
    writes = [
        (f"{base}/members", {"name": "x", "gender": "F", "external": False}),
        (f"{base}/members/{chair.pk}/end", {"term_end": "2026-06-30"}),
        (
            f"{base}/sops",
            {"topic": 1, "document": "x", "version": "1", "approved_on": "2026-01-05"},
        ),
        (
            f"{base}/members/{chair.pk}/declarations",
            {"kind": "confidentiality", "signed_on": "2026-01-05"},
        ),
        (
            f"{base}/members/{chair.pk}/training",
            {"course": "x", "taken_on": "2026-01-05", "hours": "1"},
        ),
        (f"{base}/complaints", {"received_on": "2026-01-05", "complainant": "x", "summary": "x"}),
        (f"/ethics/complaints/{complaint.public_id}/investigation", {"investigation": "x"}),
        (
            f"/ethics/complaints/{complaint.public_id}/closure",
            {"outcome": "x", "closed_on": "2026-06-05"},
        ),
        (f"{base}/meetings", {"number": "x", "held_on": "2026-01-05"}),
        (f"/ethics/meetings/{meeting.public_id}/attendance", {"present": [chair.pk]}),
    ]
    reader = Api(client, cast.irb_member)  # chao: irb.view, not irb.manage
    for path, payload in writes:
        assert reader.post(path, payload).status_code == 403, path
    outsider = Api(client, cast.outsider)
    for path, payload in writes:
        assert outsider.post(path, payload).status_code == 404, path
    for path in (f"{base}/sops", f"/ethics/complaints/{complaint.public_id}"):
        assert outsider.get(path).status_code == 404
    assert outsider.get(f"/ethics/meetings/{meeting.public_id}/quorum").status_code == 404
    chair.refresh_from_db()
    assert chair.term_end is None and committee.meetings.count() == 1


def test_the_irb_reads_its_own_audits_without_ratings_before_announcement(
    cast, committee, body, client, django_assert_max_num_queries
):
    mohw, people = body
    campaign = services.campaign_create(
        actor=people["officer"],
        organization=mohw,
        year=2026,
        window_opens=date(2026, 3, 2),
        window_closes=date(2026, 3, 31),
    )
    audit = services.audit_invite(
        actor=people["officer"], campaign=campaign, irb=committee, audit_type="video"
    )
    services.auditor_assign(actor=people["officer"], audit=audit, auditor=people["a1"])
    services.auditor_rate(
        actor=people["a1"], audit=audit, ratings=all_rated("compliant", **{"2.6": "non_compliant"})
    )
    api = Api(client, cast.irb_member)
    path = f"/ethics/irbs/{committee.public_id}/audits"
    with django_assert_max_num_queries(8):
        before = api.get(path).json()
    assert [(a["year"], a["body"], a["state"]) for a in before] == [(2026, "MOHW", "invited")]
    assert before[0]["passed"] is None and before[0]["findings"] == []
    services.audit_announce(actor=people["officer"], audit=audit, announced_on=date(2026, 6, 1))
    after = api.get(path).json()[0]
    assert after["passed"] is True and after["findings"] == ["2.6"]
    assert (after["valid_from"], after["valid_until"]) == ("2027-01-01", "2032-12-31")  # EC-05
    assert Api(client, cast.outsider).get(path).status_code == 404
