"""``manage.py purge_audit [--older-than-days N]``: the audit retention purge (AUD-05).

Deletes the oldest contiguous run of audit events older than N days (default
``KEXIE_AUDIT_RETENTION_DAYS``; never fewer than 180), leaves a chain anchor so that
``verify_audit_chain`` still passes, and records the purge as an ``audit.purge`` event — all in
one transaction. Run it from cron or a systemd timer as the operator.
"""

from __future__ import annotations

import getpass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kexie.core.audit_chain import MIN_RETENTION_DAYS, audit_purge, retention_days_default


class Command(BaseCommand):
    help = "Delete audit events older than the retention period (at least 180 days)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than-days",
            type=int,
            default=None,
            help="Purge events older than this many days (default: KEXIE_AUDIT_RETENTION_DAYS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["older_than_days"]
        if days is None:
            days = retention_days_default()
        if days < MIN_RETENTION_DAYS:
            raise CommandError(
                _("Refused: audit events are kept at least %(min)s days (asked: %(days)s).")
                % {"min": MIN_RETENTION_DAYS, "days": days}
            )
        try:
            result = audit_purge(actor=None, older_than_days=days, operator=_operator())
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if result.purged:
            message = _(
                "%(count)s audit events older than %(days)s days purged "
                "(through sequence %(sequence)s)."
            ) % {"count": result.purged, "days": days, "sequence": result.through_sequence}
        else:
            message = _("No audit events older than %(days)s days.") % {"days": days}
        self.stdout.write(self.style.SUCCESS(message))


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a container
        return ""
