"""Reads of campaigns and activities. Every read takes the user and starts from their scope."""

from __future__ import annotations

import json

from django.db.models import Q, QuerySet
from django.http import Http404

from kexie.accounts.roles import Action
from kexie.accounts.scope import scope_paths
from kexie.orgs.choices import OrganisationKind
from kexie.orgs.models import Organisation
from kexie.orgs.tree import PATH_SEGMENT, owned_by_subtrees_q

from .choices import ActivityStatus
from .models import Activity, Campaign

# Who decides a review step, by level: a holder of the review right at an association of
# these kinds, for the activities organised in its subtree. Level 1 is the county (and, for
# units hanging directly under the prefecture — societies, the prefecture itself — the
# prefecture); level 2 is the prefecture. A unit's own review right (a school's or a
# township's unit administrator) never decides its own activities. Level 2 is the 科普日
# liaison of DOMAIN.md §5: no liaison role exists in accounts/roles.py, so it is the review
# right held at the prefecture association (reviewer or unit administrator there).
REVIEWER_KINDS: dict[int, tuple[str, ...]] = {
    1: (OrganisationKind.COUNTY_ASSOCIATION, OrganisationKind.PREFECTURE_ASSOCIATION),
    2: (OrganisationKind.PREFECTURE_ASSOCIATION,),
}
QUEUE_STATUS: dict[int, str] = {
    1: ActivityStatus.SUBMITTED,
    2: ActivityStatus.COUNTY_APPROVED,
}


def reviewer_paths(user, level: int) -> list[str]:
    """Subtree roots in which ``user`` decides review steps of ``level`` (1 or 2).

    Services check a decision with the same paths the queue is built from, so a reviewer's
    queue holds exactly what they may decide.
    """
    if level not in REVIEWER_KINDS:
        return []
    paths = scope_paths(user, Action.REVIEW)
    if not paths:
        return []
    return list(
        Organisation.objects.filter(path__in=paths, kind__in=REVIEWER_KINDS[level])
        .order_by("path")
        .values_list("path", flat=True)
    )


def can_review(user, activity: Activity, level: int) -> bool:
    return any(activity.organiser.path.startswith(p) for p in reviewer_paths(user, level))


def json_list_contains_q(field: str, value: str) -> Q:
    """Rows whose JSON list ``field`` holds ``value`` (``audience``, ``languages``).

    A text match on the quoted value works on SQLite and PostgreSQL alike (JSON ``contains``
    does not exist on SQLite); values are codes that never contain one another in quotes.
    """
    return Q(**{f"{field}__icontains": json.dumps(value)})


def activity_list(*, user, action: str = Action.VIEW) -> QuerySet[Activity]:
    """Activities in ``user``'s scope for ``action``.

    The organiser is prefetched rather than joined, as for persons (docs/performance.md): the
    scope is a literal list of organiser ids, and an inner join on the organisation would let
    SQLite start from that table and sort every activity of the scope before the first page.
    """
    return (
        Activity.objects.visible_to(user, action)
        .select_related("campaign", "township")
        .prefetch_related("organiser")
    )


def activity_get(*, user, pk: int, action: str = Action.VIEW) -> Activity:
    """The activity, or 404 when it does not exist or lies outside ``user``'s scope."""
    activity = (
        Activity.objects.visible_to(user, action)
        .select_related("organiser", "campaign", "township", "created_by")
        .filter(pk=pk)
        .first()
    )
    if activity is None:
        raise Http404
    return activity


def review_queue(*, user, level: int = 1) -> QuerySet[Activity]:
    """Activities waiting for ``user``'s decision at ``level``, oldest submission first:
    level 1 submitted in their county subtree, level 2 approved by a county, for prefecture
    reviewers."""
    paths = reviewer_paths(user, level)
    if not paths:
        return Activity.objects.none()
    return (
        Activity.objects.filter(owned_by_subtrees_q(paths, field="organiser"))
        .filter(status=QUEUE_STATUS[level])
        .select_related("campaign", "township")
        .prefetch_related("organiser")
        .order_by("submitted_at", "id")
    )


def campaign_list(*, user, active_only: bool = False) -> QuerySet[Campaign]:
    """Campaigns ``user`` may see: those run inside their scope, and those run by an
    association above it (a county works in the prefecture's campaigns)."""
    paths = scope_paths(user, Action.VIEW)
    if not paths:
        return Campaign.objects.none()
    above = {ancestor for path in paths for ancestor in _ancestors(path)}
    qs = Campaign.objects.filter(
        owned_by_subtrees_q(paths, field="organiser") | Q(organiser__path__in=above)
    ).select_related("organiser")
    if active_only:
        qs = qs.filter(is_active=True)
    return qs


def campaign_get(*, user, pk: int) -> Campaign:
    campaign = campaign_list(user=user).filter(pk=pk).first()
    if campaign is None:
        raise Http404
    return campaign


def _ancestors(path: str) -> list[str]:
    return [path[:i] for i in range(PATH_SEGMENT, len(path), PATH_SEGMENT)]
