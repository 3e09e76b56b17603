"""Writes to accounts and role assignments."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from kexie.core.audit import audit_log

from .models import RoleAssignment, User
from .roles import ADMIN_TRIAD, Action, Role
from .scope import can, clear_scope_cache
from .security import user_sessions_end, user_set_password

RESERVED_USERNAMES = frozenset({"admin", "root", "test", "administrator", "superuser"})


@transaction.atomic
def user_create(
    *,
    actor,
    username: str,
    display_name: str = "",
    email: str = "",
    password: str | None = None,
) -> User:
    """Create a staff login. Without a password the account waits for its activation link."""
    username = username.strip()
    if username.lower() in RESERVED_USERNAMES:
        raise ValidationError({"username": _("This username is reserved; choose a personal one.")})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This username is already taken.")})
    user = User(username=username, display_name=display_name.strip(), email=email.strip())
    user.set_unusable_password()
    if password is None:
        user.must_change_password = True
    else:
        validate_password(password, user)  # refuse before anything is written
    user.full_clean(exclude=["password"])
    user.save()
    if password is not None:
        # AUTH-02: the one path that sets passwords (history, changed-at); account.create covers it
        user_set_password(actor=actor, user=user, raw=password, event_type=None)
    audit_log(actor=actor, event_type="account.create", obj=user)
    return user


def activation_path(user: User) -> str:
    """An expiring, single-use link (AUTH-10) to set the first password."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("accounts:activate", kwargs={"uidb64": uid, "token": token})


@transaction.atomic
def role_grant(*, actor, user: User, organisation, role: str) -> RoleAssignment:
    """Give ``user`` ``role`` over ``organisation``'s subtree.

    AC-06: one account holds at most one of the three administrator roles.
    """
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    if actor is not None and not can(actor, Action.GRANT_ROLES, organisation):
        raise PermissionDenied
    held = set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True))
    if role in ADMIN_TRIAD and (held & ADMIN_TRIAD) - {role}:
        raise ValidationError(
            {"role": _("One account may hold only one of the three administrator roles.")}
        )
    if role in ADMIN_TRIAD and held - ADMIN_TRIAD or role not in ADMIN_TRIAD and held & ADMIN_TRIAD:
        raise ValidationError(
            {
                "role": _(
                    "Administrator roles and business roles must be held by different accounts."
                )
            }
        )
    assignment, created = RoleAssignment.objects.get_or_create(
        user=user, organisation=organisation, role=role, defaults={"granted_by": actor}
    )
    if created:
        clear_scope_cache(user)
        audit_log(
            actor=actor,
            event_type="account.role_grant",
            obj=user,
            details={"role": role, "organisation": organisation.code},
        )
        user_sessions_end(user=user, reason="role_change", actor=actor)  # SES-04
    return assignment


@transaction.atomic
def role_revoke(*, actor, assignment: RoleAssignment) -> None:
    if actor is not None and not can(actor, Action.GRANT_ROLES, assignment.organisation):
        raise PermissionDenied
    user, role, org_code = assignment.user, assignment.role, assignment.organisation.code
    assignment.delete()
    clear_scope_cache(user)
    audit_log(
        actor=actor,
        event_type="account.role_revoke",
        obj=user,
        details={"role": role, "organisation": org_code},
    )
    user_sessions_end(user=user, reason="role_change", actor=actor)  # SES-04
