"""Settings shared by every environment. Every value that differs per deployment comes from
the environment; see docs/operations.md for the full list."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("KEXIE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "django_tables2",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "kexie.core",
    "kexie.accounts",
    "kexie.orgs",
    "kexie.people",
    "kexie.activities",
    "kexie.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # AUTH-07: request.user.is_verified()
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "kexie.core.middleware.LoginRequiredMiddleware",
    "kexie.core.middleware.NoStoreMiddleware",
    "kexie.core.audit.AuditContextMiddleware",
    "kexie.accounts.middleware.SessionPolicyMiddleware",  # SES-03/04: lifetime, ended sessions
    "kexie.accounts.middleware.AccountGateMiddleware",  # AUTH-02/07: 2FA and password gates
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kexie.urls"
WSGI_APPLICATION = "kexie.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "kexie" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "kexie.core.context_processors.kexie",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# REL-01: SQLite in WAL mode, IMMEDIATE transactions, a busy timeout, synchronous=FULL and
# secure_delete, set on every new connection by ``init_command``.
# A 32 MB page cache per connection (SQLite's default is 2 MB): with a million persons the
# indexes no longer fit the default and every bulk write re-reads pages (docs/performance.md).
SQLITE_DEFAULT = f"sqlite:///{VAR_DIR / 'kexie.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", SQLITE_DEFAULT))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=FULL;"
                "PRAGMA secure_delete=ON;"
                "PRAGMA foreign_keys=ON;"
                "PRAGMA busy_timeout=20000;"
                "PRAGMA cache_size=-32768;"
            ),
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # AUTH-04: lock-out first
    "django.contrib.auth.backends.ModelBackend",
]
# AUTH-04: 5 failures per username + IP lock that pair for 30 minutes.
# The numbers are security parameters (kexie.core.parameters) the 安全管理员 can change;
# these settings are their defaults, the callables what django-axes asks.
KEXIE_AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
KEXIE_AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "30")))
AXES_FAILURE_LIMIT = "kexie.core.parameters.axes_failure_limit"
AXES_COOLOFF_TIME = "kexie.core.parameters.axes_cooloff_time"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# One generic 429 page for every lock-out, whether or not the username exists (AUTH-11).
AXES_LOCKOUT_CALLABLE = "kexie.accounts.views.lockout_response"
# Usernames are case-insensitive (AUTH-01): count EMIN_ADMIN and emin_admin as one username.
AXES_USERNAME_CALLABLE = "kexie.accounts.security.axes_username"
# The client's address as the audit log sees it (trusted proxies only), not the proxy's.
AXES_CLIENT_IP_CALLABLE = "kexie.core.audit.client_ip"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# AUTH-02 policy numbers; the validators and the password gate read them when they run.
KEXIE_PASSWORD_MIN_LENGTH = int(os.environ.get("KEXIE_PASSWORD_MIN_LENGTH", "8"))
KEXIE_PASSWORD_HISTORY = int(os.environ.get("KEXIE_PASSWORD_HISTORY", "5"))
KEXIE_PASSWORD_MAX_AGE_DAYS = int(os.environ.get("KEXIE_PASSWORD_MAX_AGE_DAYS", "90"))
# SES-03: a login ends after this many hours however active it is.
KEXIE_SESSION_MAX_HOURS = int(os.environ.get("KEXIE_SESSION_MAX_HOURS", "12"))
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "kexie.accounts.validators.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "kexie.accounts.validators.CharacterClassValidator"},
    {"NAME": "kexie.accounts.validators.PersonalDataValidator"},
    {"NAME": "kexie.accounts.validators.PasswordHistoryValidator"},
]
SESSION_COOKIE_AGE = 30 * 60  # AUTH-05: 30 minutes idle, sliding
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "kexie" / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files (our own copies of the npm packages; no CDN) -------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# `make install` copies the few files we use out of node_modules into vendor/ (scripts/vendor.sh).
STATICFILES_DIRS = [
    BASE_DIR / "kexie" / "static",
    ("vendor", BASE_DIR / "vendor"),
]
WHITENOISE_MANIFEST_STRICT = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"

# --- Uploads (WEB-08, XLS-02) ----------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
KEXIE_MAX_UPLOAD_BYTES = int(os.environ.get("KEXIE_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024)))
KEXIE_IMPORT_MAX_ROWS = int(os.environ.get("KEXIE_IMPORT_MAX_ROWS", "200000"))
KEXIE_IMPORT_BACKGROUND_ROWS = int(os.environ.get("KEXIE_IMPORT_BACKGROUND_ROWS", "500"))
# Files larger than this are checked by the task worker (with a progress bar), not in the request.
KEXIE_IMPORT_BACKGROUND_BYTES = int(os.environ.get("KEXIE_IMPORT_BACKGROUND_BYTES", "262144"))
# Never served: uploads waiting for the worker live here and are deleted after use.
KEXIE_PRIVATE_DIR = Path(os.environ.get("KEXIE_PRIVATE_DIR", VAR_DIR / "private"))
# BAK-01: `manage.py backup` and the backup page write here; never below MEDIA_ROOT or STATIC_ROOT.
KEXIE_BACKUP_DIR = Path(os.environ.get("KEXIE_BACKUP_DIR", VAR_DIR / "backups"))

# --- Background jobs (django-tasks, database backend) ----------------------------------------
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# --- Security headers (WEB-05) ---------------------------------------------------------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Addresses of our own reverse proxies (nginx); only they may tell us the client's address.
KEXIE_TRUSTED_PROXIES = env_list("KEXIE_TRUSTED_PROXIES", "")

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- Kexie ------------------------------------------------------------------------------------
KEXIE_INSTANCE_NAME = os.environ.get("KEXIE_INSTANCE_NAME", "塔城地区科协")
KEXIE_DEMO = env_bool("KEXIE_DEMO", False)
KEXIE_REQUIRE_2FA = env_bool("KEXIE_REQUIRE_2FA", True)
OTP_TOTP_ISSUER = KEXIE_INSTANCE_NAME  # the name authenticator apps show for the account
KEXIE_DORMANT_DAYS = int(os.environ.get("KEXIE_DORMANT_DAYS", "90"))  # AC-08
KEXIE_WORKER_STALE_SECONDS = int(os.environ.get("KEXIE_WORKER_STALE_SECONDS", "120"))
KEXIE_AUDIT_RETENTION_DAYS = int(os.environ.get("KEXIE_AUDIT_RETENTION_DAYS", "365"))  # AUD-05
KEXIE_SMS_BACKEND = os.environ.get("KEXIE_SMS_BACKEND", "kexie.people.sms.ConsoleBackend")  # PI-08

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"pii": {"()": "kexie.core.masking.PiiLogFilter"}},  # AUD-03
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["pii"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
# AUD-03 / PI-05: error reports mask personal data and hide secrets.
DEFAULT_EXCEPTION_REPORTER_FILTER = "kexie.core.masking.PiiExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "kexie.core.masking.PiiExceptionReporter"
