"""DEP-01 (part): production settings pass Django's deploy checks and refuse missing keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
