"""Writes of the 系统管理员 / 安全管理员 pages (AC-06, AC-08, SES-04).

Kept apart from ``services.py`` like ``admin_views.py`` from ``views.py``; creating accounts and
granting roles themselves stay in ``services`` (``user_create``, ``role_grant``, ``role_revoke``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kexie.core.audit import audit_log
from kexie.core.models import AuditEvent
from kexie.core.parameters import get_param

from .admin_selectors import account_list, lockout_list
from .models import RoleAssignment, User
from .roles import Action
from .scope import can, clear_scope_cache, has_action
from .security import account_unlock, user_sessions_end


def _sessions_end(*, user: User, reason: str, actor=None) -> None:
    """SES-04: end the user's sessions."""
    user_sessions_end(user=user, reason=reason, actor=actor)


def _check_manages(actor, user: User) -> None:
    if actor is None:
        return
    if not account_list(user=actor).filter(pk=user.pk).exists():
        raise PermissionDenied
    if actor.pk == user.pk:
        raise ValidationError(_("You cannot disable or enable your own account."))


@transaction.atomic
def user_disable(*, actor, user: User, reason: str) -> bool:
    """Disable a login and end its sessions; audited ``account.disable``. False if it was off."""
    _check_manages(actor, user)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason.")})
    if not User.objects.filter(pk=user.pk, is_active=True).update(is_active=False):
        return False
    user.is_active = False
    audit_log(actor=actor, event_type="account.disable", obj=user, reason=reason[:500])
    _sessions_end(user=user, reason="account.disable", actor=actor)
    return True


@transaction.atomic
def user_enable(*, actor, user: User, reason: str = "") -> bool:
    """Enable a login again; audited ``account.enable``. False if it was already on.

    An expiry date in the past is removed with it (the administrator decided the account is
    needed); the dormant-account job leaves an account alone for a full period after this.
    """
    _check_manages(actor, user)
    account = User.objects.select_for_update().get(pk=user.pk)
    if account.is_active:
        return False
    expiry_cleared = account.expires_at is not None and account.expires_at <= timezone.now()
    account.is_active = True
    fields = ["is_active"]
    if expiry_cleared:
        account.expires_at = None
        fields.append("expires_at")
    account.save(update_fields=fields)
    user.is_active, user.expires_at = account.is_active, account.expires_at
    audit_log(
        actor=actor,
        event_type="account.enable",
        obj=account,
        reason=(reason or "").strip()[:500],
        details={"expiry_cleared": expiry_cleared},
    )
    return True


def role_grant_by_admin(*, actor, username: str, organisation_code: str, role: str):
    """The 安全管理员's grant: resolves the account and the organisation in scope, then
    ``role_grant`` (which refuses the administrator-triad combinations, AC-06)."""
    from kexie.orgs.selectors import organisation_list

    from .services import role_grant

    user = User.objects.filter(username__iexact=(username or "").strip()).first()
    if user is None:
        raise ValidationError({"username": _("No account with this username.")})
    if actor is not None and user.pk == actor.pk:
        raise ValidationError({"username": _("You cannot change your own roles.")})
    code = (organisation_code or "").strip().upper()
    organisation = (
        organisation_list(user=actor, action=Action.GRANT_ROLES).filter(code=code).first()
        if actor is not None
        else None
    )
    if organisation is None:
        raise ValidationError(
            {"organisation_code": _("No organisation with this code in your scope.")}
        )
    assignment = role_grant(actor=actor, user=user, organisation=organisation, role=role)
    _sessions_end(user=user, reason="account.role_grant", actor=actor)  # SES-04: roles changed
    return assignment


def role_revoke_by_admin(*, actor, assignment: RoleAssignment) -> None:
    from .services import role_revoke

    if actor is not None and assignment.user_id == actor.pk:
        raise ValidationError(_("You cannot change your own roles."))
    if actor is not None and not can(actor, Action.GRANT_ROLES, assignment.organisation):
        raise PermissionDenied
    user = assignment.user
    role_revoke(actor=actor, assignment=assignment)
    clear_scope_cache(user)
    _sessions_end(user=user, reason="account.role_revoke", actor=actor)  # SES-04: roles changed


