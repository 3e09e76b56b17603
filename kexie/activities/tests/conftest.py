"""Personas the review chain needs beyond the shared ones (kexie/conftest.py)."""

from __future__ import annotations

import pytest

PASSWORD = "Kexie-Test-2026!"  # the shared personas' synthetic test password


def _persona(username: str, org, role: str):
    from kexie.accounts.models import User
    from kexie.accounts.services import role_grant

    user = User.objects.create_user(username=username, password=PASSWORD, display_name=username)
    role_grant(actor=None, user=user, organisation=org, role=role)
    return user


@pytest.fixture
def prefecture_reviewer(tree):
    """The prefecture's reviewer: level 2 of the chain (the 科普日 liaison of DOMAIN.md §5)."""
    return _persona("pref_reviewer", tree.prefecture, "reviewer")


@pytest.fixture
def toli_reviewer(tree):
    return _persona("toli_reviewer", tree.toli, "reviewer")


@pytest.fixture
def school_admin(tree):
    """Unit administrator of 额敏县第一中学: holds the review right over the school only."""
    return _persona("school_admin", tree.emin_school, "unit_admin")
