"""Reads of core objects, always through the user."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from kexie.accounts.roles import Action
from kexie.accounts.scope import has_action

from .models import AuditEvent, ImportLog, Job


def job_list(*, user) -> QuerySet[Job]:
    """A user sees the jobs they started, nobody else's."""
    return Job.objects.filter(created_by=user).order_by("-created_at")


def job_get(*, user, pk: int) -> Job:
    job = job_list(user=user).filter(pk=pk).first()
    if job is None:
        raise Http404
    return job


def import_log_get(*, user, pk: int, importer: str) -> ImportLog:
    log = (
        ImportLog.objects.filter(created_by=user, importer=importer, pk=pk)
        .select_related("job")
        .first()
    )
    if log is None:
        raise Http404
    return log


def audit_event_list(*, user, event_type: str = "") -> QuerySet[AuditEvent]:
    if not has_action(user, Action.READ_AUDIT):
        return AuditEvent.objects.none()
    qs = AuditEvent.objects.select_related("actor").order_by("-occurred_at", "-id")
    if event_type:
        qs = qs.filter(event_type__startswith=event_type)
    return qs
