"""One Table for organisations (STYLE.md 11)."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from .models import Organisation


class OrganisationTable(tables.Table):
    name = tables.LinkColumn(
        "orgs:organisation_detail", args=[tables.A("pk")], verbose_name=_("Name")
    )
    code = tables.Column(verbose_name=_("Code"))
    kind = tables.Column(verbose_name=_("Kind"))
    region = tables.Column(
        accessor="region__name", verbose_name=_("Region"), order_by=("region__code",)
    )
    parent = tables.Column(
        accessor="parent__name", verbose_name=_("Parent organisation"), order_by=("parent__code",)
    )
    status = tables.Column(verbose_name=_("Status"))

    class Meta:
        model = Organisation
        fields = ("name", "code", "kind", "region", "parent", "status")
        order_by = ("code",)
        template_name = "django_tables2/bootstrap5-responsive.html"
        attrs = {"class": "table table-vcenter card-table", "data-testid": "org-table"}
        empty_text = _("No organisations match.")
