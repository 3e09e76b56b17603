"""Subtree queries are index range scans on both databases (no LIKE, no table scan)."""

from __future__ import annotations

from django.db import connection

from kexie.orgs.models import Organisation


def _plan(qs) -> str:
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def test_subtree_query_is_an_index_range_scan(tree):
    # given the subtree of 额敏县科协
    qs = Organisation.objects.subtree_of(tree.emin).values_list("pk", flat=True)
    # when the database plans it
    plan = _plan(qs)
    # then it searches the path index with a range
    if connection.vendor == "sqlite":
        assert "SEARCH" in plan and "path" in plan, plan
        assert "SCAN orgs_organisation" not in plan, plan
    else:
        assert "Index" in plan and "path" in plan, plan
        assert "Seq Scan" not in plan, plan
    assert set(qs) == {tree.emin.pk, tree.emin_town.pk, tree.emin_school.pk}


def test_scoped_list_for_a_county_user_is_index_bounded(tree, county_admin):
    qs = Organisation.objects.visible_to(county_admin).values_list("pk", flat=True)
    plan = _plan(qs)
    if connection.vendor == "sqlite":
        assert "SCAN orgs_organisation" not in plan, plan
    else:
        assert "Seq Scan" not in plan, plan
