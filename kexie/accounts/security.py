"""Login security: passwords (AUTH-02), lock-outs (AUTH-04), the second factor (AUTH-07) and
login sessions (SES-01..05).

Services other parts of Kexie call:

- ``user_set_password(*, actor, user, raw)`` — the only way a password is set: validated,
  remembered for the history rule, ``password_changed_at`` stamped, other sessions ended.
- ``user_sessions_end(*, user, except_session_key=None, reason)`` — ends a user's sessions;
  the next request of each is logged out (for disabling an account, role changes, ...).
- ``account_unlock(*, actor, username)`` — lifts an AUTH-04 lock-out (安全管理员).
- ``locked_usernames()`` — the usernames locked out right now, for the unlock page.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from kexie.core.audit import audit_log, client_ip
from kexie.core.parameters import axes_cooloff_time, get_param

from .models import PasswordHistory, RecoveryCode, User, UserSession
from .roles import Action
from .scope import has_action

# --- passwords (AUTH-02, AUTH-10) ---------------------------------------------------------------


@transaction.atomic
def user_set_password(
    *,
    actor,
    user: User,
    raw: str,
    event_type: str | None = "account.password_change",
    keep_session_key: str | None = None,
) -> None:
    """Set ``user``'s password to ``raw`` after checking every password rule.

    The new hash joins the password history (only as many entries as the history rule needs
    are kept), ``password_changed_at`` restarts the expiry clock and ``must_change_password``
    is cleared. Every session of the user except ``keep_session_key`` ends. One audit event of
    ``event_type`` is written; pass ``None`` when the caller writes its own event for the same
    change (``user_create``).
    """
    validate_password(raw, user)
    latest = (
        PasswordHistory.objects.filter(user=user)
        .order_by("-created_at", "-pk")
        .values_list("password", flat=True)
        .first()
    )
    if user.has_usable_password() and latest != user.password:
        # The old password was set some other way (create_user, Django admin): remember it too.
        PasswordHistory.objects.create(user=user, password=user.password)
    user.set_password(raw)
    user.password_changed_at = timezone.now()
    user.must_change_password = False
    user.save(update_fields=["password", "password_changed_at", "must_change_password"])
    PasswordHistory.objects.create(user=user, password=user.password)
    keep = max(get_param("password_history_count"), 1)
    stale = list(
        PasswordHistory.objects.filter(user=user)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)[keep:]
    )
    if stale:
        PasswordHistory.objects.filter(pk__in=stale).delete()
    user_sessions_end(
        user=user, except_session_key=keep_session_key, reason="password_change", actor=actor
    )
    if event_type:
        audit_log(actor=actor, event_type=event_type, obj=user)


def password_change_required(user) -> bool:
    """Whether ``user`` must change their password before anything else (AUTH-02, AUTH-10).

    Every login is a staff login today; volunteer self-service accounts (AUTH-08) will not
    expire. An account that never recorded a change counts from the day it was created.
    """
    if getattr(user, "must_change_password", False):
        return True
    max_age = get_param("password_max_age_days")
    if max_age <= 0:
        return False
    changed = user.password_changed_at or user.date_joined
    return timezone.now() - changed > timedelta(days=max_age)


# --- lock-outs (AUTH-04) -------------------------------------------------------------------------


def axes_username(request, credentials: dict | None = None) -> str:
    """The username axes counts failures for: usernames are case-insensitive (AUTH-01), so
    ``EMIN_ADMIN`` and ``emin_admin`` share one counter and one lock."""
    if credentials:
        value = credentials.get("username")
    else:
        value = getattr(request, "POST", {}).get("username")
    return (value or "").strip().lower()


def on_user_locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    """Receiver of axes' ``user_locked_out``: audit the moment a lock starts, once.

    Axes sends the signal again for every attempt while the lock lasts; only the attempt that
    reaches the limit writes ``auth.locked_out`` (the later ones are ``auth.login_failed``).
    """
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None or failures != get_failure_limit(request, None):
        return
    audit_log(
        actor=None,
        event_type="auth.locked_out",
        object_type="accounts.user",
        object_repr=(username or "")[:150],
        outcome="denied",
        details={
            "failures": failures,
            "minutes": int(axes_cooloff_time().total_seconds() // 60),
        },
    )


def locked_usernames() -> list[dict]:
    """The usernames locked out now, newest first: ``username``, ``failures``, ``last_attempt``.

    For the 安全管理员's unlock page. No IP addresses: the page does not need them.
    """
    since = timezone.now() - axes_cooloff_time()
    # A lock is per username + address (AXES_LOCKOUT_PARAMETERS); one row per username here.
    rows = (
        AccessAttempt.objects.filter(attempt_time__gte=since)
        .values("username", "ip_address")
        .annotate(failures=Sum("failures_since_start"), last_attempt=Max("attempt_time"))
        .filter(failures__gte=get_param("lockout_limit"))
        .order_by()
    )
    locked: dict[str, dict] = {}
    for row in rows:
        entry = locked.setdefault(
            row["username"],
            {"username": row["username"], "failures": 0, "last_attempt": row["last_attempt"]},
        )
        entry["failures"] = max(entry["failures"], row["failures"])
        entry["last_attempt"] = max(entry["last_attempt"], row["last_attempt"])
    return sorted(locked.values(), key=lambda entry: entry["last_attempt"], reverse=True)


@transaction.atomic
def account_unlock(*, actor, username: str) -> int:
    """Lift the lock-out of ``username`` from every address (AUTH-04); audited ``auth.unlock``.

    Needs ``Action.UNLOCK_ACCOUNTS`` (安全管理员). Works for usernames that do not exist too:
    axes locks what was typed. Returns the number of cleared attempt records.
    """
    if actor is None or not has_action(actor, Action.UNLOCK_ACCOUNTS):
        raise PermissionDenied
    normalised = username.strip().lower()
    cleared = axes_reset(username=normalised)
    audit_log(
        actor=actor,
        event_type="auth.unlock",
        object_type="accounts.user",
        object_repr=normalised[:150],
        details={"cleared": cleared},
    )
    return cleared


# --- second factor (AUTH-07) ---------------------------------------------------------------------

RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_LENGTH = 10
# No 0/o, 1/l/i: codes are copied by hand from paper.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
PENDING_KEY_SESSION_KEY = "kexie_otp_pending_key"


@dataclass(frozen=True)
class CodeCheck:
    """The answer to one code: ``method`` is ``"totp"`` or ``"recovery_code"`` when it passed."""

    ok: bool
    method: str = ""
    throttled: bool = False
    device: TOTPDevice | None = field(default=None, compare=False)


def otp_device_of(user) -> TOTPDevice | None:
    if user is None or not user.is_authenticated:
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def user_has_second_factor(user) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def otp_pending_key(session) -> str:
    """The secret offered on the enrolment page, kept in the session until it is confirmed."""
    key = session.get(PENDING_KEY_SESSION_KEY)
    if not key:
        key = random_hex(20)
        session[PENDING_KEY_SESSION_KEY] = key
    return key


def _normalise_code(token: str) -> str:
    return "".join(token.split()).replace("-", "").lower()


def _looks_like_recovery_code(token: str) -> bool:
    return len(token) == RECOVERY_CODE_LENGTH and all(c in RECOVERY_ALPHABET for c in token)


def recovery_codes_generate(*, user: User) -> list[str]:
    """Replace ``user``'s recovery codes with ten new ones; only their hashes are stored.

    The plain codes are returned to be shown once and never again.
    """
    RecoveryCode.objects.filter(user=user).delete()
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, code_hash=make_password(code)) for code in codes]
    )
    half = RECOVERY_CODE_LENGTH // 2
    return [f"{code[:half]}-{code[half:]}" for code in codes]


def recovery_codes_left(user) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


@dataclass(frozen=True)
class Enrolment:
    ok: bool
    throttled: bool = False
    device: TOTPDevice | None = None
    recovery_codes: list[str] = field(default_factory=list)


def otp_enrol(
    *, user: User, key: str, token: str, keep_session_key: str | None = None
) -> Enrolment:
    """Confirm the authenticator app holding ``key`` with one of its codes.

    On success the new device replaces any earlier one, ten new recovery codes are made,
    ``auth.otp_enrol`` is written and, when a device was replaced, the user's other sessions
    end. A wrong code counts towards django-otp's throttle and writes
    ``auth.otp_verify_failed``; nothing is raised, so the failure is committed.
    """
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False, key=key)
            .first()
        )
        if device is None:
            device = TOTPDevice(user=user, name="TOTP", key=key, confirmed=False)
            device.full_clean(exclude=["user"])
            device.save()
        allowed, _info = device.verify_is_allowed()
        if not allowed:
            _audit_code_failure(user, purpose="enrol", throttled=True)
            return Enrolment(ok=False, throttled=True)
        if not device.verify_token(_normalise_code(token)):
            _audit_code_failure(user, purpose="enrol")
            return Enrolment(ok=False)
        replaced, _ = TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = recovery_codes_generate(user=user)
        audit_log(
            actor=user, event_type="auth.otp_enrol", obj=user, details={"replaced": bool(replaced)}
        )
        if replaced:
            user_sessions_end(
                user=user, except_session_key=keep_session_key, reason="otp_enrol", actor=user
            )
    return Enrolment(ok=True, device=device, recovery_codes=codes)


def _audit_code_failure(user, *, purpose: str, throttled: bool = False) -> None:
    audit_log(
        actor=user,
        event_type="auth.otp_verify_failed",
        obj=user,
        outcome="denied" if throttled else "failure",
        details={"purpose": purpose, "throttled": throttled},
    )


def otp_check(*, user: User, token: str, purpose: str = "login") -> CodeCheck:
    """Check a code from the authenticator app or one of the recovery codes.

    TOTP codes are single use (the device's ``last_t`` refuses a code of a time step already
    used) and every try passes django-otp's throttle (``verify_is_allowed``: 1, 2, 4 ... s
    after successive failures); recovery codes share that throttle and work once each.
    Failures write ``auth.otp_verify_failed``, a recovery code ``auth.recovery_code_used``.
    """
    code = _normalise_code(token)
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=True)
            .order_by("pk")
            .first()
        )
        if device is None:
            return CodeCheck(ok=False)
        allowed, _info = device.verify_is_allowed()
        if not allowed:
            _audit_code_failure(user, purpose=purpose, throttled=True)
            return CodeCheck(ok=False, throttled=True)
        if code.isdigit():
            if device.verify_token(code):  # resets or increments the throttle itself
                return CodeCheck(ok=True, method="totp", device=device)
        else:
            used = _recovery_code_use(user, code) if _looks_like_recovery_code(code) else False
            if used:
                device.throttle_reset()
                audit_log(
                    actor=user,
                    event_type="auth.recovery_code_used",
                    obj=user,
                    details={"purpose": purpose, "left": recovery_codes_left(user)},
                )
                return CodeCheck(ok=True, method="recovery_code", device=device)
            device.throttle_increment()
        _audit_code_failure(user, purpose=purpose)
        return CodeCheck(ok=False)


def _recovery_code_use(user, code: str) -> bool:
    for candidate in RecoveryCode.objects.filter(user=user, used_at__isnull=True):
        if check_password(code, candidate.code_hash):
            # The conditional update makes a code usable once even under concurrent use.
            return bool(
                RecoveryCode.objects.filter(pk=candidate.pk, used_at__isnull=True).update(
                    used_at=timezone.now()
                )
            )
    return False


def account_gate(user) -> str | None:
    """What a logged-in ``user`` must do first: ``"verify"`` (code step), ``"enrol"``
    (set up the second factor, when ``KEXIE_REQUIRE_2FA``), ``"password"`` (expired or
    first password) or ``None``."""
    verified = getattr(user, "is_verified", None)
    if not (verified and verified()):
        if user_has_second_factor(user):
            return "verify"
        if settings.KEXIE_REQUIRE_2FA:
            return "enrol"
    if password_change_required(user):
        return "password"
    return None


# --- sessions (SES-01..05) -----------------------------------------------------------------------

LOGIN_AT_SESSION_KEY = "kexie_login_at"
LAST_SEEN_EVERY = timedelta(minutes=1)


def session_key_hash(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


def session_track_login(sender, request=None, user=None, **kwargs) -> None:
    """Receiver of ``user_logged_in``: every login path (the login page, ``force_login`` in
    tests) passes here, so every session is known and can be listed and ended (SES-04/05)."""
    session = getattr(request, "session", None)
    if session is None or user is None:
        return
    if session.session_key is None:
        session.save()
    now = timezone.now()
    session[LOGIN_AT_SESSION_KEY] = int(now.timestamp())
    UserSession.objects.create(
        user=user,
        session_key_hash=session_key_hash(session.session_key),
        last_seen=now,
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:255],
    )


def session_track_logout(sender, request=None, user=None, **kwargs) -> None:
    """Receiver of ``user_logged_out``: the session is over (the logout itself is audited by
    the logout view)."""
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        UserSession.objects.filter(
            session_key_hash=session_key_hash(key), ended_at__isnull=True
        ).update(ended_at=timezone.now())


@dataclass(frozen=True)
class SessionState:
    row: UserSession | None
    end_reason: str = ""


def session_state(request) -> SessionState:
    """Whether the logged-in request's session may go on: known, not ended, not older than
    ``KEXIE_SESSION_MAX_HOURS`` (SES-03/04). Refreshes ``last_seen`` at most once a minute."""
    key = request.session.session_key
    if not key:
        return SessionState(row=None, end_reason="untracked")
    row = (
        UserSession.objects.filter(session_key_hash=session_key_hash(key))
        .only("pk", "user_id", "created_at", "last_seen", "ended_at")
        .first()
    )
    if row is None or row.user_id != request.user.pk:
        return SessionState(row=None, end_reason="untracked")
    if row.ended_at is not None:
        return SessionState(row=row, end_reason="ended")
    now = timezone.now()
    stamp = request.session.get(LOGIN_AT_SESSION_KEY)
    login_at = datetime.fromtimestamp(stamp, tz=UTC) if stamp else row.created_at
    if now - login_at > timedelta(hours=get_param("session_max_hours")):
        user_session_end(actor=None, user_session=row, reason="max_age")
        return SessionState(row=row, end_reason="max_age")
    if now - row.last_seen >= LAST_SEEN_EVERY:
        UserSession.objects.filter(pk=row.pk).update(last_seen=now)
    return SessionState(row=row)


def session_rekeyed(row: UserSession, new_key: str) -> None:
    """The session's key changed (password change, second factor passed): follow it."""
    new_hash = session_key_hash(new_key)
    if UserSession.objects.filter(session_key_hash=new_hash).exists():
        # A fresh login in the same browser has its own row: the old one is over.
        UserSession.objects.filter(pk=row.pk, ended_at__isnull=True).update(ended_at=timezone.now())
        return
    UserSession.objects.filter(pk=row.pk).update(session_key_hash=new_hash)