def account_unlock_by_admin(*, actor, username: str, request=None) -> None:
    """Lift a lock-out (AUTH-04) the actor may see; audited ``auth.unlock``."""
    username = (username or "").strip().lower()
    locks = lockout_list(user=actor, request=request)
    if not any(lock.username.lower() == username for lock in locks):
        raise PermissionDenied
    account_unlock(actor=actor, username=username)


def second_factor_reset_by_admin(*, actor, username: str, reason: str) -> User:
    """AUTH-07: a person who lost both the phone and the recovery codes gets a new start.

    Only a 安全管理员 whose scope holds one of the person's roles; never for themself. Removes
    the authenticator and the recovery codes and ends the person's sessions, so the next login
    enrols a new authenticator. Audited ``auth.otp_reset`` with the reason.
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from .models import RecoveryCode

    reason = (reason or "").strip()
    if not has_action(actor, Action.UNLOCK_ACCOUNTS):
        raise PermissionDenied
    target = User.objects.filter(username__iexact=(username or "").strip()).first()
    if target is None or target.pk == actor.pk:
        raise PermissionDenied
    organisations = [
        ra.organisation
        for ra in RoleAssignment.objects.filter(user=target).select_related("organisation")
    ]
    if not any(can(actor, Action.UNLOCK_ACCOUNTS, org) for org in organisations):
        raise PermissionDenied
    if not reason:
        raise ValidationError({"reason": _("Give the reason.")})
    with transaction.atomic():
        devices, _unused = TOTPDevice.objects.filter(user=target).delete()
        RecoveryCode.objects.filter(user=target).delete()
        user_sessions_end(user=target, reason="otp_reset", actor=actor)
        audit_log(
            actor=actor,
            event_type="auth.otp_reset",
            obj=target,
            reason=reason[:500],
            details={"devices_removed": devices},
        )
    return target


# --- AC-08: dormant and expired accounts ------------------------------------------------------


@dataclass(frozen=True)
class DormantCandidate:
    user: User
    reason: str  # "expired" or "dormant"


def dormant_candidates(*, now: datetime | None = None) -> list[DormantCandidate]:
    """Active accounts past ``expires_at``, and staff accounts (holding any role) without a
    login for ``dormant_days`` — unless an administrator enabled them within that period."""
    now = now or timezone.now()
    days = get_param("dormant_days")
    cutoff = now - timedelta(days=days)
    expired = list(User.objects.filter(is_active=True, expires_at__lte=now).order_by("pk"))
    recently_enabled = {
        int(pk)
        for pk in AuditEvent.objects.filter(
            event_type="account.enable",
            object_type=User._meta.label_lower,
            occurred_at__gte=cutoff,
        ).values_list("object_id", flat=True)
        if pk.isdigit()
    }
    staff = User.objects.filter(
        is_active=True, pk__in=RoleAssignment.objects.values("user_id")
    ).exclude(pk__in=[u.pk for u in expired])
    dormant = (
        staff.filter(last_login__lt=cutoff)
        | staff.filter(last_login__isnull=True, date_joined__lt=cutoff)
    ).order_by("pk")
    return [DormantCandidate(user, "expired") for user in expired] + [
        DormantCandidate(user, "dormant") for user in dormant if user.pk not in recently_enabled
    ]


def accounts_disable_dormant(
    *, now: datetime | None = None, dry_run: bool = False
) -> list[DormantCandidate]:
    """Disable every dormant or expired account; one ``account.dormant_disable`` event each."""
    now = now or timezone.now()
    days = get_param("dormant_days")
    done = []
    for candidate in dormant_candidates(now=now):
        if dry_run:
            done.append(candidate)
            continue
        user = candidate.user
        with transaction.atomic():
            if not User.objects.filter(pk=user.pk, is_active=True).update(is_active=False):
                continue  # someone else got there first
            user.is_active = False
            audit_log(
                actor=None,
                event_type="account.dormant_disable",
                obj=user,
                reason=candidate.reason,
                details={
                    "reason": candidate.reason,
                    "dormant_days": days,
                    "last_login": user.last_login.isoformat() if user.last_login else None,
                    "expires_at": user.expires_at.isoformat() if user.expires_at else None,
                },
            )
            _sessions_end(user=user, reason="account.dormant_disable")
        done.append(candidate)
    return done
