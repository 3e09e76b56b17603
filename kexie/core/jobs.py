"""Background jobs: a ``Job`` row the pages can show, run by the django-tasks database worker.

Handlers are registered by name (``@job_handler("orgs.import_commit")``) so that a queued task
can only ever run code we registered, never an arbitrary import path from the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from .choices import JobStatus
from .models import Job

logger = logging.getLogger(__name__)

JobHandler = Callable[..., str]
_HANDLERS: dict[str, JobHandler] = {}
_RECOVERY: dict[str, Callable[[Job], None]] = {}


def job_handler(kind: str) -> Callable[[JobHandler], JobHandler]:
    def register(func: JobHandler) -> JobHandler:
        _HANDLERS[kind] = func
        return func

    return register


class Progress:
    """Passed to a handler; writes progress at most every ``step`` items to spare the database."""

    def __init__(self, job: Job, step: int = 50) -> None:
        self.job = job
        self.step = step

    def total(self, total: int) -> None:
        self.job.progress_total = total
        self.job.progress_done = 0
        Job.objects.filter(pk=self.job.pk).update(progress_total=total, progress_done=0)

    def advance(self, done: int, *, force: bool = False) -> None:
        done = min(done, self.job.progress_total) if self.job.progress_total else done
        if force or done - self.job.progress_done >= self.step or done == self.job.progress_total:
            self.job.progress_done = done
            Job.objects.filter(pk=self.job.pk).update(progress_done=done)


def job_create(*, actor, kind: str, title: str, kwargs: dict) -> Job:
    """Create a job and queue it once the surrounding transaction commits."""
    if kind not in _HANDLERS:
        raise ValueError(f"no job handler registered for {kind!r}")
    job = Job(kind=kind, title=title[:200], created_by=actor)
    job.full_clean()
    job.save()

    def enqueue() -> None:
        result = run_job.enqueue(job_id=job.pk, kwargs=kwargs)
        Job.objects.filter(pk=job.pk).update(task_id=str(result.id)[:64])

    transaction.on_commit(enqueue)
    return job


@task()
def run_job(job_id: int, kwargs: dict) -> None:
    job = Job.objects.select_related("created_by").get(pk=job_id)
    if job.is_finished:
        return
    handler = _HANDLERS.get(job.kind)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=timezone.now())
    try:
        if handler is None:
            raise LookupError(job.kind)
        message = handler(job=job, progress=Progress(job), **kwargs) or ""
    except Exception:
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED,
            finished_at=timezone.now(),
            message=str(job.message or "")[:500],
        )
        raise
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED,
        finished_at=timezone.now(),
        progress_done=job.progress_total,
        message=str(message)[:500],
    )


def job_recovery(kind: str) -> Callable[[Callable[[Job], None]], Callable[[Job], None]]:
    """Register what to do with the records of a job whose worker died mid-way."""

    def register(func: Callable[[Job], None]) -> Callable[[Job], None]:
        _RECOVERY[kind] = func
        return func

    return register


def jobs_recover_orphans(*, stale_after: timedelta | None = None) -> int:
    """Mark jobs FAILED whose worker stopped beating while running them (REL-03).

    The job's own transaction rolled back when its process died, so the data is as before;
    each job kind's recovery hook puts its records back into a state a person can act on.
    """
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from .models import WorkerHeartbeat

    stale_after = stale_after or timedelta(seconds=settings.KEXIE_WORKER_STALE_SECONDS)
    alive = set(
        WorkerHeartbeat.objects.filter(last_seen__gte=timezone.now() - stale_after).values_list(
            "worker_id", flat=True
        )
    )
    recovered = 0
    for job in Job.objects.filter(status=JobStatus.RUNNING).exclude(task_id=""):
        task = DBTaskResult.objects.filter(id=job.task_id).first()
        workers = list(task.worker_ids) if task is not None else []
        if workers and workers[-1] in alive:
            continue
        with transaction.atomic():
            updated = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
                status=JobStatus.FAILED,
                finished_at=timezone.now(),
                message=str(_("The job was interrupted; nothing of it was kept."))[:500],
            )
            if not updated:
                continue
            if task is not None and task.status == TaskResultStatus.RUNNING:
                DBTaskResult.objects.filter(id=task.id).update(
                    status=TaskResultStatus.FAILED, finished_at=timezone.now()
                )
            hook = _RECOVERY.get(job.kind)
            if hook is not None:
                hook(job)
        logger.warning("job %s (%s) was interrupted and marked failed", job.pk, job.kind)
        recovered += 1
    return recovered


def job_set_result_url(*, job: Job, url: str) -> None:
    job.result_url = url
    Job.objects.filter(pk=job.pk).update(result_url=url)


def ensure_handlers_loaded() -> None:
    """Import every app's ``jobs`` module so their handlers are registered in this process."""
    from importlib import import_module

    from django.apps import apps

    for config in apps.get_app_configs():
        if config.name.startswith("kexie."):
            try:
                import_module(f"{config.name}.jobs")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.jobs":
                    raise
