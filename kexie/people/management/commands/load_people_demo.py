"""Load fictional persons and this year's registration targets into a demo instance.

    manage.py load_people_demo [--persons 3000] [--seed N]

Idempotent: does nothing when persons exist. Needs the organisation demo (``load_demo``
calls this at its end). Refuses to run unless KEXIE_DEMO is set.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kexie.people.demo import DEMO_SEED, load_people_demo


class Command(BaseCommand):
    help = "Load fictional persons and registration targets (demo only, idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--persons", type=int, default=3000)
        parser.add_argument("--seed", type=int, default=DEMO_SEED)

    def handle(self, *args, persons: int, seed: int, **options) -> None:
        if not settings.KEXIE_DEMO:
            raise CommandError("Demo data is only for a demo instance (KEXIE_DEMO=1).")
        created = load_people_demo(n=persons, seed=seed)
        self.stdout.write(
            f"Demo persons: {created['persons']} created, {created['targets']} targets set."
        )
