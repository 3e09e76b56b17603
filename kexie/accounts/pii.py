"""Personal data of accounts: the phone, stored encrypted with a blind index (PI-06), shown
masked (PI-05) and revealed one record at a time, with a reason, audited (AC-04).

Audit events carry field names and the reason, never the phone itself (AUD-03).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.utils.translation import gettext as _

from kexie.core.audit import audit_log
from kexie.core.choices import AuditOutcome
from kexie.core.crypto import blind_index
from kexie.core.validators import validate_mobile

from .models import RoleAssignment, User
from .roles import ADMIN_TRIAD, Action
from .scope import can, has_action, user_roles

PHONE_INDEX_PURPOSE = "phone"
REVEAL_REASON_MAX_LENGTH = 200
PHONE_FIELDS = ("phone", "phone_index")


def phone_index_of(normalised_phone: str) -> str:
    """The blind index of an already normalised mobile number ("" for no number)."""
    if not normalised_phone:
        return ""
    return blind_index(normalised_phone, purpose=PHONE_INDEX_PURPOSE)


def _is_admin_triad(actor) -> bool:
    return bool(user_roles(actor) & set(ADMIN_TRIAD))


def _is_self(actor, user: User) -> bool:
    return actor is not None and actor.pk is not None and actor.pk == user.pk


def _role_organisations(user: User) -> list:
    return [
        assignment.organisation
        for assignment in RoleAssignment.objects.filter(user=user).select_related("organisation")
    ]


def can_reveal_phone(actor, user: User) -> bool:
    """AC-04: the person themself, or someone holding "view sensitive" over an organisation where
    ``user`` has a role. The three administrator roles never see unmasked data (AC-06)."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return False
    if _is_admin_triad(actor):
        return False
    if _is_self(actor, user):
        return True
    if not has_action(actor, Action.VIEW_SENSITIVE):
        return False
    return any(can(actor, Action.VIEW_SENSITIVE, org) for org in _role_organisations(user))


def _can_set_phone(actor, user: User) -> bool:
    if actor is None:  # management commands and migrations of data
        return True
    if _is_self(actor, user):
        return True
    return any(can(actor, Action.MANAGE_ACCOUNTS, org) for org in _role_organisations(user))


def user_get_in_scope(*, actor, pk: int) -> User:
    """A user the actor may see: themself, or someone with a role inside the actor's scope.

    Anything else raises 404, the same answer as for a user that does not exist (AC-02).
    """
    from kexie.orgs.models import Organisation

    if actor is None or not actor.is_authenticated:
        raise Http404
    if actor.pk == pk:
        return User.objects.get(pk=pk)
    visible_orgs = Organisation.objects.visible_to(actor, Action.VIEW)
    in_scope = RoleAssignment.objects.filter(user=OuterRef("pk"), organisation__in=visible_orgs)
    user = User.objects.filter(pk=pk).filter(Exists(in_scope)).first()
    if user is None:
        raise Http404
    return user


@transaction.atomic
def user_set_phone(*, actor, user: User, phone: str) -> User:
    """Set (or, with an empty value, clear) ``user``'s mobile number.

    The number is normalised (full-width digits, +86, separators), stored encrypted, and its
    blind index kept for look-up and uniqueness. The audit event names the field, not the value.
    """
    if not _can_set_phone(actor, user):
        raise PermissionDenied
    raw = (phone or "").strip()
    if raw:
        try:
            normalised = validate_mobile(raw)
        except ValidationError as exc:
            raise ValidationError({"phone": exc.messages}) from None
    else:
        normalised = ""
    index = phone_index_of(normalised)
    if index and User.objects.filter(phone_index=index).exclude(pk=user.pk).exists():
        raise ValidationError(
            {"phone": _("This mobile number belongs to another account.")}, code="phone_taken"
        )
    user.phone = normalised
    user.phone_index = index
    # Only the changed fields are validated: an old account must not be stuck on a field this
    # change does not touch.
    others = [f.name for f in User._meta.concrete_fields if f.name not in PHONE_FIELDS]
    user.full_clean(exclude=others, validate_unique=False, validate_constraints=False)
    user.save(update_fields=list(PHONE_FIELDS))
    audit_log(
        actor=actor,
        event_type="account.phone_change",
        obj=user,
        details={"fields": ["phone"], "cleared": not normalised},
    )
    return user


def user_find_by_phone(phone: str) -> User | None:
    """The account with exactly this mobile number (blind index equality), or None.

    Never a substring search: the stored numbers are encrypted and only equality is indexed.
    """
    try:
        normalised = validate_mobile(phone or "")
    except ValidationError:
        return None
    return User.objects.filter(phone_index=phone_index_of(normalised)).first()


def user_phone_reveal(*, actor, user: User, reason: str) -> str:
    """Return ``user``'s full mobile number for ``actor`` (AC-04), one record per call.

    Refusals are audited (``pii.reveal``, outcome denied) and raise ``PermissionDenied``; a
    missing or over-long reason raises ``ValidationError``; a reveal is audited with the reason
    and the field name. Callers check ``user_get_in_scope`` first so that users outside the
    actor's scope answer 404.
    """
    if not can_reveal_phone(actor, user):
        authenticated = actor is not None and actor.is_authenticated
        audit_log(
            actor=actor if authenticated else None,
            event_type="pii.reveal",
            obj=user,
            outcome=AuditOutcome.DENIED,
            details={"field": "phone"},
        )
        raise PermissionDenied
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError(
            {"reason": _("Give the reason for seeing the full number.")}, code="required"
        )
    if len(reason) > REVEAL_REASON_MAX_LENGTH:
        raise ValidationError(
            {
                "reason": _("The reason may be at most %(max)d characters long.")
                % {"max": REVEAL_REASON_MAX_LENGTH}
            },
            code="max_length",
        )
    with transaction.atomic():
        # Read inside the transaction of the audit event: no event, no number (AUD-06).
        phone = User.objects.only("phone").get(pk=user.pk).phone
        audit_log(
            actor=actor,
            event_type="pii.reveal",
            obj=user,
            reason=reason,
            details={"field": "phone"},
        )
    return phone
