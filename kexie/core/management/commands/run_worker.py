"""Run the task worker with a heartbeat that ``/healthz`` reads.

Wraps django-tasks-db's worker: the heartbeat is written from a small thread so that a long
job does not make the worker look dead.
"""

from __future__ import annotations

import socket
import threading

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker

from kexie.core import backup  # noqa: F401 - registers the core.backup job handler
from kexie.core.jobs import ensure_handlers_loaded, jobs_recover_orphans
from kexie.core.maintenance import maintenance_run_if_due
from kexie.core.models import WorkerHeartbeat


class Command(BaseCommand):
    help = "Run the Kexie task worker (django-tasks database backend) with a heartbeat."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=1.0)
        parser.add_argument("--batch", action="store_true", help="Run the queued tasks, then exit.")

    def _beat(self, worker_id: str, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                close_old_connections()
                WorkerHeartbeat.objects.update_or_create(
                    worker_id=worker_id, defaults={"last_seen": timezone.now()}
                )
                jobs_recover_orphans()
                maintenance_run_if_due()  # AC-08 and other daily work, once per 24 h
                stop.wait(15)
        finally:
            connection.close()

    def handle(self, *args, interval: float, batch: bool, **options) -> None:
        ensure_handlers_loaded()
        jobs_recover_orphans()
        worker_id = f"{socket.gethostname()}-{id(self):x}"[:64]
        stop = threading.Event()
        beat = threading.Thread(target=self._beat, args=(worker_id, stop), daemon=True)
        if batch:
            # One beat is enough for a batch run; no second connection to the database.
            WorkerHeartbeat.objects.update_or_create(
                worker_id=worker_id, defaults={"last_seen": timezone.now()}
            )
        else:
            beat.start()
        worker = Worker(
            queue_names=["default"],
            interval=interval,
            batch=batch,
            backend_name="default",
            startup_delay=not batch,
            max_tasks=None,
            worker_id=worker_id[:64],
            excluded_queue_names=[],
        )
        if not batch:
            worker.configure_signals()
        try:
            worker.run()
        finally:
            stop.set()
            if beat.is_alive():
                beat.join(timeout=5)
