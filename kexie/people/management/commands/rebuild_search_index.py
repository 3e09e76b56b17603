"""Rebuild the registry's search index from the person table (DOMAIN.md §7).

    manage.py rebuild_search_index [--batch-size 2000]

Needed after a restore from a dump without the index, or when the tokenisation changed.
Audited as ``person.index_rebuild`` with the number of records indexed.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.db import transaction

from kexie.core.audit import audit_log
from kexie.people import search
from kexie.people.models import Person


class Command(BaseCommand):
    help = "Rebuild the search index of the talent registry."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args, batch_size: int, **options) -> None:
        total = Person.objects.count()
        start = time.perf_counter()
        self.stdout.write(f"Indexing {total:,} person record(s)…")

        def progress(done: int) -> None:
            rate = done / max(time.perf_counter() - start, 1e-6)
            self.stdout.write(f"  {done:,} / {total:,} ({rate:,.0f} per second)")

        with transaction.atomic():
            done = search.rebuild_index(batch_size=max(100, batch_size), progress=progress)
            audit_log(
                actor=None,
                event_type="person.index_rebuild",
                object_type="people.person",
                details={"records": done},
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Search index rebuilt: {done:,} record(s) in {time.perf_counter() - start:.1f} s."
            )
        )
