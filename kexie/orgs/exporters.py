"""Export of organisations, with exactly the importer's columns so a file can be re-imported."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from kexie.core.exports import ExportColumn, Exporter

from .importers import COLUMNS, organisation_export_value


def _accessor(key: str):
    def get(org):
        return organisation_export_value(org, key)

    return get


class OrganisationExporter(Exporter):
    code = "orgs.organisation"
    title = _("Organisations")
    columns = tuple(
        ExportColumn(header=column.header, accessor=_accessor(column.key), key=column.key)
        for column in COLUMNS
    )

    def prepare_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("region", "parent").order_by("path")


__all__ = ["OrganisationExporter"]
