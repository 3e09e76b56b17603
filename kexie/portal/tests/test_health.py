from __future__ import annotations

import pytest
from django.utils import timezone

from kexie.core.models import WorkerHeartbeat


@pytest.mark.django_db
def test_healthz_reports_database_migrations_and_a_stale_worker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"] == "ok"
    assert body["checks"]["worker"] == "stale"


@pytest.mark.django_db
def test_healthz_sees_a_live_worker(client):
    WorkerHeartbeat.objects.create(worker_id="w1", last_seen=timezone.now())
    assert client.get("/healthz").json()["checks"]["worker"] == "ok"


@pytest.mark.django_db
def test_login_page_is_chinese_by_default(client):
    html = client.get("/accounts/login/").content.decode()
    assert 'lang="zh-hans"' in html
    assert "登录" in html


@pytest.mark.django_db
def test_language_switch_to_english(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    html = client.get("/accounts/login/").content.decode()
    assert "Log in" in html


@pytest.mark.django_db
def test_error_pages_leak_nothing(client, county_admin, login):
    client = login(county_admin)
    response = client.get("/orgs/999999/")
    assert response.status_code == 404
    assert "Traceback" not in response.content.decode()
