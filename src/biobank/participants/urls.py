from django.urls import path

from biobank.participants import views

app_name = "participants"

urlpatterns = [
    path("", views.participant_list, name="participant-list"),
    path("new/", views.participant_create, name="participant-create"),
    path("consent-forms/", views.consent_form_list, name="consent-form-list"),
    path("reidentification/", views.reidentification_list, name="reidentification-list"),
    path(
        "reidentification/<uuid:public_id>/decide/",
        views.reidentification_decide,
        name="reidentification-decide",
    ),
    path("consents/<uuid:public_id>/", views.consent_detail, name="consent-detail"),
    path("consents/<uuid:public_id>/document/", views.consent_document, name="consent-document"),
    path("<uuid:public_id>/", views.participant_detail, name="participant-detail"),
    path("<uuid:public_id>/consents/new/", views.consent_create, name="consent-create"),
    path("<uuid:public_id>/withdraw/", views.participant_withdraw, name="participant-withdraw"),
    path("<uuid:public_id>/delink/", views.participant_delink, name="participant-delink"),
    path(
        "<uuid:public_id>/reidentify/",
        views.reidentification_create,
        name="reidentification-create",
    ),
    path("<uuid:public_id>/identity/", views.identity_view, name="identity"),
]
