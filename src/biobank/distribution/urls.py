from django.urls import path

from biobank.distribution import views

app_name = "distribution"

urlpatterns = [
    path("", views.request_list, name="request-list"),
    path("new/", views.request_create, name="request-create"),
    path("ledger/", views.ledger, name="ledger"),
    path("export-list/", views.export_list, name="export-list"),
    path("<uuid:public_id>/", views.request_detail, name="request-detail"),
    path("<uuid:public_id>/pick-list.pdf", views.pick_list_pdf, name="pick-list-pdf"),
    path("<uuid:public_id>/<str:action>/", views.request_action, name="request-action"),
    path("shipments/<uuid:public_id>/manifest.<str:fmt>", views.manifest, name="manifest"),
]
