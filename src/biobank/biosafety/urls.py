from django.urls import path

from biobank.biosafety import views

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
]
