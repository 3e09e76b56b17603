"""AC-07: Django admin only for the administrator roles (and never for business staff)."""

from __future__ import annotations

from .roles import ADMIN_TRIAD
from .scope import user_roles


def restrict_admin_site(site) -> None:
    original = site.has_permission

    def has_permission(request) -> bool:
        user = request.user
        if not (user.is_active and user.is_authenticated):
            return False
        if not (user_roles(user) & ADMIN_TRIAD or user.is_superuser):
            return False
        return original(request)

    site.has_permission = has_permission
