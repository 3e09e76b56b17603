"""Background jobs run by the real django-tasks database worker, with progress."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from kexie.core.jobs import job_create, job_handler
from kexie.core.models import Job, WorkerHeartbeat


@job_handler("tests.count_to")
def _count_to(*, job, progress, n: int) -> str:
    progress.total(n)
    for i in range(1, n + 1):
        progress.advance(i)
    return f"counted to {n}"


@job_handler("tests.explode")
def _explode(*, job, progress) -> str:
    raise RuntimeError("boom")


@pytest.mark.django_db(transaction=True)
def test_a_queued_job_runs_in_the_worker_and_reports_progress(county_admin):
    # given a job queued by a user
    job = job_create(actor=county_admin, kind="tests.count_to", title="数数", kwargs={"n": 120})
    assert Job.objects.get(pk=job.pk).status == "queued"
    # when the worker runs what is queued
    call_command("run_worker", "--batch", "--interval", "0")
    # then the job succeeded with full progress and the worker left a heartbeat
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert (job.progress_done, job.progress_total, job.percent) == (120, 120, 100)
    assert job.message == "counted to 120"
    assert WorkerHeartbeat.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_failing_job_is_marked_failed(county_admin):
    job = job_create(actor=county_admin, kind="tests.explode", title="失败", kwargs={})
    call_command("run_worker", "--batch", "--interval", "0")
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.finished_at is not None


@pytest.mark.django_db(transaction=True)
def test_job_page_shows_a_progress_bar_and_polls_until_done(county_admin, client):
    job = job_create(actor=county_admin, kind="tests.count_to", title="数数", kwargs={"n": 3})
    client.force_login(county_admin)
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'role="progressbar"' in html
    assert "hx-trigger" in html
    call_command("run_worker", "--batch", "--interval", "0")
    html = client.get(f"/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-percent="100"' in html
    assert "hx-trigger" not in html


def test_unknown_job_kinds_are_refused(county_admin):
    with pytest.raises(ValueError):
        job_create(actor=county_admin, kind="nope", title="x", kwargs={})