def active_sessions(user):
    """``user``'s sessions that are still alive: not ended, not idle past the timeout, not
    older than the absolute lifetime. Newest activity first."""
    now = timezone.now()
    return UserSession.objects.filter(
        user=user,
        ended_at__isnull=True,
        last_seen__gte=now - timedelta(seconds=settings.SESSION_COOKIE_AGE),
        created_at__gte=now - timedelta(hours=get_param("session_max_hours")),
    ).order_by("-last_seen", "-pk")


@transaction.atomic
def user_session_end(*, actor, user_session: UserSession, reason: str = "user") -> None:
    """End one session (SES-05); its next request is logged out. Audited ``session.end``."""
    updated = UserSession.objects.filter(pk=user_session.pk, ended_at__isnull=True).update(
        ended_at=timezone.now()
    )
    if updated:
        audit_log(
            actor=actor,
            event_type="session.end",
            obj=user_session.user,
            reason=reason,
            details={"count": 1, "session": user_session.pk},
        )


@transaction.atomic
def user_sessions_end(
    *, user: User, except_session_key: str | None = None, reason: str, actor=None
) -> int:
    """End every open session of ``user`` except ``except_session_key`` (SES-04).

    Call it when an account is disabled, its roles change or its password is set. Each ended
    session is logged out at its next request (``SessionPolicyMiddleware``). One
    ``session.end`` event is written when anything ended. Returns how many ended.
    """
    sessions = UserSession.objects.filter(user=user, ended_at__isnull=True)
    if except_session_key:
        sessions = sessions.exclude(session_key_hash=session_key_hash(except_session_key))
    ended = sessions.update(ended_at=timezone.now())
    if ended:
        audit_log(
            actor=actor,
            event_type="session.end",
            obj=user,
            reason=reason,
            details={"count": ended},
        )
    return ended


def describe_user_agent(user_agent: str) -> str:
    """A short "browser on system" for the sessions page; the full string is in the title."""
    ua = user_agent or ""
    browser = next(
        (
            name
            for token, name in (
                ("Edg/", "Edge"),
                ("MicroMessenger", "WeChat"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Chromium/", "Chromium"),
                ("Safari/", "Safari"),
            )
            if token in ua
        ),
        "",
    )
    system = next(
        (
            name
            for token, name in (
                ("Android", "Android"),
                ("iPhone", "iOS"),
                ("iPad", "iPadOS"),
                ("Windows", "Windows"),
                ("Mac OS X", "macOS"),
                ("Linux", "Linux"),
            )
            if token in ua
        ),
        "",
    )
    return " · ".join(part for part in (browser, system) if part)
