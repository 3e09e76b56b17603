"""WEB-02, WEB-04..08: the web layer's defences, each proven by a request."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

KEXIE = Path(__file__).resolve().parents[2]


def test_no_string_built_sql_outside_tests():
    # WEB-02: ORM or parameterised SQL only. f-strings, % or .format() inside execute()/raw()
    # would build SQL from values.
    pattern = re.compile(
        r"(execute|executemany|raw|extra)\(\s*(f[\"']|[\"'][^\"']*[\"']\s*(%|\.format))"
    )
    offenders = []
    for path in KEXIE.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(KEXIE)}:{number}: {line.strip()}")
    assert offenders == []


def test_post_without_csrf_token_is_refused(tree, county_admin):
    # WEB-04: the real CSRF checks (the test client skips them unless asked)
    client = Client(enforce_csrf_checks=True)
    client.force_login(county_admin)
    response = client.post(
        f"/orgs/{tree.emin_school.pk}/dissolve/", {"on_date": "2026-01-01", "reason": "x"}
    )
    assert response.status_code == 403
    tree.emin_school.refresh_from_db()
    assert tree.emin_school.status == "active"


def test_state_changes_are_not_possible_through_get(tree, county_admin, login):
    client = login(county_admin)
    assert client.get("/accounts/logout/").status_code == 405
    client.get(f"/orgs/{tree.emin_school.pk}/dissolve/?on_date=2026-01-01&reason=x")
    tree.emin_school.refresh_from_db()
    assert tree.emin_school.status == "active"


def test_security_headers_and_csp_nonce(tree, county_admin, login):
    # WEB-05
    response = login(county_admin).get("/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    html = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all(
        f'nonce="{nonce}"' in tag or "application/json" in tag for tag in scripts
    )
    assert "style=" not in html
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cache-Control"] == "no-store"


def test_no_external_resources_in_pages(tree, county_admin, login):
    # PI-10: nothing leaves the deployment (no CDN, fonts, analytics)
    html = login(county_admin).get("/").content.decode()
    assert not re.search(r"""(src|href)=["']https?://""", html)


def test_unknown_host_is_refused(client, db):
    # WEB-07: explicit ALLOWED_HOSTS
    response = client.get("/accounts/login/", HTTP_HOST="evil.example.com")
    assert response.status_code == 400


@pytest.mark.parametrize("target", ["https://evil.example.com/", "//evil.example.com/"])
def test_login_does_not_redirect_off_site(client, county_admin, target):
    # WEB-07: safe next= redirects
    from kexie.conftest import PASSWORD

    response = client.post(
        f"/accounts/login/?next={target}",
        {"username": "emin_admin", "password": PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert "evil.example.com" not in response["Location"]


def test_language_switch_does_not_redirect_off_site(client, db):
    response = client.post(
        "/i18n/setlang/", {"language": "en", "next": "https://evil.example.com/"}
    )
    assert "evil.example.com" not in response.get("Location", "")


def test_oversized_request_body_is_refused(tree, county_admin, login, settings):
    # WEB-08: request size limits (form fields beyond the limit are refused, not processed)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = Client().post("/accounts/login/", {"username": "x" * 5000, "password": "y"})
    assert response.status_code == 400
    # and read-only pages refuse other methods
    assert login(county_admin).post("/orgs/search/", {"q": "x"}).status_code == 405


def test_oversized_upload_is_refused_with_a_clear_message(tree, county_admin, login, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import translation

    settings.KEXIE_MAX_UPLOAD_BYTES = 2048
    client = login(county_admin)
    big = SimpleUploadedFile("big.xlsx", b"PK\x03\x04" + b"0" * 5000)
    with translation.override("zh-hans"):
        response = client.post("/orgs/import/", {"file": big})
    assert response.status_code == 400
    assert "文件过大" in response.content.decode()


def test_error_page_for_a_crash_leaks_nothing(tree, county_admin, monkeypatch):
    # WEB-06: DEBUG off, a friendly 500 without a traceback
    from kexie.orgs import views

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals 13900001234")

    monkeypatch.setattr(views.selectors, "organisation_roots", boom)
    client = Client(raise_request_exception=False)
    client.force_login(county_admin)
    response = client.get("/orgs/")
    body = response.content.decode()
    assert response.status_code == 500
    assert "Traceback" not in body and "secret internals" not in body
