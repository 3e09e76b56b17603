"""AC-07: Django admin only for the administrator roles (and never for business staff)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

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

    @login_not_required
    def login(request, extra_context=None):
        if request.user.is_authenticated:
            # Logged in without an administrator role: refuse, rather than send them to the
            # login page, which would send them straight back here (a redirect loop).
            raise PermissionDenied
        # One login page for everything, so the admin never bypasses its controls.
        return redirect_to_login(request.GET.get("next", "/django-admin/"), settings.LOGIN_URL)

    site.has_permission = has_permission
    site.login = login
