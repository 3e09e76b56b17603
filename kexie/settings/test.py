"""Settings for the test suite: fixed synthetic keys, a fast hasher, plain static storage."""

from .base import *  # noqa: F403

SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdefghijklmnop"  # noqa: S105
KEXIE_FIELD_KEYS = "t1:dGVzdC1maWVsZC1rZXktMzItYnl0ZXMtbG9uZy0wMDA="
KEXIE_BLIND_INDEX_KEY = "dGVzdC1ibGluZC1pbmRleC1rZXktMzItYnl0ZXMtbG9u"
KEXIE_AUDIT_KEY = "dGVzdC1hdWRpdC1rZXktMzItYnl0ZXMtbG9uZy0wMDAw"  # noqa: S105

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
KEXIE_DEMO = False
# Tests log in with force_login; the 2FA tests switch it on with override_settings.
KEXIE_REQUIRE_2FA = False
KEXIE_IMPORT_BACKGROUND_ROWS = 50
KEXIE_SMS_BACKEND = "kexie.people.sms.LocmemBackend"
LANGUAGE_CODE = "zh-hans"

# Live-server request threads must not keep PostgreSQL connections open past their request,
# or the test database cannot be dropped at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0
