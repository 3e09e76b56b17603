"""Data-subject requests (inside the ``people`` namespace)."""

from django.urls import path

from . import request_views as views

urlpatterns = [
    path("requests/", views.request_list, name="request_list"),
    path("requests/new/", views.request_create, name="request_create"),
    path("requests/<int:pk>/", views.request_handle, name="request_handle"),
]
