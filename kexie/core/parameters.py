"""Run-time parameters: a typed registry, one read path (``get_param``) and one write path.

Every parameter has a default that comes from the settings (so a deployment that never opens
the parameter pages behaves exactly as its environment says). A value saved by an
administrator in ``core.Parameter`` overrides it. Reads are cached in the process for at most
``CACHE_SECONDS``; a write clears this process's cache at once, other processes pick the new
value up within that time.

System parameters belong to the 系统管理员 (``Action.MANAGE_PARAMETERS``), security parameters to
the 安全管理员 (``Action.SECURITY_PARAMETERS``, AC-06). Parameters are instance-wide, so only a
holder of the right at the top of the organisation tree may change them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .audit import audit_log
from .models import Parameter

logger = logging.getLogger(__name__)

CACHE_SECONDS = 60
SYSTEM = "system"
SECURITY = "security"
MIB = 1024 * 1024


@dataclass(frozen=True)
class ParameterSpec:
    """What a parameter is: its category, Python type, bounds and where its default comes from.

    ``setting`` names the Django setting that gives the default (``fallback`` when the setting
    does not exist); ``from_setting`` converts the setting's value into the parameter's unit.
    For ``str`` parameters ``min`` / ``max`` bound the length.
    """

    category: str
    type: type
    label: Any
    setting: str | None = None
    fallback: Any = None
    min: int | None = None
    max: int | None = None
    help_text: Any = ""
    from_setting: Callable[[Any], Any] | None = None


def _minutes(value: Any) -> int:
    if isinstance(value, timedelta):
        return int(value.total_seconds() // 60)
    return int(value) * 60  # axes reads a bare number as hours


PARAMETERS: dict[str, ParameterSpec] = {
    # --- 系统参数 (系统管理员) ---------------------------------------------------------------
    "instance_name": ParameterSpec(
        category=SYSTEM,
        type=str,
        label=_("Instance name"),
        setting="KEXIE_INSTANCE_NAME",
        fallback="塔城地区科协",
        min=1,
        max=60,
        help_text=_("Shown in the page header."),
    ),
    "max_upload_mb": ParameterSpec(
        category=SYSTEM,
        type=int,
        label=_("Upload size limit (MB)"),
        setting="KEXIE_MAX_UPLOAD_BYTES",
        fallback=20,
        min=1,
        max=200,
        from_setting=lambda value: max(1, int(value) // MIB),
    ),
    "import_background_rows": ParameterSpec(
        category=SYSTEM,
        type=int,
        label=_("Imports with more rows than this run in the background"),
        setting="KEXIE_IMPORT_BACKGROUND_ROWS",
        fallback=500,
        min=10,
        max=100_000,
    ),
    "import_max_rows": ParameterSpec(
        category=SYSTEM,
        type=int,
        label=_("Largest import (rows)"),
        setting="KEXIE_IMPORT_MAX_ROWS",
        fallback=200_000,
        min=100,
        max=1_000_000,
    ),
    "registration_review_levels": ParameterSpec(
        category=SYSTEM,
        type=int,
        label=_("Review levels for registrations (1 county, 2 county then prefecture)"),
        setting="KEXIE_REGISTRATION_REVIEW_LEVELS",
        fallback=1,
        min=1,
        max=2,
    ),
    "privacy_notice_version": ParameterSpec(
        category=SYSTEM,
        type=str,
        label=_("Version of the privacy notice for self-registration"),
        setting="KEXIE_PRIVACY_NOTICE_VERSION",
        fallback="2026-12",
        min=1,
        max=20,
        help_text=_("Change it when the notice text changes: people are asked to consent again."),
    ),
    # --- 安全参数 (安全管理员); bounds keep every value inside SECURITY.md -----------------------
    "password_max_age_days": ParameterSpec(
        category=SECURITY,
        type=int,
        label=_("Staff passwords expire after (days)"),
        setting="KEXIE_PASSWORD_MAX_AGE_DAYS",
        fallback=90,
        min=1,
        max=90,
        help_text=_("AUTH-02: at most 90 days."),
    ),
    "password_min_length": ParameterSpec(
        category=SECURITY,
        type=int,
        label=_("Shortest password (characters)"),
        setting="KEXIE_PASSWORD_MIN_LENGTH",
        fallback=8,
        min=8,
        max=64,
        help_text=_("AUTH-02: at least 8; 12 recommended."),
    ),
    "password_history_count": ParameterSpec(
        category=SECURITY,
        type=int,
        label=_("Earlier passwords that may not be reused"),
        setting="KEXIE_PASSWORD_HISTORY",
        fallback=5,
        min=5,
        max=24,
        help_text=_("AUTH-02: at least the last 5."),
    ),
    "session_idle_minutes": ParameterSpec(
        category=SECURITY,
        type=int,
        label=_("Log out after inactivity (minutes)"),
        setting="SESSION_COOKIE_AGE",
        fallback=30,
        min=5,
        max=30,
        help_text=_("AUTH-05: at most 30 minutes."),
        from_setting=lambda seconds: max(1, int(seconds) // 60),
    ),
    "session_max_hours": ParameterSpec(
        category=SECURITY,
        type=int,
        label=_("Longest session (hours)"),
        setting="KEXIE_SESSION_MAX_HOURS",
        fallback=12,
        min=1,
        max=24,
        help_text=_("SES-03: a session ends after this time even when in use."),
    ),
    "dormant_days": ParameterSpec(
        category=SECURITY,
        type=int,
        label=_("Disable staff accounts unused for (days)"),
        setting="KEXIE_DORMANT_DAYS",
        fallback=90,
        min=7,
        max=90,
        help_text=_("AC-08: at most 90 days."),
    ),
    "lockout_limit": ParameterSpec(
        category=SECURITY,
        type=int,
        label=_("Failed logins before a lock-out"),
        setting="KEXIE_AXES_FAILURE_LIMIT",
        fallback=5,
        min=3,
        max=5,
        help_text=_("AUTH-04: at most 5."),
    ),
    "lockout_minutes": ParameterSpec(
        category=SECURITY,
        type=int,
        label=_("Lock-out duration (minutes)"),
        setting="KEXIE_AXES_COOLOFF_TIME",
        fallback=30,
        min=30,
        max=24 * 60,
        help_text=_("AUTH-04: at least 30 minutes."),
        from_setting=_minutes,
    ),
}

CATEGORY_ACTIONS = {SYSTEM: "manage_parameters", SECURITY: "security_parameters"}

_cache_lock = threading.Lock()
_cache: dict[str, Any] = {"rows": None, "loaded_at": 0.0}


def parameters_cache_clear() -> None:
    with _cache_lock:
        _cache["rows"] = None
        _cache["loaded_at"] = 0.0


def _load_rows() -> dict[str, Any]:
    try:
        if connection.in_atomic_block:
            # A savepoint, so a missing table does not break the caller's transaction.
            with transaction.atomic():
                return dict(Parameter.objects.values_list("key", "value"))
        return dict(Parameter.objects.values_list("key", "value"))
    except DatabaseError:
        # Before ``migrate`` (or with the database away) the settings are the parameters.
        return {}


def _rows() -> dict[str, Any]:
    now = time.monotonic()
    with _cache_lock:
        rows, loaded_at = _cache["rows"], _cache["loaded_at"]
    if rows is not None and now - loaded_at < CACHE_SECONDS:
        return rows
    rows = _load_rows()
    with _cache_lock:
        _cache["rows"], _cache["loaded_at"] = rows, now
    return rows


def param_default(key: str) -> Any:
    """The value from the settings (what applies when nobody saved one)."""
    spec = PARAMETERS[key]
    value = getattr(settings, spec.setting, None) if spec.setting else None
    if value is None or callable(value):
        return spec.fallback
    if spec.type is not str and isinstance(value, str) and "." in value:
        return spec.fallback  # a dotted path to a callable (django-axes), e.g. ours below
    try:
        value = spec.from_setting(value) if spec.from_setting else spec.type(value)
        return validate_value(key, value)
    except (TypeError, ValueError, ValidationError):
        logger.warning("setting %s does not fit parameter %s; using %r", spec.setting, key, value)
        return spec.fallback


def get_param(key: str) -> Any:
    """The current value of parameter ``key``: the saved one if valid, else the setting's."""
    if key not in PARAMETERS:
        raise KeyError(key)  # an unknown key is a programming error
    rows = _rows()
    if key in rows:
        try:
            return validate_value(key, rows[key])
        except ValidationError:
            logger.warning(
                "stored parameter %s=%r is out of bounds; using the default", key, rows[key]
            )
    return param_default(key)


