"""Import and export pages of the organisation tree (generic views from ``core.io_views``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from kexie.accounts.roles import Action
from kexie.core.exports import export_response
from kexie.core.io_views import ImportPages

from .exporters import OrganisationExporter
from .filters import OrganisationFilterSet
from .importers import OrganisationImporter
from .selectors import organisation_list

organisation_import_pages = ImportPages(
    importer=OrganisationImporter(),
    url_name="orgs:organisation_import",
    back_url_name="orgs:organisation_tree",
)


def organisation_export_queryset(*, user, params) -> tuple:
    """The organisations to export and the filters applied: the list page's FilterSet over
    ``visible_to(user, "export")``, so the page and the file can never disagree."""
    filterset = OrganisationFilterSet(
        params or None, queryset=organisation_list(user=user, action=Action.EXPORT), user=user
    )
    return filterset.qs, filterset.applied()


@require_GET
def organisation_export(request: HttpRequest) -> HttpResponse:
    # The export right is checked (and a refusal audited) by export_response.
    queryset, filters = organisation_export_queryset(user=request.user, params=request.GET)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return export_response(
        user=request.user,
        exporter=OrganisationExporter(),
        queryset=queryset,
        filters=filters,
        filename=f"{gettext('organisations')}-{stamp}.xlsx",
        file_format="csv" if request.GET.get("format") == "csv" else "xlsx",
    )
