"""Look for possible duplicate persons in the whole registry (REG-03).

manage.py find_duplicates
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from kexie.people.dedup import duplicates_scan


class Command(BaseCommand):
    help = "Scan the registry for possible duplicate persons and queue them for a decision."

    def handle(self, *args, **options) -> None:
        created = duplicates_scan()
        self.stdout.write(f"{created} new possible duplicate pair(s)")
