"""URL patterns included by kexie/portal/urls.py."""

urlpatterns: list = []
