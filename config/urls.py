from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("", include("mentoring.urls")),
    path("matching/", include("matching.urls")),
    path("sessions/", include("sessions.urls")),
    path("reports/", include("reports.urls")),
    path("import/", include("mentoring.import_urls")),
]
