"""URL patterns of the system pages (parameters, backup), included by kexie/urls.py."""

urlpatterns: list = []
