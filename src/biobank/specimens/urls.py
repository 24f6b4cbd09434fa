from django.urls import path

from biobank.specimens import views

app_name = "specimens"

urlpatterns = [
    path("", views.specimen_search, name="specimen-search"),
    path("new/", views.specimen_create, name="specimen-create"),
    path("pool/", views.specimen_pool, name="specimen-pool"),
    path("labels/", views.specimen_labels, name="specimen-labels"),
    path("collections/", views.collection_list, name="collection-list"),
    path("collections/<uuid:public_id>/", views.collection_detail, name="collection-detail"),
    path("<str:barcode>/", views.specimen_detail, name="specimen-detail"),
    path("<str:barcode>/<str:action>/", views.specimen_action, name="specimen-action"),
]
