from django.urls import path

from biobank.core import import_views, views

app_name = "core"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("organizations/", views.organization_list, name="organization-list"),
    path("organizations/new/", views.organization_create, name="organization-create"),
    path("organizations/<str:code>/", views.organization_detail, name="organization-detail"),
    path("organizations/<str:code>/edit/", views.organization_edit, name="organization-edit"),
    path("organizations/<str:code>/sites/new/", views.site_create, name="site-create"),
    path(
        "organizations/<str:code>/members/new/", views.membership_create, name="membership-create"
    ),
    path("memberships/<int:pk>/end/", views.membership_end, name="membership-end"),
    path("sites/<uuid:public_id>/", views.site_detail, name="site-detail"),
    path("sites/<uuid:public_id>/edit/", views.site_edit, name="site-edit"),
    path("obligations/", views.obligation_list, name="obligation-list"),
    path("obligations/<uuid:public_id>/", views.obligation_detail, name="obligation-detail"),
    path("rules/", views.rule_list, name="rule-list"),
    path("roles/", views.role_table, name="role-table"),
    path("calendar/", views.calendar_page, name="calendar"),
    path("audit/", views.audit_search, name="audit-search"),
    path("imports/", import_views.import_list, name="import-list"),
    path("imports/<uuid:public_id>/", import_views.import_detail, name="import-detail"),
    path(
        "imports/<uuid:public_id>/progress.json",
        import_views.import_progress,
        name="import-progress",
    ),
]
