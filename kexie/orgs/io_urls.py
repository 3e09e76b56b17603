"""Import and export pages of the organisation tree.

Included by ``orgs/urls.py`` inside the ``orgs`` namespace, so no ``app_name`` here.
"""

from django.urls import path

from .io_views import organisation_export
from .io_views import organisation_import_pages as pages

urlpatterns = [
    path("import/", pages.upload, name="organisation_import"),
    path("import/template.xlsx", pages.template, name="organisation_import_template"),
    path("import/<int:pk>/", pages.detail, name="organisation_import_detail"),
    path("import/<int:pk>/commit/", pages.commit, name="organisation_import_commit"),
    path("import/<int:pk>/undo/", pages.undo, name="organisation_import_undo"),
    path("export.xlsx", organisation_export, name="organisation_export"),
]
