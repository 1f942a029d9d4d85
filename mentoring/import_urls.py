"""The import page, included at ``import/``. Names are global, as in ``mentoring.urls``."""

from django.urls import path

from mentoring import import_views

urlpatterns = [
    path("", import_views.people_import_page, name="people-import"),
    path("commit/", import_views.people_import_commit, name="people-import-commit"),
]
