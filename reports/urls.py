from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("programmes/<int:programme_id>/refresh/", views.snapshot_refresh, name="snapshot-refresh"),
    path("programmes/<int:programme_id>/status/", views.snapshot_status, name="snapshot-status"),
    path("snapshots/<int:snapshot_id>/print/", views.snapshot_print, name="print"),
    path("snapshots/<int:snapshot_id>/export.csv", views.snapshot_export_csv, name="export-csv"),
    path("snapshots/<int:snapshot_id>/export.xlsx", views.snapshot_export_xlsx, name="export-xlsx"),
]
