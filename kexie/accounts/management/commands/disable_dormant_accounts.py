"""``python manage.py disable_dormant_accounts [--dry-run]`` (AC-08).

Disables staff accounts without a login for ``dormant_days`` (a security parameter, 90 by
default) and every account past its ``expires_at``; one ``account.dormant_disable`` audit
event per account. The task worker runs it once a day (``kexie.core.maintenance``).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from kexie.accounts.admin_services import accounts_disable_dormant
from kexie.core.parameters import get_param


class Command(BaseCommand):
    help = "Disable dormant staff accounts and accounts past their expiry date (audited)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="only list them")

    def handle(self, *args, dry_run: bool, **options) -> None:
        done = accounts_disable_dormant(dry_run=dry_run)
        verb = "Would disable" if dry_run else "Disabled"
        self.stdout.write(
            f"{verb} {len(done)} accounts (dormant after {get_param('dormant_days')} days)."
        )
        for candidate in done:
            self.stdout.write(f"  {candidate.user.username}: {candidate.reason}")
