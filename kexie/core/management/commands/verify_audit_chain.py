"""``manage.py verify_audit_chain``: prove the audit log was not changed (AUD-04).

Walks every event in sequence order from the newest chain anchor (or the first event), checks
that the sequence has no gap, that each event links to the one before, and recomputes each
HMAC. Prints OK with the number of events, or names the first broken row and exits with 1.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kexie.core.audit_chain import chain_verify


class Command(BaseCommand):
    help = "Verify the tamper-evident audit chain; name the first broken row."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=2000,
            help="Rows fetched from the database at a time.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = chain_verify(chunk_size=max(100, options["chunk_size"]))
        if not report.ok:
            raise CommandError(
                _("Audit chain BROKEN after %(count)s intact events, at %(where)s")
                % {"count": report.checked, "where": report.broken.describe()}
            )
        if report.checked:
            message = _("OK: %(count)s audit events verified (sequence %(first)s to %(last)s).") % {
                "count": report.checked,
                "first": report.first_sequence,
                "last": report.last_sequence,
            }
        else:
            message = _("OK: 0 audit events verified (the log is empty).")
        if report.anchor_sequence:
            message += " " + _("Chain starts after purged sequence %(anchor)s.") % {
                "anchor": report.anchor_sequence
            }
        self.stdout.write(self.style.SUCCESS(message))
