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


# --- DEP-01: our own deployment checks (run by `manage.py check --deploy`) ----------------------

# The same names user_create refuses (kexie/accounts/services.py RESERVED_USERNAMES).
RESERVED_USERNAMES = ("admin", "administrator", "root", "superuser", "test")
SHARED_CACHE_REFUSED = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


def _query_users(build):
    """Run a query on the user table; None when the database or the table is not there yet
    (a check runs before `migrate` too)."""
    from django.contrib.auth import get_user_model
    from django.db import DatabaseError

    try:
        return build(get_user_model().objects)
    except DatabaseError:
        return None


@register(Tags.security, Tags.database, deploy=True)
def no_superuser(app_configs, **kwargs):
    """AC-05: nobody is a superuser in production; administrators hold roles."""
    count = _query_users(lambda users: users.filter(is_superuser=True).count())
    if count:
        return [
            Error(
                f"{count} superuser account(s) exist; production has none (AC-05).",
                hint="Give the person a role instead and clear is_superuser.",
                id="kexie.E002",
            )
        ]
    return []


@register(Tags.security, Tags.database, deploy=True)
def no_reserved_usernames(app_configs, **kwargs):
    """AUTH-01: no default or shared accounts."""
    from django.db.models.functions import Lower

    names = _query_users(
        lambda users: sorted(
            users.annotate(lower_name=Lower("username"))
            .filter(lower_name__in=RESERVED_USERNAMES)
            .values_list("username", flat=True)
        )
    )
    if names:
        return [
            Error(
                f"Shared or default accounts exist: {', '.join(names)} (AUTH-01).",
                hint="Disable or rename them; every login belongs to one person.",
                id="kexie.E003",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def argon2_first(app_configs, **kwargs):
    """AUTH-03: new and upgraded password hashes are Argon2id."""
    from django.contrib.auth.hashers import Argon2PasswordHasher
    from django.utils.module_loading import import_string

    hashers = list(settings.PASSWORD_HASHERS)
    try:
        first = import_string(hashers[0]) if hashers else None
    except ImportError:
        first = None
    if first is None or not issubclass(first, Argon2PasswordHasher):
        return [Error("PASSWORD_HASHERS must start with Argon2 (AUTH-03).", id="kexie.E004")]
    return []


@register(Tags.security, deploy=True)
def session_idle_timeout(app_configs, **kwargs):
    """AUTH-05 / SES-02: sessions end after at most 30 idle minutes, sliding."""
    if settings.SESSION_COOKIE_AGE > 30 * 60 or not settings.SESSION_SAVE_EVERY_REQUEST:
        return [
            Error(
                "SESSION_COOKIE_AGE must be at most 1800 seconds with "
                "SESSION_SAVE_EVERY_REQUEST = True (AUTH-05).",
                id="kexie.E005",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def axes_enabled(app_configs, **kwargs):
    """AUTH-04: django-axes counts failures before any other backend checks a password."""
    from django.utils.module_loading import import_string

    backends = list(settings.AUTHENTICATION_BACKENDS)
    try:
        from axes.backends import AxesStandaloneBackend

        first_is_axes = bool(backends) and issubclass(
            import_string(backends[0]), AxesStandaloneBackend
        )
    except ImportError:
        first_is_axes = False
    if (
        not getattr(settings, "AXES_ENABLED", True)
        or "axes" not in settings.INSTALLED_APPS
        or "axes.middleware.AxesMiddleware" not in settings.MIDDLEWARE
        or not first_is_axes
    ):
        return [
            Error(
                "django-axes must be installed, enabled, in MIDDLEWARE and the first "
                "authentication backend (AUTH-04).",
                id="kexie.E006",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def csp_configured(app_configs, **kwargs):
    """WEB-05 / PI-10: only our own origin, and nonces instead of inline scripts."""
    from csp.constants import NONCE, SELF

    policy = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
    directives = policy.get("DIRECTIVES", {}) if isinstance(policy, dict) else {}
    script_src = list(directives.get("script-src", directives.get("default-src", [])))
    problems = []
    if "csp.middleware.CSPMiddleware" not in settings.MIDDLEWARE:
        problems.append("CSPMiddleware is not installed")
    if list(directives.get("default-src", [])) != [SELF]:
        problems.append("default-src is not exactly 'self'")
    if NONCE not in script_src:
        problems.append("script-src has no nonce")
    if any(source in script_src for source in ("'unsafe-inline'", "'unsafe-eval'", "*")):
        problems.append("script-src allows inline or any scripts")
    if problems:
        return [Error(f"Content-Security-Policy: {'; '.join(problems)} (WEB-05).", id="kexie.E007")]
    return []


@register(Tags.security, deploy=True)
def audit_retention(app_configs, **kwargs):
    """AUD-05: audit events are kept for at least 180 days."""
    days = getattr(settings, "KEXIE_AUDIT_RETENTION_DAYS", 365)
    if not isinstance(days, int) or days < 180:
        return [Error("KEXIE_AUDIT_RETENTION_DAYS must be at least 180 (AUD-05).", id="kexie.E008")]
    return []


@register(Tags.caches, deploy=True)
def shared_cache(app_configs, **kwargs):
    """API-04: rate limits live in a cache every worker process shares."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if not backend or backend in SHARED_CACHE_REFUSED:
        return [
            Warning(
                "The default cache is per process; rate limits would not be shared (API-04).",
                hint="Use the database cache (production settings) and run createcachetable.",
                id="kexie.W002",
            )
        ]
    return []


@register(Tags.security, Tags.admin, deploy=True)
def admin_restricted(app_configs, **kwargs):
    """AC-07: Django admin refuses staff accounts that hold no administrator role."""
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - importing the URLconf applies the restriction
    probe = get_user_model()(username="kexie-check", is_active=True, is_staff=True)
    probe._kexie_assignments = []  # no roles, and no database query to find that out
    request = RequestFactory().get("/django-admin/")
    request.user = probe
    if admin.site.has_permission(request):
        return [
            Error(
                "Django admin lets in staff without an administrator role (AC-07).",
                hint="kexie.urls must call restrict_admin_site(admin.site).",
                id="kexie.E009",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def backups_not_served(app_configs, **kwargs):
    """BAK-01: backups never lie below a directory served over HTTP."""
    from pathlib import Path

    backup_dir = Path(getattr(settings, "KEXIE_BACKUP_DIR", "")).resolve()
    served = [Path(p).resolve() for p in (settings.MEDIA_ROOT, settings.STATIC_ROOT) if p]
    if any(backup_dir == root or root in backup_dir.parents for root in served):
        return [
            Error(
                "KEXIE_BACKUP_DIR lies below MEDIA_ROOT or STATIC_ROOT (BAK-01).",
                id="kexie.E010",
            )
        ]
    return []
