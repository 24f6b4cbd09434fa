from django.urls import path

from biobank.ethics import (
    audit_views,
    campaign_views,
    irb_audit_views,
    record_views,
    review_views,
    views,
)

app_name = "ethics"

urlpatterns = [
    path("", views.irb_list, name="irb-list"),
    path("<uuid:public_id>/", views.irb_detail, name="irb-detail"),
    path(
        "<uuid:public_id>/self-assessment/<int:year>/",
        views.self_assessment,
        name="self-assessment",
    ),
    path("<uuid:public_id>/audits/", irb_audit_views.irb_audits, name="irb-audits"),
    path(
        "<uuid:public_id>/audits/<uuid:audit_id>/",
        irb_audit_views.irb_audit,
        name="irb-audit",
    ),
    path("<uuid:public_id>/application.pdf", views.irb_application_pdf, name="irb-application-pdf"),
    path("<uuid:public_id>/protocols/", review_views.protocol_list, name="protocol-list"),
    path("<uuid:public_id>/meetings/", review_views.meeting_list, name="meeting-list"),
    path("protocols/<uuid:public_id>/", review_views.protocol_detail, name="protocol-detail"),
    path("submissions/<uuid:public_id>/", review_views.submission_detail, name="submission-detail"),
    path(
        "submissions/<uuid:public_id>/letter.pdf",
        review_views.decision_letter,
        name="decision-letter",
    ),
    path(
        "submissions/<uuid:public_id>/<str:action>/",
        review_views.submission_action,
        name="submission-action",
    ),
    path("<uuid:public_id>/records/", record_views.records, name="records"),
    path("complaints/<uuid:public_id>/", record_views.complaint_detail, name="complaint-detail"),
    path("campaigns/", campaign_views.campaign_list, name="campaign-list"),
    path("campaigns/<uuid:public_id>/", campaign_views.campaign_detail, name="campaign-detail"),
    path(
        "campaigns/<uuid:public_id>/passing/",
        campaign_views.campaign_passing,
        name="campaign-passing",
    ),
    path("audits/<uuid:public_id>/", audit_views.audit_detail, name="audit-detail"),
    path("audits/<uuid:public_id>/ratings/", audit_views.audit_ratings, name="audit-ratings"),
    path("audits/<uuid:public_id>/report/", audit_views.audit_report, name="audit-report"),
    path(
        "audits/<uuid:public_id>/application.pdf",
        campaign_views.application_pdf,
        name="application-pdf",
    ),
    path("agenda/", campaign_views.agenda, name="agenda"),
    path("meetings/<uuid:public_id>/", review_views.meeting_detail, name="meeting-detail"),
]
