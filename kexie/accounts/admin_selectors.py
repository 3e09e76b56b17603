"""Reads for the 系统管理员 / 安全管理员 pages (AC-06). Every function takes the acting user.

Which accounts a 系统管理员 manages: those whose role assignments all lie inside the subtrees
where they hold ``Action.MANAGE_ACCOUNTS`` — an account that also holds a role elsewhere belongs
to whoever manages that wider scope — plus accounts without any role yet (just created and
waiting for the 安全管理员 to grant one; the 系统管理员 cannot grant roles, AC-06).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.db.models.functions import Lower
from django.http import Http404

from kexie.core.parameters import holds_instance_wide
from kexie.orgs.tree import subtree_q

from .models import RoleAssignment, User
from .roles import Action
from .scope import scope_paths


def account_list(*, user, query: str = "") -> QuerySet[User]:
    paths = scope_paths(user, Action.MANAGE_ACCOUNTS)
    if not paths:
        return User.objects.none()
    outside = RoleAssignment.objects.exclude(subtree_q(paths, prefix="organisation__"))
    qs = User.objects.exclude(pk__in=outside.values("user_id"))
    query = query.strip()[:60]
    if query:
        qs = qs.filter(
            Q(username__icontains=query)
            | Q(display_name__icontains=query)
            | Q(email__icontains=query)
        )
    assignments = RoleAssignment.objects.select_related("organisation").order_by(
        "organisation__path", "role"
    )
    return qs.prefetch_related(Prefetch("role_assignments", queryset=assignments)).order_by(
        "username"
    )


def account_get(*, user, pk: int) -> User:
    """The account, or 404 when it does not exist or lies outside the user's scope."""
    account = account_list(user=user).filter(pk=pk).first()
    if account is None:
        raise Http404
    return account


def role_assignment_list(*, user, query: str = "") -> QuerySet[RoleAssignment]:
    """Role assignments at organisations inside the user's ``GRANT_ROLES`` subtrees."""
    paths = scope_paths(user, Action.GRANT_ROLES)
    if not paths:
        return RoleAssignment.objects.none()
    qs = RoleAssignment.objects.filter(subtree_q(paths, prefix="organisation__"))
    query = query.strip()[:60]
    if query:
        qs = qs.filter(
            Q(user__username__icontains=query)
            | Q(user__display_name__icontains=query)
            | Q(organisation__name__icontains=query)
            | Q(organisation__code__iexact=query)
        )
    return qs.select_related("user", "organisation", "granted_by").order_by(
        "organisation__path", "user__username", "role"
    )


def role_assignment_get(*, user, pk: int) -> RoleAssignment:
    assignment = role_assignment_list(user=user).filter(pk=pk).first()
    if assignment is None:
        raise Http404
    return assignment


@dataclass(frozen=True)
class Lockout:
    username: str
    failures: int
    last_attempt: datetime
    locked_until: datetime | None


def lockout_list(*, user, request=None) -> list[Lockout]:
    """Current lock-outs (AUTH-04) the user may lift, newest first.

    A 安全管理员 for the whole tree sees every lock-out, including names that are no account
    (someone guessing); one for a subtree sees those of accounts with a role in it.
    """
    from axes.helpers import get_cool_off

    from .security import locked_usernames

    if not scope_paths(user, Action.UNLOCK_ACCOUNTS):
        return []
    cool_off = get_cool_off(request)
    rows = list(locked_usernames())
    if not holds_instance_wide(user, Action.UNLOCK_ACCOUNTS):
        names = {(row["username"] or "").lower() for row in rows}
        paths = scope_paths(user, Action.UNLOCK_ACCOUNTS)
        # Usernames compare case-insensitively (AUTH-01).
        visible = set(
            RoleAssignment.objects.filter(subtree_q(paths, prefix="organisation__"))
            .annotate(lower_username=Lower("user__username"))
            .filter(lower_username__in=names)
            .values_list("lower_username", flat=True)
        )
        rows = [row for row in rows if (row["username"] or "").lower() in visible]
    rows.sort(key=lambda row: row["last_attempt"], reverse=True)
    return [
        Lockout(
            username=row["username"] or "",
            failures=row["failures"],
            last_attempt=row["last_attempt"],
            locked_until=row["last_attempt"] + cool_off if cool_off is not None else None,
        )
        for row in rows
    ]
