"""Import and export pages of the organisation tree (generic views from ``core.io_views``)."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from kexie.accounts.roles import Action
from kexie.core.exports import export_response
from kexie.core.io_views import ImportPages

from .choices import OrganisationKind, OrganisationStatus
from .exporters import OrganisationExporter
from .importers import OrganisationImporter
from .selectors import organisation_get, organisation_list
from .tree import subtree_q

organisation_import_pages = ImportPages(
    importer=OrganisationImporter(),
    url_name="orgs:organisation_import",
    back_url_name="orgs:organisation_tree",
)


def organisation_export_queryset(*, user, params) -> tuple:
    """The organisations to export and the filters applied, from the list page's parameters
    (``q``, ``kind``, ``status``, ``under``); always inside ``visible_to(user, "export")``."""
    qs = organisation_list(user=user, action=Action.EXPORT)
    filters: dict[str, object] = {}
    query = (params.get("q") or "").strip()[:100]
    if query:
        qs = qs.filter(
            Q(name__icontains=query) | Q(short_name__icontains=query) | Q(code__icontains=query)
        )
        filters["q"] = query
    kind = params.get("kind") or ""
    if kind in OrganisationKind.values:
        qs = qs.filter(kind=kind)
        filters["kind"] = kind
    status = params.get("status") or ""
    if status in OrganisationStatus.values:
        qs = qs.filter(status=status)
        filters["status"] = status
    under = params.get("under") or ""
    if under:
        try:
            under_pk = int(under)
        except ValueError:
            under_pk = 0
        # Out of scope → 404; in scope without the export right → 403 from export_response.
        root = organisation_get(user=user, pk=under_pk)
        qs = qs.filter(subtree_q([root.path]))
        filters["under"] = root.code
    return qs, filters


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
