"""Scope: which organisation subtrees a user may act in (AC-02).

Computed from RoleAssignment only. The result is cached on the user object for the request so
that a page with several scoped queries asks the database once.
"""

from __future__ import annotations

from kexie.orgs.tree import minimal_paths

from .roles import ROLE_ACTIONS


def _assignments(user) -> list[tuple[str, str, int]]:
    cached = getattr(user, "_kexie_assignments", None)
    if cached is None:
        from .models import RoleAssignment

        cached = list(
            RoleAssignment.objects.filter(user=user, organisation__status="active").values_list(
                "role", "organisation__path", "organisation_id"
            )
        )
        user._kexie_assignments = cached
    return cached


def clear_scope_cache(user) -> None:
    if hasattr(user, "_kexie_assignments"):
        del user._kexie_assignments


def scope_paths(user, action: str) -> list[str]:
    """Minimal set of subtree roots where ``user`` may perform ``action``."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    paths = [path for role, path, _ in _assignments(user) if action in ROLE_ACTIONS.get(role, ())]
    return minimal_paths(paths)


def user_roles(user) -> set[str]:
    if user is None or not user.is_authenticated:
        return set()
    return {role for role, _, _ in _assignments(user)}


def has_action(user, action: str) -> bool:
    return bool(scope_paths(user, action))


def can(user, action: str, organisation) -> bool:
    """Whether ``user`` may perform ``action`` on ``organisation`` (inside one of its subtrees)."""
    return any(organisation.path.startswith(p) for p in scope_paths(user, action))


def scope_root_ids(user, action: str) -> set[int]:
    """Organisations where the user holds a role allowing ``action`` (roots of their scope)."""
    if user is None or not user.is_authenticated:
        return set()
    return {org_id for role, _, org_id in _assignments(user) if action in ROLE_ACTIONS[role]}
