from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("programmes/<int:programme_id>/refresh/", views.snapshot_refresh, name="snapshot-refresh"),
    path("programmes/<int:programme_id>/status/", views.snapshot_status, name="snapshot-status"),
]
