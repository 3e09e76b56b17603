"""Shared fixtures: code tables, a small organisation tree, and named personas (STYLE.md 15).

Personas (each a User with one role):
- ``prefecture_admin``  unit_admin at 塔城地区科协 (KX654200)
- ``county_admin``      unit_admin at 额敏县科协 (KX654221)
- ``county_clerk``      clerk at 额敏县科协
- ``county_viewer``     viewer at 额敏县科协
- ``county_reviewer``   reviewer at 额敏县科协
- ``outsider``          unit_admin at 托里县科协 (KX654224), another county
- ``system_admin`` / ``security_admin`` / ``audit_admin`` at the prefecture
- ``no_role``           an active login without any role
"""

from __future__ import annotations

import os

import pytest

from kexie.core.codetables import code_tables_sync

PASSWORD = "Kexie-Test-2026!"  # noqa: S105 - synthetic test password


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        code_tables_sync()


@pytest.fixture
def tree(db):
    """A small tree with the shape of the real one."""
    from kexie.core.models import Region
    from kexie.orgs.tests.factories import build_demo_tree

    if not Region.objects.exists():  # a transactional test before us flushed the tables
        code_tables_sync()

    return build_demo_tree()


def _persona(username: str, org, role: str):
    from kexie.accounts.models import User
    from kexie.accounts.services import role_grant

    user = User.objects.create_user(username=username, password=PASSWORD, display_name=username)
    role_grant(actor=None, user=user, organisation=org, role=role)
    return user


@pytest.fixture
def prefecture_admin(tree):
    return _persona("pref_admin", tree.prefecture, "unit_admin")


@pytest.fixture
def county_admin(tree):
    return _persona("emin_admin", tree.emin, "unit_admin")


@pytest.fixture
def county_clerk(tree):
    return _persona("emin_clerk", tree.emin, "clerk")


@pytest.fixture
def county_viewer(tree):
    return _persona("emin_viewer", tree.emin, "viewer")


@pytest.fixture
def county_reviewer(tree):
    return _persona("emin_reviewer", tree.emin, "reviewer")


@pytest.fixture
def outsider(tree):
    return _persona("toli_admin", tree.toli, "unit_admin")


@pytest.fixture
def system_admin(tree):
    return _persona("sysadmin", tree.prefecture, "system_admin")


@pytest.fixture
def security_admin(tree):
    return _persona("secadmin", tree.prefecture, "security_admin")


@pytest.fixture
def audit_admin(tree):
    return _persona("auditadmin", tree.prefecture, "audit_admin")


@pytest.fixture
def no_role(tree):
    from kexie.accounts.models import User

    return User.objects.create_user(username="norole", password=PASSWORD)


@pytest.fixture
def login(client):
    """``login(user)`` returns the test client logged in as ``user``."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


def pytest_report_header(config):
    url = os.environ.get("DATABASE_URL", "sqlite (default)")
    return [f"kexie database: {url.split('@')[-1]}"]
