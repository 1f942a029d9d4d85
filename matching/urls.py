from django.urls import path

from matching import views

app_name = "matching"
urlpatterns = [
    path("mine/", views.my_matches, name="my-matches"),
    path("mentees/<int:mentee_id>/match/", views.match_create_view, name="match-create"),
    path("<int:match_id>/close/", views.match_close_view, name="match-close"),
]
