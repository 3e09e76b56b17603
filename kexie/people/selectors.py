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
    """Current persons in ``user``'s scope for ``action``, newest first by the caller's order.

    The responsible organisation is prefetched rather than joined: an inner join on it lets
    SQLite start from the organisation table and sort every person of the scope before
    returning the first page (docs/performance.md); employer and township are outer joins,
    which do not change the plan.
    """
    return (
        Person.objects.visible_to(user, action)
        .current()
        .select_related("employer", "township")
        .prefetch_related("organisation")
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


# --- registration progress (issue 4 part 7) -----------------------------------------------------


def progress_units(*, user, county=None) -> list:
    """The associations a progress table has rows for: the county associations in ``user``'s
    scope, or, with ``county``, that county's township associations."""
    from kexie.orgs.models import Organisation

    qs = Organisation.objects.visible_to(user).filter(status="active")
    if county is None:
        qs = qs.filter(kind="county_association")
    else:
        qs = qs.filter(kind="township_association", parent=county)
    return list(qs.select_related("region").order_by("path"))


def registration_progress(*, user, year: int, units: list, today: dt.date | None = None) -> list:
    """Targets and counts for ``units`` (associations of one depth) in ``year``.

    Counted for each unit: the current records owned in its subtree (not merged away); the
    *verified* ones — records verified now whose verification (``reviewed_at``) happened before
    the end of ``year``, i.e. the registry as it stood at the end of that year; and, among the
    records verified now, the complete ones (completeness ≥ 80) and the stale ones (not
    confirmed for 24 months, ``stale_q``). One grouped query over the persons (grouped by the
    unit's path prefix), one for the targets, whatever the number of units.
    """
    import datetime as _dt

    from django.db.models.functions import Substr

    from kexie.orgs.tree import subtree_q

    from .models import RegistrationTarget

    if not units:
        return []
    length = len(units[0].path)
    end = timezone.make_aware(_dt.datetime(year + 1, 1, 1))
    verified_now = Q(review_status=ReviewStatus.VERIFIED)
    counts = (
        Person.objects.visible_to(user)
        .current()
        .filter(subtree_q([u.path for u in units], prefix="organisation__"))
        .annotate(unit=Substr("organisation__path", 1, length))
        .values("unit")
        .annotate(
            records=Count("id"),
            verified=Count("id", filter=verified_now & Q(reviewed_at__lt=end)),
            verified_now=Count("id", filter=verified_now),
            complete=Count("id", filter=verified_now & Q(completeness__gte=80)),
            stale=Count("id", filter=verified_now & stale_q(today)),
        )
        .order_by()
    )
    by_path = {row["unit"]: row for row in counts}
    targets = dict(
        RegistrationTarget.objects.filter(organisation__in=units, year=year).values_list(
            "organisation_id", "target"
        )
    )
    rows = []
    for unit in units:
        row = by_path.get(unit.path, {})
        records = row.get("records", 0)
        verified = row.get("verified", 0)
        verified_now = row.get("verified_now", 0)
        target = targets.get(unit.pk)
        rows.append(
            {
                "organisation": unit,
                "target": target,
                "records": records,
                "verified": verified,
                "verified_now": verified_now,
                "percent_of_target": _percent(verified, target) if target else None,
                "verified_percent": _percent(verified_now, records),
                "complete_percent": _percent(row.get("complete", 0), verified_now),
                "stale_percent": _percent(row.get("stale", 0), verified_now),
            }
        )
    return rows


def _percent(part: int, whole: int | None) -> float | None:
    if not whole:
        return None
    return round(100 * part / whole, 1)
