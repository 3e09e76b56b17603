"""Large files are checked by the task worker, with progress, and the upload is removed."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from kexie.core.choices import ImportStatus, JobStatus
from kexie.core.imports import import_validate
from kexie.orgs.models import Organisation
from kexie.orgs.tests.test_import_export import importer, org_row, upload


@pytest.fixture
def small_background(settings, tmp_path, monkeypatch):
    settings.KEXIE_IMPORT_BACKGROUND_BYTES = 1000
    settings.KEXIE_PRIVATE_DIR = tmp_path
    from django_tasks_db.management.commands import db_worker

    # The worker runs inside this test's transaction: keep its connection open.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    return tmp_path


def test_a_large_file_is_checked_by_the_worker(
    prefecture_admin, small_background, django_capture_on_commit_callbacks, client
):
    # given a file above the background threshold with one bad row among good ones
    rows = [org_row(f"BV{n:04d}", f"后台校验单位{n}") for n in range(30)]
    rows.append(org_row("BV9999", "坏单位", parent="KX000000"))
    # when it is uploaded
    with django_capture_on_commit_callbacks(execute=True):
        log = import_validate(user=prefecture_admin, importer=importer(), upload=upload(*rows))
    # then the request only queued the check; the file waits privately
    assert log.status == ImportStatus.VALIDATING
    assert log.job is not None and log.job.status == JobStatus.QUEUED
    assert len(list(small_background.glob("imports/*.xlsx"))) == 1
    # when the worker runs
    call_command("run_worker", "--batch", "--interval", "0")
    # then the report is complete, nothing was written, and the upload is gone
    log.refresh_from_db()
    job = log.job
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.percent == 100
    assert log.status == ImportStatus.INVALID
    assert log.row_count == 31
    assert [error["row"] for error in log.errors] == [32]
    assert not Organisation.objects.filter(code__startswith="BV").exists()
    assert list(small_background.glob("imports/*")) == []


def test_a_polling_page_is_sent_to_the_result_when_the_job_ends(
    prefecture_admin, small_background, django_capture_on_commit_callbacks, client
):
    rows = [org_row(f"BW{n:04d}", f"后台校验单位{n}") for n in range(30)]
    client.force_login(prefecture_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/orgs/import/", {"file": upload(*rows)})
    detail_url = response["Location"]
    html = client.get(detail_url).content.decode()
    assert 'role="progressbar"' in html
    call_command("run_worker", "--batch", "--interval", "0")
    from kexie.core.models import Job

    job = Job.objects.get(created_by=prefecture_admin)
    polled = client.get(f"/jobs/{job.pk}/", HTTP_HX_REQUEST="true")
    assert polled["HX-Redirect"] == detail_url
    assert "BW0000" in client.get(detail_url).content.decode()


def test_an_import_interrupted_by_a_dead_worker_can_be_run_again(
    prefecture_admin, small_background, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from kexie.core.imports import import_commit
    from kexie.core.jobs import jobs_recover_orphans
    from kexie.core.models import Job, WorkerHeartbeat

    # given a large import whose worker claimed the job, then died (heartbeat long gone)
    rows = [org_row(f"BX{n:04d}", f"中断单位{n}") for n in range(55)]
    from django.conf import settings

    settings.KEXIE_IMPORT_BACKGROUND_BYTES = 10**9  # check inline; only the commit is queued
    log = import_validate(user=prefecture_admin, importer=importer(), upload=upload(*rows))
    with django_capture_on_commit_callbacks(execute=True):
        log = import_commit(user=prefecture_admin, log=log)
    job = Job.objects.get(pk=log.job_id)
    task = DBTaskResult.objects.get(id=job.task_id)
    task.claim("dead-worker")
    Job.objects.filter(pk=job.pk).update(status="running", started_at=timezone.now())
    WorkerHeartbeat.objects.create(
        worker_id="dead-worker", last_seen=timezone.now() - timedelta(minutes=10)
    )
    # when a worker looks for orphans
    assert jobs_recover_orphans() == 1
    # then the job is failed, nothing was written, and the import can be started again
    job.refresh_from_db()
    log.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert log.status == ImportStatus.VALID
    assert not Organisation.objects.filter(code__startswith="BX").exists()
    with django_capture_on_commit_callbacks(execute=True):
        log = import_commit(user=prefecture_admin, log=log)
    call_command("run_worker", "--batch", "--interval", "0")
    log.refresh_from_db()
    assert log.status == ImportStatus.COMMITTED
    assert Organisation.objects.filter(code__startswith="BX").count() == 55


def test_a_running_job_of_a_live_worker_is_left_alone(
    prefecture_admin, django_capture_on_commit_callbacks
):
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from kexie.core.jobs import job_create, jobs_recover_orphans
    from kexie.core.models import Job, WorkerHeartbeat

    # given a job claimed by a worker that is still beating
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(
            actor=prefecture_admin, kind="core.import_commit", title="x", kwargs={"log_id": 0}
        )
    job.refresh_from_db()
    DBTaskResult.objects.get(id=job.task_id).claim("live-worker")
    Job.objects.filter(pk=job.pk).update(status="running")
    WorkerHeartbeat.objects.create(worker_id="live-worker", last_seen=timezone.now())
    # then it is not touched
    assert jobs_recover_orphans() == 0
    assert Job.objects.get(pk=job.pk).status == "running"
