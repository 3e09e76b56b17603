"""RES-01 / PI-09: remove what login security no longer needs.

Expired Django sessions (``clearsessions``), session records ended or idle for longer than
``--days`` (default 90), and django-axes logs older than 180 days. Run daily by the worker's
maintenance (kexie/core/maintenance.py); safe to run by hand at any time.
"""

from __future__ import annotations

from datetime import timedelta

from axes.models import AccessAttempt, AccessLog
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from kexie.accounts.models import UserSession
from kexie.core.parameters import axes_cooloff_time

AXES_LOG_DAYS = 180


class Command(BaseCommand):
    help = "Delete expired sessions, old session records and old lock-out logs."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=90)

    def handle(self, *args, days: int, **options) -> None:
        now = timezone.now()
        call_command("clearsessions")
        cutoff = now - timedelta(days=days)
        sessions, _ = UserSession.objects.filter(
            Q(ended_at__lt=cutoff) | Q(ended_at__isnull=True, last_seen__lt=cutoff)
        ).delete()
        logs, _ = AccessLog.objects.filter(
            attempt_time__lt=now - timedelta(days=AXES_LOG_DAYS)
        ).delete()
        attempts, _ = AccessAttempt.objects.filter(
            attempt_time__lt=now - axes_cooloff_time()
        ).delete()
        self.stdout.write(
            f"Removed {sessions} session records, {logs} access logs, "
            f"{attempts} expired lock-out counters."
        )
