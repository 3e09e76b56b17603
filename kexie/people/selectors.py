"""Reads of the talent registry. Every read starts from ``Person.objects.visible_to(user)``."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from kexie.accounts.roles import Action

from .choices import AgeBand, ReviewStatus
from .models import STALE_AFTER_MONTHS, Person, _months_before
from .search import RoutedQuery, route_query, search_q


def person_list(*, user, action: str = Action.VIEW) -> QuerySet[Person]:
    return (
        Person.objects.visible_to(user, action)
        .current()
        .select_related("organisation", "employer", "township")
    )


def person_get(*, user, pk: int, action: str = Action.VIEW) -> Person:
    """The person, or 404 when it does not exist or lies outside ``user``'s scope."""
    person = (
        Person.objects.visible_to(user, action)
        .select_related("organisation", "employer", "township", "reviewed_by", "merged_into")
        .filter(pk=pk)
        .first()
    )
    if person is None:
        raise Http404
    return person


def person_search(*, user, query: str | RoutedQuery, queryset=None) -> QuerySet[Person]:
    """Persons in scope matching a search-box query (routing in ``people/search.py``)."""
    routed = query if isinstance(query, RoutedQuery) else route_query(query)
    qs = queryset if queryset is not None else person_list(user=user)
    if routed.kind == "empty":
        return qs
    return qs.filter(search_q(routed))


def age_band_q(band: str, today: dt.date | None = None) -> Q:
    """Persons whose age on ``today`` lies in the band (a birth-date range: index-friendly)."""
    today = today or timezone.localdate()
    bounds = {
        AgeBand.UNDER_35: (0, 35),
        AgeBand.FROM_35_TO_44: (35, 45),
        AgeBand.FROM_45_TO_54: (45, 55),
        AgeBand.FROM_55_TO_64: (55, 65),
        AgeBand.FROM_65: (65, 200),
    }
    low, high = bounds[band]
    # age >= low  <=>  born on or before today minus low years
    latest = _months_before(today, 12 * low)
    earliest = _months_before(today, 12 * high)
    return Q(birth_date__lte=latest, birth_date__gt=earliest)


def stale_q(today: dt.date | None = None) -> Q:
    cutoff = _months_before(today or timezone.localdate(), STALE_AFTER_MONTHS)
    return Q(last_confirmed_on__lt=cutoff) | Q(last_confirmed_on__isnull=True)


def review_queue(*, user, level: int = 1) -> QuerySet[Person]:
    """Records waiting for ``user``'s decision: county level in scope, or prefecture level."""
    status = ReviewStatus.PENDING if level == 1 else ReviewStatus.PENDING_PREFECTURE
    return person_list(user=user, action=Action.REVIEW).filter(review_status=status).order_by("id")


def review_counts(*, user) -> dict[str, int]:
    qs = person_list(user=user, action=Action.REVIEW).filter(
        review_status__in=[ReviewStatus.PENDING, ReviewStatus.PENDING_PREFECTURE]
    )
    return dict(qs.values_list("review_status").annotate(n=Count("id")).order_by())
