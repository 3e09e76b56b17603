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


@pytest.fixture(autouse=True)
def _fresh_parameters():
    """Run-time parameters are cached per process: no test sees another test's saved values."""
    from kexie.core.parameters import parameters_cache_clear

    parameters_cache_clear()
    yield
    parameters_cache_clear()


def pytest_report_header(config):
    url = os.environ.get("DATABASE_URL", "sqlite (default)")
    return [f"kexie database: {url.split('@')[-1]}"]


@pytest.fixture(autouse=True)
def _audit_tables_emptied_before_flush(request):
    """AUD-04 triggers refuse DELETE on the audit tables; pytest-django empties SQLite after a
    transactional test with DELETE statements (PostgreSQL: TRUNCATE, which the triggers let
    through). Just before that flush — this fixture depends on ``transactional_db``, so it is
    torn down first — we empty the audit tables the way the retention purge does: a permit row,
    the deletes, the permit removed, one transaction. The flush then finds them empty, and no
    permit outlives this fixture."""

    def _flags(transaction=False, reset_sequences=False, *args, **kwargs):
        return transaction or reset_sequences

    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and _flags(*marker.args, **marker.kwargs)) or any(
        name in request.fixturenames
        for name in ("transactional_db", "live_server", "django_db_reset_sequences")
    )
    if not transactional:
        yield
        return
    request.getfixturevalue("transactional_db")
    yield
    from django.db import connection, transaction

    if connection.vendor != "sqlite":
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO core_auditpurgepermit (granted_at) VALUES ('test flush')")
        cursor.execute("DELETE FROM core_auditevent")
        cursor.execute("DELETE FROM core_auditchainanchor")
        cursor.execute("DELETE FROM core_auditpurgepermit")
