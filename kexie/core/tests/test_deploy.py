"""DEP-01 (part): production settings pass Django's deploy checks and refuse missing keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _run(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEXIE_", "SECRET_KEY"))}
    env.update({"DJANGO_SETTINGS_MODULE": "kexie.settings.production", **env_extra})
    env.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'deploy-check.sqlite3'}")
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


KEYS = {
    "SECRET_KEY": "prod-secret-" + "x" * 50,
    "KEXIE_FIELD_KEYS": "k1:" + "A" * 43 + "=",
    "KEXIE_BLIND_INDEX_KEY": "B" * 43 + "=",
    "KEXIE_AUDIT_KEY": "C" * 43 + "=",
    "ALLOWED_HOSTS": "kexie.example.cn",
}


def test_production_settings_pass_the_deploy_checks():
    result = _run(KEYS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_keys():
    result = _run({k: v for k, v in KEYS.items() if k != "KEXIE_AUDIT_KEY"})
    assert result.returncode != 0
    assert "KEXIE_AUDIT_KEY" in result.stderr


def test_production_refuses_a_field_key_equal_to_the_secret_key():
    result = _run({**KEYS, "KEXIE_BLIND_INDEX_KEY": KEYS["SECRET_KEY"]})
    assert result.returncode != 0
    assert "must all differ" in result.stderr


# --- our own deploy checks (kexie/core/checks.py): each fails when its condition breaks ----------


def test_production_settings_pass_against_a_migrated_database_and_fail_with_a_superuser(
    tmp_path,
):
    # given a migrated production database
    url = f"sqlite:///{tmp_path / 'prod.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEXIE_", "SECRET_KEY"))}
    env.update({"DJANGO_SETTINGS_MODULE": "kexie.settings.production", "DATABASE_URL": url})
    env.update(KEYS)
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr
    # then the deploy checks pass (no superuser, no shared account)
    assert _run({**KEYS, "DATABASE_URL": url}).returncode == 0
    # when someone creates a superuser
    env["DJANGO_SUPERUSER_PASSWORD"] = "Kexie-Prod-2026!x"
    created = subprocess.run(
        [sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", "boss"],
        cwd=ROOT,
        env={**env, "DJANGO_SUPERUSER_EMAIL": "boss@example.cn"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    # then the deploy check fails, naming it
    result = _run({**KEYS, "DATABASE_URL": url})
    assert result.returncode != 0
    assert "kexie.E002" in result.stderr + result.stdout


def _ids(messages) -> set[str]:
    return {message.id for message in messages}


def test_check_no_superuser(db):
    from kexie.accounts.models import User
    from kexie.core import checks

    assert checks.no_superuser(None) == []
    User.objects.create_superuser(username="zhang_root", password="x")
    assert _ids(checks.no_superuser(None)) == {"kexie.E002"}


@pytest.mark.parametrize("name", ["admin", "ROOT", "Test"])
def test_check_no_reserved_usernames(db, name):
    from kexie.accounts.models import User
    from kexie.core import checks

    assert checks.no_reserved_usernames(None) == []
    User.objects.create_user(username=name)  # bypassing user_create, as a legacy import might
    assert _ids(checks.no_reserved_usernames(None)) == {"kexie.E003"}


def test_database_checks_tolerate_a_database_without_tables(monkeypatch):
    from django.db import DatabaseError

    from kexie.core import checks

    def missing(*args, **kwargs):
        raise DatabaseError("no such table: accounts_user")

    monkeypatch.setattr("django.db.models.query.QuerySet.count", missing)
    assert checks.no_superuser(None) == []


@pytest.mark.parametrize(
    ("setting", "value", "check", "check_id"),
    [
        (
            "PASSWORD_HASHERS",
            ["django.contrib.auth.hashers.PBKDF2PasswordHasher"],
            "argon2_first",
            "kexie.E004",
        ),
        ("SESSION_COOKIE_AGE", 3600, "session_idle_timeout", "kexie.E005"),
        ("SESSION_SAVE_EVERY_REQUEST", False, "session_idle_timeout", "kexie.E005"),
        (
            "AUTHENTICATION_BACKENDS",
            ["django.contrib.auth.backends.ModelBackend", "axes.backends.AxesStandaloneBackend"],
            "axes_enabled",
            "kexie.E006",
        ),
        ("AXES_ENABLED", False, "axes_enabled", "kexie.E006"),
        (
            "CONTENT_SECURITY_POLICY",
            {"DIRECTIVES": {"default-src": ["'self'", "https://cdn.example.com"]}},
            "csp_configured",
            "kexie.E007",
        ),
        (
            "CONTENT_SECURITY_POLICY",
            {"DIRECTIVES": {"default-src": ["'self'"], "script-src": ["'self'"]}},
            "csp_configured",
            "kexie.E007",
        ),
        ("KEXIE_AUDIT_RETENTION_DAYS", 90, "audit_retention", "kexie.E008"),
        (
            "CACHES",
            {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
            "shared_cache",
            "kexie.W002",
        ),
        ("KEXIE_BACKUP_DIR", "MEDIA_ROOT/backups", "backups_not_served", "kexie.E010"),
    ],
)
def test_each_deploy_check_fails_when_its_condition_breaks(
    settings, setting, value, check, check_id
):
    from kexie.core import checks

    function = getattr(checks, check)
    # given production-like settings, the check passes
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache"}}
    assert function(None) == []
    # when its condition is broken, it fails with its id
    if value == "MEDIA_ROOT/backups":
        value = Path(settings.MEDIA_ROOT) / "backups"
    setattr(settings, setting, value)
    assert _ids(function(None)) == {check_id}


def test_check_admin_restricted(monkeypatch):
    from django.contrib import admin

    from kexie.core import checks

    assert checks.admin_restricted(None) == []
    # when the restriction is lost (Django's own test: any active staff member)
    monkeypatch.setattr(
        admin.site,
        "has_permission",
        lambda request: request.user.is_active and request.user.is_staff,
    )
    assert _ids(checks.admin_restricted(None)) == {"kexie.E009"}
