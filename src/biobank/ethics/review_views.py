"""Pages of the review: protocols, submissions, meetings, decision letters, retention
(HR-01 … HR-03, EC-09, EC-10)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from biobank.core.errors import ApplicationError
from biobank.core.pages import acting_user, refuse
from biobank.core.tenancy import has_permission
from biobank.ethics import rules, selectors, services
from biobank.ethics.letters import decision_letter_pdf
from biobank.ethics.models import (
    IRBMember,
    Meeting,
    Protocol,
    ReviewDecision,
    ReviewerAssignment,
    Submission,
)


def _date(post: QueryDict, key: str) -> date:
    """A date field; a missing or malformed one raises ``ValueError``."""
    return date.fromisoformat(post.get(key, ""))


def _uuid(value: str | None) -> UUID:
    try:
        return UUID(value or "")
    except ValueError:
        raise ApplicationError(_("Unknown record.")) from None


def _member(irb_id: int, value: str | None) -> IRBMember | None:
    if not value:
        return None
    member = IRBMember.objects.filter(irb_id=irb_id, pk=value).first() if value.isdigit() else None
    if member is None:
        raise ApplicationError(_("Unknown member."))
    return member


@login_required
def protocol_list(request: HttpRequest, public_id: str) -> HttpResponse:
    irb = selectors.irb_get_for_user(request.user, public_id)
    can_manage = has_permission(request.user, "irb.manage", irb.organization)
    if request.method == "POST" and can_manage:
        post = request.POST
        try:
            protocol = services.protocol_create(
                actor=acting_user(request),
                irb=irb,
                code=post.get("code", ""),
                title=post.get("title", ""),
                principal_investigator=post.get("principal_investigator", ""),
                pi_email=post.get("pi_email", ""),
                risk=post.get("risk", ""),
                received_on=_date(post, "received_on"),
            )
        except ApplicationError as error:
            refuse(request, error)
        except ValueError:
            messages.error(request, _("Check the dates."))
        else:
            messages.success(request, _("Protocol registered."))
            return redirect("ethics:protocol-detail", public_id=protocol.public_id)
    decisions = list(
        ReviewDecision.objects.filter(submission__protocol__irb=irb).select_related(
            "submission", "submission__protocol"
        )
    )
    return render(
        request,
        "ethics/protocol_list.html",
        {
            "irb": irb,
            "protocols": Protocol.objects.filter(irb=irb),
            "can_manage": can_manage,
            "risks": Protocol.Risk.choices,
            "purgeable": services.purgeable_protocols(irb),
            "today": timezone.localdate(),
            "decisions": decisions,
            "share": rules.notice_share(
                [(d.notice_due, d.notified_on) for d in decisions], today=timezone.localdate()
            ),
        },
    )


@login_required
def protocol_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    protocol = selectors.protocol_get_for_user(request.user, public_id)
    can_manage = has_permission(request.user, "irb.manage", protocol.irb.organization)
    if request.method == "POST" and can_manage:
        post = request.POST
        try:
            submission = services.submission_create(
                actor=acting_user(request),
                protocol=protocol,
                kind=post.get("kind", ""),
                received_on=_date(post, "received_on"),
                summary=post.get("summary", ""),
                terminate=bool(post.get("terminate")),
                ended_on=_date(post, "ended_on") if post.get("ended_on") else None,
            )
        except ApplicationError as error:
            refuse(request, error)
        except ValueError:
            messages.error(request, _("Check the dates."))
        else:
            messages.success(request, _("Submission received."))
            return redirect("ethics:submission-detail", public_id=submission.public_id)
    return render(
        request,
        "ethics/protocol_detail.html",
        {
            "protocol": protocol,
            "submissions": protocol.submissions.select_related("decision"),
            "can_manage": can_manage,
            "kinds": [k for k in Submission.Kind.choices if k[0] != Submission.Kind.NEW],
        },
    )


@login_required
def submission_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    submission = selectors.submission_get_for_user(request.user, public_id)
    irb = submission.protocol.irb
    return render(
        request,
        "ethics/submission_detail.html",
        {
            "submission": submission,
            "protocol": submission.protocol,
            "decision": ReviewDecision.objects.filter(submission=submission).first(),
            "reviewers": submission.reviewers.select_related("member"),
            "members": [m for m in irb.members.all() if m.voting],
            "meetings": Meeting.objects.filter(irb=irb, agenda__submission=submission),
            "can_manage": has_permission(request.user, "irb.manage", irb.organization),
            "can_review": has_permission(request.user, "irb.review", irb.organization),
            "review_types": Submission.ReviewType.choices,
            "reasons": rules.REVIEW_TYPE_REASONS,
            "outcomes": ReviewDecision.Outcome.choices,
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def submission_action(request: HttpRequest, public_id: str, action: str) -> HttpResponse:
    """The actions on a submission's page: triage, assign, opinion, decide, notify."""
    submission = selectors.submission_get_for_user(request.user, public_id)
    actor, post = acting_user(request), request.POST
    irb = submission.protocol.irb
    try:
        if action == "triage":
            services.submission_triage(
                actor=actor,
                submission=submission,
                review_type=post.get("review_type", ""),
                reasons=post.getlist("reasons"),
            )
        elif action == "assign":
            services.reviewer_assign(
                actor=actor,
                submission=submission,
                member=_member(irb.pk, post.get("member")),
                expert_name=post.get("expert_name", ""),
                kind=post.get("kind", ReviewerAssignment.Kind.REVIEWER),
            )
        elif action == "opinion":
            assignment = submission.reviewers.filter(pk=post.get("assignment") or 0).first()
            if assignment is None:
                raise ApplicationError(_("Unknown reviewer."))
            services.reviewer_opinion(
                actor=actor,
                assignment=assignment,
                opinion=post.get("opinion", ""),
                recommendation=post.get("recommendation", ""),
            )
        elif action == "decide":
            meeting = None
            if post.get("meeting"):
                meeting = Meeting.objects.filter(irb=irb, public_id=_uuid(post["meeting"])).first()
                if meeting is None:
                    raise ApplicationError(_("Unknown meeting."))
            months = post.get("continuing_review_months")
            services.decision_record(
                actor=actor,
                submission=submission,
                outcome=post.get("outcome", ""),
                decided_on=meeting.held_on if meeting else _date(post, "decided_on"),
                conditions=post.get("conditions", ""),
                meeting=meeting,
                continuing_review_months=int(months) if months else None,
            )
        elif action == "notify":
            decision = ReviewDecision.objects.filter(submission=submission).first()
            if decision is None:
                raise ApplicationError(_("Record the decision first."))
            services.decision_notify(
                actor=actor, decision=decision, notified_on=_date(post, "notified_on")
            )
        else:
            raise Http404("unknown action")
    except ApplicationError as error:
        refuse(request, error)
    except ValueError:
        messages.error(request, _("Check the dates and numbers."))
    else:
        messages.success(request, _("Done."))
    return redirect("ethics:submission-detail", public_id=submission.public_id)