def param_is_saved(key: str) -> bool:
    return key in _rows()


def validate_value(key: str, raw: Any) -> Any:
    """Coerce ``raw`` (a form string or a stored JSON value) to the parameter's type and bounds."""
    spec = PARAMETERS[key]
    if spec.type is bool:
        if isinstance(raw, str):
            raw = raw.strip().lower() in {"1", "true", "yes", "on"}
        value: Any = bool(raw)
    elif spec.type is int:
        if isinstance(raw, bool):
            raise ValidationError(gettext("Enter a whole number."), code="invalid")
        try:
            value = int(str(raw).strip())
        except (TypeError, ValueError):
            raise ValidationError(gettext("Enter a whole number."), code="invalid") from None
        if spec.min is not None and value < spec.min:
            raise ValidationError(
                gettext("The smallest allowed value is %(min)s.") % {"min": spec.min},
                code="min_value",
            )
        if spec.max is not None and value > spec.max:
            raise ValidationError(
                gettext("The largest allowed value is %(max)s.") % {"max": spec.max},
                code="max_value",
            )
    else:
        value = str(raw).strip()
        if spec.min is not None and len(value) < spec.min:
            raise ValidationError(gettext("This value is too short."), code="min_length")
        if spec.max is not None and len(value) > spec.max:
            raise ValidationError(
                gettext("At most %(max)s characters.") % {"max": spec.max}, code="max_length"
            )
    return value


