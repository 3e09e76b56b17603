"""Load the Tacheng demo data (idempotent). Refuses to run with production settings."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kexie.core.codetables import code_tables_sync
from kexie.portal.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Load code tables and the Tacheng demo organisations and staff accounts."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Only when there are no organisations yet."
        )
        parser.add_argument("--quiet-logins", action="store_true")

    def handle(self, *args, if_empty: bool, quiet_logins: bool, **options) -> None:
        if not settings.KEXIE_DEMO:
            raise CommandError("Demo data is only for a demo instance (KEXIE_DEMO=1).")
        from kexie.orgs.models import Organisation

        code_tables_sync()
        if if_empty and Organisation.objects.exists():
            self.stdout.write("Organisations exist already; demo data not loaded.")
        else:
            created = load_demo()
            self.stdout.write(
                f"Demo data: {created['organisations']} organisations and "
                f"{created['accounts']} accounts created."
            )
        from kexie.people.demo import load_people_demo

        people = load_people_demo()
        if people["persons"]:
            self.stdout.write(f"Demo persons: {people['persons']} created.")
        if not quiet_logins:
            self.stdout.write(f"Demo logins (password {DEMO_PASSWORD}):")
            for account in DEMO_ACCOUNTS:
                self.stdout.write(f"  {account.username:<14} {account.role:<15} {account.label}")
