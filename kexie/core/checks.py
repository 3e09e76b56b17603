"""System checks of Kexie's own (run by ``manage.py check``; deploy ones by ``--deploy``)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def keys_are_distinct(app_configs, **kwargs):
    keys = [
        settings.SECRET_KEY,
        getattr(settings, "KEXIE_FIELD_KEYS", ""),
        getattr(settings, "KEXIE_BLIND_INDEX_KEY", ""),
        getattr(settings, "KEXIE_AUDIT_KEY", ""),
    ]
    if len(set(keys)) != len(keys) or not all(keys):
        return [
            Error(
                "SECRET_KEY and the field, index and audit keys must be set and distinct.",
                id="kexie.E001",
            )
        ]
    return []


@register(Tags.database, deploy=True)
def sqlite_is_configured_for_concurrency(app_configs, **kwargs):
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.sqlite3":
        return []
    options = db.get("OPTIONS", {})
    init = options.get("init_command", "")
    missing = [
        pragma
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "secure_delete=ON")
        if pragma not in init
    ]
    if options.get("transaction_mode") != "IMMEDIATE" or missing:
        return [Warning("SQLite is not configured per REL-01.", id="kexie.W001")]
    return []
