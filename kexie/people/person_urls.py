"""The staff pages of the registry: list, search box, detail, create, edit and the actions on
one record. Included by ``people/urls.py`` inside the ``people`` namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.person_list, name="person_list"),
    path("search/", views.person_search, name="person_search"),
    path("new/", views.person_create, name="person_create"),
    path("<int:pk>/", views.person_detail, name="person_detail"),
    path("<int:pk>/edit/", views.person_edit, name="person_edit"),
    path("<int:pk>/reveal/", views.person_reveal, name="person_reveal"),
    path("<int:pk>/confirm/", views.person_confirm, name="person_confirm"),
    path("<int:pk>/contacts/", views.person_contact_add, name="person_contact_add"),
]
