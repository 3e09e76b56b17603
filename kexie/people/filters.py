"""One FilterSet for persons, shared by the list page and the export (STYLE.md 11).

The text filter ``q`` takes names and pinyin only: an ID number or a mobile number must never
travel in a URL (API-06), so such a query in the query string finds nothing — the search box
posts it to ``people:person_search`` instead.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from kexie.core.choices import CodeTable, TitleLevel
from kexie.core.models import Region
from kexie.orgs.models import Organisation
from kexie.orgs.tree import owned_by_subtrees_q

from .choices import AgeBand, PersonSource, ReviewStatus
from .models import Person
from .search import route_query
from .services import code_entries


def code_table_choices(table: str) -> list[tuple[str, str]]:
    """Active entries of a code table as ``(code, name)``, from the cached entries."""
    entries = sorted(
        (e for e in code_entries(table).values() if e.is_active),
        key=lambda e: (e.sort_order, e.code),
    )
    return [(e.code, e.name) for e in entries]


def _county_choices() -> list[tuple[str, str]]:
    return list(
        Region.objects.filter(level="county", valid_to__isnull=True)
        .order_by("code")
        .values_list("code", "name")
    )


def _township_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Current townships grouped by their county, for a select with option groups."""
    groups: dict[str, list[tuple[str, str]]] = {}
    rows = (
        Region.objects.filter(level="township", valid_to__isnull=True)
        .order_by("code")
        .values_list("code", "name", "parent__name")
    )
    for code, name, county in rows:
        groups.setdefault(county or "", []).append((code, name))
    return list(groups.items())


def _choices(table: str):
    return lambda: code_table_choices(table)


STALE_CHOICES = (
    ("yes", _("Needs confirmation (stale)")),
    ("no", _("Confirmed recently")),
)


class PersonFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Name or pinyin"),
        method="filter_q",
        max_length=40,
        widget=forms.HiddenInput,
    )
    county = django_filters.ChoiceFilter(
        label=_("County / city"), choices=_county_choices, method="filter_county"
    )
    township = django_filters.ChoiceFilter(
        label=_("Township"), choices=_township_choices, field_name="township__code"
    )
    worker_type = django_filters.ChoiceFilter(
        label=_("Worker type"), choices=_choices(CodeTable.WORKER_TYPE)
    )
    discipline = django_filters.ChoiceFilter(
        label=_("Discipline"), choices=_choices(CodeTable.DISCIPLINE)
    )
    title_level = django_filters.ChoiceFilter(label=_("Title level"), choices=TitleLevel.choices)
    ethnicity = django_filters.ChoiceFilter(
        label=_("Ethnic group"), choices=_choices(CodeTable.ETHNICITY)
    )
    age = django_filters.ChoiceFilter(label=_("Age"), choices=AgeBand.choices, method="filter_age")
    review_status = django_filters.ChoiceFilter(
        label=_("Review status"), choices=ReviewStatus.choices
    )
    source = django_filters.ChoiceFilter(label=_("Data source"), choices=PersonSource.choices)
    stale = django_filters.ChoiceFilter(
        label=_("Last confirmed"), choices=STALE_CHOICES, method="filter_stale"
    )

    class Meta:
        model = Person
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, user=None, **kwargs) -> None:
        self.user = user
        self.refused_sensitive = False
        super().__init__(data, queryset=queryset, **kwargs)
        for field in self.form.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = css

    def filter_q(self, queryset, name, value: str):
        from .selectors import person_search

        routed = route_query(value)
        if routed.is_sensitive:
            # API-06: never look up an ID number or a phone that came through a URL.
            self.refused_sensitive = True
            return queryset.none()
        return person_search(user=self.user, query=routed, queryset=queryset)

    def filter_county(self, queryset, name, value: str):
        """Persons the county's association is responsible for (REG-02: a person belongs to
        the township or county association of their township, so this is the association's
        subtree). A county without an association falls back to the townships' county."""
        paths = list(
            Organisation.objects.filter(kind="county_association", region__code=value).values_list(
                "path", flat=True
            )
        )
        if not paths:
            return queryset.filter(township__parent__code=value)
        return queryset.filter(owned_by_subtrees_q(paths))

    def filter_age(self, queryset, name, value: str):
        from .selectors import age_band_q

        return queryset.filter(age_band_q(value))

    def filter_stale(self, queryset, name, value: str):
        from .selectors import stale_q

        if value == "yes":
            return queryset.filter(stale_q())
        return queryset.exclude(stale_q())

    def applied(self) -> dict[str, str]:
        """The filters in effect, for the export's audit record (never an ID number)."""
        if not self.is_bound or not self.form.is_valid():
            return {}
        applied = {k: str(v) for k, v in self.form.cleaned_data.items() if v not in (None, "")}
        if "q" in applied and route_query(applied["q"]).is_sensitive:
            applied["q"] = "***"
        return applied
