"""``python manage.py purge_people [--dry-run]`` (PI-09).

Deletes what the retention rules say has expired: rejected self-registrations 30 days after
the decision, self-registrations whose consent was withdrawn more than 30 days ago, expired or
used one-time codes, and handled data-subject requests older than 3 years. Blind indexes and
search tokens go with the records. One ``person.purge`` audit event with the counts (and one
per deleted record). Meant to run daily (the ``people.purge`` job does the same).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from kexie.people.registration import people_purge


class Command(BaseCommand):
    help = "Delete expired self-registrations, one-time codes and handled requests (audited)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="only count")

    def handle(self, *args, dry_run: bool, **options) -> None:
        counts = people_purge(dry_run=dry_run)
        verb = "Would purge" if dry_run else "Purged"
        self.stdout.write(
            f"{verb}: {counts['rejected']} rejected and {counts['withdrawn']} withdrawn "
            f"registrations, {counts['codes']} one-time codes, {counts['requests']} requests."
        )
