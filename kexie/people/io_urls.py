"""Import and export pages of the talent registry.

Included by ``people/urls.py`` inside the ``people`` namespace, so no ``app_name`` here.
"""

from django.urls import path

from .io_views import (
    export_request,
    export_request_decide_view,
    export_request_download,
    export_request_list_view,
    person_export,
)
from .io_views import person_import_pages as pages

urlpatterns = [
    path("import/", pages.upload, name="person_import"),
    path("import/template.xlsx", pages.template, name="person_import_template"),
    path("import/<int:pk>/", pages.detail, name="person_import_detail"),
    path("import/<int:pk>/commit/", pages.commit, name="person_import_commit"),
    path("import/<int:pk>/undo/", pages.undo, name="person_import_undo"),
    path("export.xlsx", person_export, name="person_export"),
    path("export/unmasked/", export_request_list_view, name="export_request_list"),
    path("export/unmasked/new/", export_request, name="export_request"),
    path(
        "export/unmasked/<int:pk>/decide/",
        export_request_decide_view,
        name="export_request_decide",
    ),
    path(
        "export/unmasked/<int:pk>/download/",
        export_request_download,
        name="export_request_download",
    ),
]
