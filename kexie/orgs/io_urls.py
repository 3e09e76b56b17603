"""Import and export pages of the organisation tree (included inside the ``orgs`` namespace)."""

urlpatterns: list = []
