"""``optimize_database`` keeps SQLite's planner statistics current (docs/performance.md)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection

from kexie.core.maintenance import DAILY_COMMANDS

pytestmark = pytest.mark.django_db


def test_statistics_are_gathered_for_tables_never_analysed(tree):
    out = io.StringIO()
    call_command("optimize_database", stdout=out)
    if connection.vendor != "sqlite":
        assert "autovacuum" in out.getvalue() or "自动清理" in out.getvalue()
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
        analysed = {row[0] for row in cursor.fetchall()}
    assert "orgs_organisation" in analysed
    assert out.getvalue().strip()


def test_it_runs_with_the_daily_maintenance():
    assert "optimize_database" in DAILY_COMMANDS
