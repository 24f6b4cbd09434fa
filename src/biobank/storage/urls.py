from django.urls import path

from biobank.storage import views

app_name = "storage"

urlpatterns = [
    path("", views.unit_roots, name="unit-roots"),
    path("<uuid:public_id>/", views.unit_detail, name="unit-detail"),
    path("<uuid:public_id>/find/", views.find_places, name="find-places"),
    path("<uuid:public_id>/inventory.xlsx", views.inventory_export, name="inventory"),
    path("<uuid:public_id>/inventory.pdf", views.inventory_pdf, name="inventory-pdf"),
    path("<uuid:public_id>/access/", views.access_log, name="access-log"),
    path("<uuid:public_id>/<str:action>/", views.unit_action, name="unit-action"),
    path("specimen/<str:barcode>/<str:action>/", views.checkout_action, name="checkout"),
]
