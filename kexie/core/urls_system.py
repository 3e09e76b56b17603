"""URL patterns of the system pages (parameters, backup), included by kexie/urls.py."""

from django.urls import path

from . import system_views

urlpatterns = [
    path("parameters/", system_views.parameters_view, name="parameters"),
    path(
        "security-parameters/",
        system_views.security_parameters_view,
        name="security_parameters",
    ),
    path("backups/", system_views.backup_list_view, name="backup_list"),
    path("backups/new/", system_views.backup_create_view, name="backup_create"),
]
