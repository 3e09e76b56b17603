"""``manage.py optimize_database``: keep the query planner's statistics current.

SQLite gathers table statistics only when asked (``ANALYZE``); without them its planner guesses,
and at a million persons a wrong guess turns a 2 ms look-up into a full scan (a table rebuilt
by a migration loses its statistics). ``PRAGMA optimize`` re-analyses what changed, bounded by
``analysis_limit``; it runs daily with the maintenance commands (``core/maintenance.py``) and
may be run after a large import. PostgreSQL's autovacuum analyses tables itself: nothing to do.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import connection
from django.utils.translation import gettext as _

# Rows SQLite samples per index when analysing: enough for the planner, fast on large tables.
ANALYSIS_LIMIT = 2000
_ANALYSIS_LIMIT_SQL = f"PRAGMA analysis_limit={ANALYSIS_LIMIT}"


class Command(BaseCommand):
    help = "Refresh the query planner's statistics (SQLite: PRAGMA optimize)."

    def handle(self, *args, **options) -> None:
        if connection.vendor != "sqlite":
            self.stdout.write(_("PostgreSQL analyses its tables itself (autovacuum)."))
            return
        with connection.cursor() as cursor:
            cursor.execute(_ANALYSIS_LIMIT_SQL)
            # 0x10002: also analyse tables that have never been analysed (SQLite docs).
            cursor.execute("PRAGMA optimize=0x10002")
        self.stdout.write(_("Statistics refreshed."))
