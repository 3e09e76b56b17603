from django.urls import include, path

from . import views

app_name = "orgs"

urlpatterns = [
    path("", views.organisation_tree, name="organisation_tree"),
    path("list/", views.organisation_list_view, name="organisation_list"),
    path("search/", views.organisation_search, name="organisation_search"),
    path("new/", views.organisation_create, name="organisation_create"),
    path("<int:pk>/", views.organisation_detail, name="organisation_detail"),
    path("<int:pk>/children/", views.organisation_children, name="organisation_children"),
    path("<int:pk>/edit/", views.organisation_edit, name="organisation_edit"),
    path("<int:pk>/move/", views.organisation_move, name="organisation_move"),
    path("<int:pk>/dissolve/", views.organisation_dissolve, name="organisation_dissolve"),
    path("", include("kexie.orgs.io_urls")),
]
