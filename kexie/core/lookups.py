"""``field__any=[…]``: membership in a list sent as one array parameter.

``pk__in=ids`` with a few hundred ids makes Django build, and psycopg split, a statement with
one placeholder per id — several milliseconds of Python for a look-up the database answers in
under one (the registry search on PostgreSQL, docs/performance.md). On PostgreSQL this lookup
sends ``"id" = ANY(%s)`` with the list as one array, which the planner treats exactly like the
``IN`` list (an ordered index scan that stops at the page's last row). Other databases get the
plain ``IN`` list.
"""

from __future__ import annotations

from django.db.models import BigAutoField, BigIntegerField, Lookup
from django.db.models.lookups import In


class Any(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        return [int(value) for value in self.rhs]

    def as_sql(self, compiler, connection):
        if connection.vendor != "postgresql":
            return In(self.lhs, self.rhs).as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, list(self.rhs)]


BigAutoField.register_lookup(Any)
BigIntegerField.register_lookup(Any)
