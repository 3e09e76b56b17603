"""Production settings: every secret must come from the environment; nothing is generated."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ImproperlyConfigured(f"Set the environment variable {name}.")
    return value


SECRET_KEY = _required("SECRET_KEY")
KEXIE_FIELD_KEYS = _required("KEXIE_FIELD_KEYS")
KEXIE_BLIND_INDEX_KEY = _required("KEXIE_BLIND_INDEX_KEY")
KEXIE_AUDIT_KEY = _required("KEXIE_AUDIT_KEY")
if len({SECRET_KEY, KEXIE_FIELD_KEYS, KEXIE_BLIND_INDEX_KEY, KEXIE_AUDIT_KEY}) != 4:
    raise ImproperlyConfigured("SECRET_KEY and the field, index and audit keys must all differ.")

DEBUG = False
KEXIE_DEMO = False
KEXIE_REQUIRE_2FA = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Harmless on an intranet host (nothing is submitted anywhere) and keeps check --deploy clean.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
# API-04 / DEP-01: rate limits and lock-outs must be shared by every gunicorn worker, so no
# per-process LocMemCache. The database cache needs no extra service; create its table once
# per database with `manage.py createcachetable` (after `migrate`, idempotent). Several app
# servers on one database share it too; Redis can take its place later without code changes.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": os.environ.get("KEXIE_CACHE_TABLE", "kexie_cache"),
    }
}
