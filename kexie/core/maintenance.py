"""Daily maintenance run by the task worker's heartbeat thread (AC-08 and friends).

The last run is remembered in ``core.Parameter`` under ``maintenance.last_run`` rather than in
``WorkerHeartbeat``: the heartbeat table means "this worker is alive" (``/healthz`` and orphan
recovery read it), while the last run belongs to the instance, not to one worker. Claiming the
run is one locked read-and-update of that row, so with several workers (or several machines on
one database) maintenance still runs at most once per interval. The key is not in the
parameter registry, so no page shows or changes it.

Commands are called by name so that ``core`` needs no import of the apps that provide them.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime, timedelta

from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import Parameter

logger = logging.getLogger(__name__)

LAST_RUN_KEY = "maintenance.last_run"
INTERVAL = timedelta(hours=24)
DAILY_COMMANDS: tuple[str, ...] = (
    "disable_dormant_accounts",
    "purge_expired_sessions",
    "purge_people",  # kexie.people (PI-09); by name, so core imports no app
    "optimize_database",
)


def _claim(now: datetime, interval: timedelta) -> bool:
    """Record ``now`` as the last run if the previous one is at least ``interval`` old."""
    try:
        with transaction.atomic():
            row = Parameter.objects.select_for_update().filter(key=LAST_RUN_KEY).first()
            if row is None:
                Parameter.objects.create(
                    key=LAST_RUN_KEY, category="system", value={"at": now.isoformat()}
                )
                return True
            last = parse_datetime(str((row.value or {}).get("at", "")))
            if last is not None and now - last < interval:
                return False
            row.value = {"at": now.isoformat()}
            row.save(update_fields=["value", "updated_at"])
            return True
    except IntegrityError:  # another worker created the row at the same moment: it runs
        return False


def maintenance_run_if_due(*, now: datetime | None = None, interval: timedelta = INTERVAL) -> bool:
    """Run the daily commands if they did not run in the last ``interval``; never raises.

    Called every heartbeat (15 s); an exception here must not stop the heartbeat thread.
    """
    try:
        if not _claim(now or timezone.now(), interval):
            return False
    except Exception:  # noqa: BLE001 - logged; the heartbeat goes on
        logger.exception("maintenance: could not read or record the last run")
        return False
    for name in DAILY_COMMANDS:
        out = io.StringIO()
        try:
            call_command(name, stdout=out, stderr=out)
        except Exception:  # noqa: BLE001 - one failing command must not stop the others
            logger.exception("maintenance: %s failed", name)
        else:
            logger.info("maintenance: %s: %s", name, out.getvalue().strip()[-500:])
    return True