@login_required
def decision_letter(request: HttpRequest, public_id: str) -> HttpResponse:
    submission = selectors.submission_get_for_user(request.user, public_id)
    decision = ReviewDecision.objects.filter(submission=submission).first()
    if decision is None:
        raise Http404("no decision yet")
    response = HttpResponse(decision_letter_pdf(decision), content_type="application/pdf")
    name = f"{submission.protocol.code}-{decision.decided_on:%Y%m%d}-decision.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@login_required
def meeting_list(request: HttpRequest, public_id: str) -> HttpResponse:
    irb = selectors.irb_get_for_user(request.user, public_id)
    can_manage = has_permission(request.user, "irb.manage", irb.organization)
    if request.method == "POST" and can_manage:
        try:
            meeting = services.meeting_create(
                actor=acting_user(request),
                irb=irb,
                number=request.POST.get("number", ""),
                held_on=_date(request.POST, "held_on"),
            )
        except ApplicationError as error:
            refuse(request, error)
        except ValueError:
            messages.error(request, _("Check the dates."))
        else:
            return redirect("ethics:meeting-detail", public_id=meeting.public_id)
    return render(
        request,
        "ethics/meeting_list.html",
        {"irb": irb, "meetings": Meeting.objects.filter(irb=irb), "can_manage": can_manage},
    )


@login_required
def meeting_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    meeting = selectors.meeting_get_for_user(request.user, public_id)
    irb = meeting.irb
    can_manage = has_permission(request.user, "irb.manage", irb.organization)
    if request.method == "POST" and can_manage:
        post, actor = request.POST, acting_user(request)
        try:
            if post.get("action") == "agenda":
                submission = Submission.objects.filter(
                    protocol__irb=irb, public_id=_uuid(post.get("submission"))
                ).first()
                if submission is None:
                    raise ApplicationError(_("Unknown submission."))
                services.meeting_agenda_add(actor=actor, meeting=meeting, submission=submission)
            else:
                present = [
                    m
                    for m in irb.members.all()
                    if str(m.pk) in post.getlist("present") and m.voting
                ]
                services.meeting_attendance_set(
                    actor=actor, meeting=meeting, present=present, minutes=post.get("minutes", "")
                )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Done."))
        return redirect("ethics:meeting-detail", public_id=meeting.public_id)
    waiting = Submission.objects.filter(
        protocol__irb=irb,
        review_type=Submission.ReviewType.FULL,
        state=Submission.State.IN_REVIEW,
    ).exclude(agenda_items__meeting=meeting)
    return render(
        request,
        "ethics/meeting_detail.html",
        {
            "meeting": meeting,
            "agenda": meeting.agenda.select_related("submission", "submission__protocol"),
            "members": [m for m in irb.members.all() if m.voting],
            "present": {m.pk for m in meeting.present.all()},
            "quorum": services.meeting_quorum(meeting),
            "waiting": waiting.select_related("protocol"),
            "can_manage": can_manage,
            "outcomes": ReviewDecision.Outcome.choices,
        },
    )
