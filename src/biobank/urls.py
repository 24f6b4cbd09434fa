from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from biobank.api.urls import api

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("participants/", include("biobank.participants.urls")),
    path("specimens/", include("biobank.specimens.urls")),
    path("storage/", include("biobank.storage.urls")),
    path("ethics/", include("biobank.ethics.urls")),
    path("distribution/", include("biobank.distribution.urls")),
    path("biosafety/", include("biobank.biosafety.urls")),
    path("", include("biobank.core.urls")),
]
