"""``field__any`` (core/lookups.py): one array parameter on PostgreSQL, an IN list elsewhere."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kexie.orgs.models import Organisation

pytestmark = pytest.mark.django_db


def test_any_finds_the_same_rows_as_in(tree):
    ids = list(Organisation.objects.order_by("id").values_list("id", flat=True)[:5])
    wanted = [ids[0], ids[2], ids[4], 10**9]
    found = list(
        Organisation.objects.filter(pk__any=wanted).order_by("-id").values_list("id", flat=True)
    )
    assert found == sorted([ids[0], ids[2], ids[4]], reverse=True)
    assert list(Organisation.objects.filter(pk__any=[])) == []


def test_on_postgresql_the_list_is_one_parameter(tree):
    ids = list(Organisation.objects.values_list("id", flat=True))
    with CaptureQueriesContext(connection) as queries:
        list(Organisation.objects.filter(pk__any=ids))
    sql = queries.captured_queries[-1]["sql"]
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql
    else:
        assert " IN (" in sql
