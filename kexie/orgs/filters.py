"""One FilterSet for organisations, shared by the list page and the export (STYLE.md 11)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from kexie.core.models import Region

from .choices import OrganisationKind, OrganisationStatus
from .models import Organisation
from .tree import subtree_q


def _county_choices() -> list[tuple[str, str]]:
    return list(
        Region.objects.filter(level="county", valid_to__isnull=True)
        .order_by("code")
        .values_list("code", "name")
    )


class OrganisationFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_q",
        max_length=60,
        widget=forms.TextInput(attrs={"placeholder": _("Name, code or credit code")}),
    )
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=OrganisationKind.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=OrganisationStatus.choices)
    county = django_filters.ChoiceFilter(
        label=_("County / city"), choices=_county_choices, method="filter_county"
    )
    under = django_filters.NumberFilter(
        label=_("Below organisation"), method="filter_under", widget=forms.HiddenInput
    )

    class Meta:
        model = Organisation
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, user, **kwargs) -> None:
        self.user = user
        super().__init__(data, queryset=queryset, **kwargs)
        for field in self.form.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = css

    def filter_q(self, queryset, name, value: str):
        value = value.strip()
        if not value:
            return queryset
        from .selectors import organisation_text_q

        return queryset.filter(organisation_text_q(value))

    def filter_county(self, queryset, name, value: str):
        return queryset.filter(Q(region__code=value) | Q(region__parent__code=value))

    def filter_under(self, queryset, name, value):
        # The root must be visible to the user (else 404, as for any out-of-scope object).
        from .selectors import organisation_get

        try:
            root = organisation_get(user=self.user, pk=int(value))
        except (TypeError, ValueError) as exc:
            raise Http404 from exc
        self.under_code = root.code
        return queryset.filter(subtree_q([root.path]))

    def applied(self) -> dict[str, str]:
        """The filters in effect, for the export's audit record."""
        if not self.is_bound or not self.form.is_valid():
            return {}
        applied = {k: str(v) for k, v in self.form.cleaned_data.items() if v not in (None, "")}
        if "under" in applied and getattr(self, "under_code", None):
            applied["under"] = self.under_code  # the code says more in the audit log than a pk
        return applied