def parameters_of(category: str) -> list[str]:
    return [key for key, spec in PARAMETERS.items() if spec.category == category]


def holds_instance_wide(user, action: str) -> bool:
    """Whether ``user`` holds ``action`` at the top of the organisation tree (instance-wide).

    Parameters and backups concern the whole instance (every county's data), so a right held
    only over a county's subtree is not enough.
    """
    from kexie.accounts.scope import scope_paths
    from kexie.orgs.tree import PATH_SEGMENT

    return any(len(path) == PATH_SEGMENT for path in scope_paths(user, action))


@transaction.atomic
def parameter_set(*, actor, key: str, value: Any) -> bool:
    """Save parameter ``key``; audited as ``parameter.change``. Returns whether it changed
    (a value equal to the one in force is not saved).

    ``actor=None`` is the trusted operator (a management command).
    """
    spec = PARAMETERS.get(key)
    if spec is None:
        raise ValidationError({"key": gettext("Unknown parameter.")})
    if actor is not None and not holds_instance_wide(actor, CATEGORY_ACTIONS[spec.category]):
        raise PermissionDenied
    try:
        value = validate_value(key, value)
    except ValidationError as exc:
        raise ValidationError({key: exc.messages}) from exc
    row = Parameter.objects.select_for_update().filter(key=key).first()
    parameters_cache_clear()  # compare with what applies now, not with a cached value
    old = get_param(key)
    if value == old:
        return False  # unchanged: no row is written, so the setting keeps applying
    if row is None:
        row = Parameter(key=key, category=spec.category, value=value, updated_by=actor)
        row.full_clean()
        row.save(force_insert=True)
    else:
        row.value, row.updated_by = value, actor
        row.full_clean()
        row.save(update_fields=["value", "updated_by", "updated_at"])
    audit_log(
        actor=actor,
        event_type="parameter.change",
        obj=row,
        details={"key": key, "category": spec.category, "old": old, "new": value},
    )
    parameters_cache_clear()
    transaction.on_commit(parameters_cache_clear)
    return True


# Callables for settings that accept them (django-axes), so the parameter becomes the source:
#   AXES_FAILURE_LIMIT = "kexie.core.parameters.axes_failure_limit"
#   AXES_COOLOFF_TIME = "kexie.core.parameters.axes_cooloff_time"
def axes_failure_limit(request=None, credentials=None) -> int:
    return get_param("lockout_limit")


def axes_cooloff_time(request=None) -> timedelta:
    return timedelta(minutes=get_param("lockout_minutes"))


def max_upload_bytes() -> int:
    """The upload limit in bytes: the saved parameter (MB) if any, else the exact setting."""
    if param_is_saved("max_upload_mb"):
        return get_param("max_upload_mb") * MIB
    return int(settings.KEXIE_MAX_UPLOAD_BYTES)
