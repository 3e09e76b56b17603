"""``manage.py sync_code_tables``: load the code tables of ``core/data`` into the database.

Safe to run on every deployment: the load is idempotent and runs in one transaction.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from kexie.core.codetables import code_tables_sync


class Command(BaseCommand):
    help = "Load the national code tables and the region table from kexie/core/data."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = code_tables_sync()
        width = max(len(table) for table in counts)
        for table, count in counts.items():
            self.stdout.write(f"{table.ljust(width)}  {count}")
        self.stdout.write(
            self.style.SUCCESS(
                _("%(tables)d code tables synchronised, %(rows)d rows in all.")
                % {"tables": len(counts), "rows": sum(counts.values())}
            )
        )
