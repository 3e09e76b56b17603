"""Reads of the organisation tree. Every function takes the user and stays inside their scope."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from kexie.accounts.roles import Action
from kexie.core.models import Region

from .choices import OrganisationKind, OrganisationStatus
from .models import Organisation


def organisation_list(*, user, action: str = Action.VIEW) -> QuerySet[Organisation]:
    return Organisation.objects.visible_to(user, action).select_related("region", "parent")


def organisation_get(*, user, pk: int, action: str = Action.VIEW) -> Organisation:
    """The organisation, or 404 when it does not exist or lies outside the user's scope."""
    org = organisation_list(user=user, action=action).filter(pk=pk).first()
    if org is None:
        raise Http404
    return org


def organisation_roots(*, user) -> QuerySet[Organisation]:
    """The top of what the user sees: visible organisations whose parent is not visible."""
    from kexie.accounts.scope import scope_paths

    paths = scope_paths(user, Action.VIEW)
    return Organisation.objects.filter(path__in=paths).select_related("region")


def organisation_children(*, user, parent: Organisation) -> QuerySet[Organisation]:
    return organisation_list(user=user).filter(parent=parent).order_by("status", "kind", "code")


def organisation_text_q(query: str) -> Q:
    """What a text search over organisations matches; the search box and the list's filter."""
    return (
        Q(name__icontains=query)
        | Q(short_name__icontains=query)
        | Q(code__iexact=query)
        | Q(uscc__iexact=query)
    )


def organisation_search(*, user, query: str, limit: int = 50) -> QuerySet[Organisation]:
    query = query.strip()
    qs = organisation_list(user=user)
    if not query:
        return qs.none()
    return qs.filter(organisation_text_q(query)).order_by("path")[:limit]


def organisation_counts_by_kind_and_county(*, user) -> dict:
    """Active organisations in scope, by kind and by county-level region (for the dashboard)."""
    qs = organisation_list(user=user).filter(status=OrganisationStatus.ACTIVE)
    by_kind = dict(qs.values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
    # A township's county is its region's parent; a county-level region is its own county.
    county_rows = (
        qs.values("region__level", "region__code", "region__parent__code")
        .annotate(n=Count("id"))
        .order_by()
    )
    county_counts: dict[str, int] = {}
    for row in county_rows:
        if row["region__level"] == "township":
            code = row["region__parent__code"]
        elif row["region__level"] == "county":
            code = row["region__code"]
        else:
            continue
        county_counts[code] = county_counts.get(code, 0) + row["n"]
    names = dict(Region.objects.filter(code__in=county_counts).values_list("code", "name"))
    kinds = [(k, str(label)) for k, label in OrganisationKind.choices if by_kind.get(k)]
    counties = sorted(county_counts)
    return {
        "total": sum(by_kind.values()),
        "by_kind": [(label, by_kind[k]) for k, label in kinds],
        "by_county": [(names.get(c, c), county_counts[c]) for c in counties],
        "chart": {
            "kinds": [label for _, label in kinds],
            "kind_counts": [by_kind[k] for k, _ in kinds],
            "counties": [names.get(c, c) for c in counties],
            "county_counts": [county_counts[c] for c in counties],
        },
    }
