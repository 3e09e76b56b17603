"""URL patterns included by kexie/accounts/urls.py."""

urlpatterns: list = []
