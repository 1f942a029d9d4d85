from django.contrib import admin
from django.urls import include, path

from config.i18n import language_set
from mentoring.views_two_step import admin_login

urlpatterns = [
    # Before the admin's own: the admin signs in through Tandem's two steps (password, then code).
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("language/", language_set, name="set-language"),
    path("api/v1/", include("config.api_urls")),
    path("", include("mentoring.urls")),
    path("matching/", include("matching.urls")),
    path("sessions/", include("sessions.urls")),
    path("reports/", include("reports.urls")),
    path("import/", include("mentoring.import_urls")),
]
