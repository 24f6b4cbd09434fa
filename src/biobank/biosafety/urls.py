from django.urls import path

from biobank.biosafety import views
from biobank.biosafety.exports import EXPORTS

app_name = "biosafety"

urlpatterns = [
    path("", views.home, name="home"),
    path("agents/", views.agent_list, name="agent-list"),
    path("agents/new/", views.agent_create, name="agent-create"),
    path("agents/<uuid:public_id>/", views.agent_detail, name="agent-detail"),
    path("materials/", views.material_list, name="material-list"),
    path("materials/new/", views.material_create, name="material-create"),
    path("materials/<uuid:public_id>/", views.material_detail, name="material-detail"),
    path("materials/<uuid:public_id>/<str:action>/", views.material_action, name="material-action"),
    path("approvals/<uuid:public_id>/<str:action>/", views.approval_action, name="approval-action"),
    path("committees/", views.committee_list, name="committee-list"),
    path("committees/<uuid:public_id>/", views.committee_detail, name="committee-detail"),
    path(
        "committees/<uuid:public_id>/<str:action>/",
        views.committee_action,
        name="committee-action",
    ),
    path("meetings/<uuid:public_id>/minutes/", views.meeting_document, name="meeting-document"),
    path("retention/", views.retention_list, name="retention"),
    path(
        "retention/<str:kind>/<str:record_id>/purge/",
        views.record_purge,
        name="record-purge",
    ),
    path("inventories/", views.inventory_list, name="inventory-list"),
    path("inventories/<uuid:public_id>/", views.inventory_detail, name="inventory-detail"),
    path("inventories/<uuid:public_id>/checklist.pdf", views.inventory_pdf, name="inventory-pdf"),
    path(
        "inventories/<uuid:public_id>/<str:action>/",
        views.inventory_action,
        name="inventory-action",
    ),
    path("anomalies/<uuid:public_id>/", views.anomaly_detail, name="anomaly-detail"),
    path("anomalies/<uuid:public_id>/<str:action>/", views.anomaly_action, name="anomaly-action"),
    path("incidents/", views.incident_list, name="incident-list"),
    path("incidents/<uuid:public_id>/", views.incident_detail, name="incident-detail"),
    path(
        "incidents/<uuid:public_id>/<str:action>/",
        views.incident_action,
        name="incident-action",
    ),
    path("training/", views.training_list, name="training-list"),
    path("training/<uuid:public_id>/", views.worker_detail, name="worker-detail"),
    path("training/<uuid:public_id>/<str:action>/", views.worker_action, name="worker-action"),
    path("emergency/", views.plan_list, name="plan-list"),
    path("emergency/<uuid:public_id>/", views.plan_detail, name="plan-detail"),
    path("emergency/<uuid:public_id>/<str:action>/", views.plan_action, name="plan-action"),
    path("destructions/", views.destruction_list, name="destruction-list"),
    path("sites/<uuid:public_id>/sign/", views.site_sign, name="site-sign"),
    path("sites/<uuid:public_id>/sign.pdf", views.site_sign_pdf, name="site-sign-pdf"),
    path("exports/", views.export_list, name="export-list"),
    *[
        path(
            f"exports/{kind}.{fmt}",
            views.export_file,
            {"kind": kind, "fmt": fmt},
            name=f"export-{kind}-{fmt}",
        )
        for kind in EXPORTS
        for fmt in ("xlsx", "pdf")
    ],
]
