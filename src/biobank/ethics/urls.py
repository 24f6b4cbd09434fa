from django.urls import path

from biobank.ethics import views

app_name = "ethics"

urlpatterns = [
    path("", views.irb_list, name="irb-list"),
    path("<uuid:public_id>/", views.irb_detail, name="irb-detail"),
    path(
        "<uuid:public_id>/self-assessment/<int:year>/",
        views.self_assessment,
        name="self-assessment",
    ),
]
