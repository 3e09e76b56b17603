"""Writes to the organisation tree. Every change goes through one of these functions.

Each validates, saves named fields and writes one audit event, inside one transaction.
``actor=None`` is reserved for trusted code (demo data, migrations of data, tests of
services); every request-driven call passes the user, whose scope is checked here again even
though the views already fetched the object through a scoped selector (AC-03).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Max, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from kexie.accounts.roles import Action
from kexie.accounts.scope import can, scope_root_ids
from kexie.core.audit import audit_log
from kexie.core.models import Region
from kexie.core.validators import validate_uscc

from .choices import ASSOCIATION_KINDS, OrganisationKind, OrganisationStatus
from .models import Organisation
from .tree import PATH_SEGMENT, segment

EDITABLE_FIELDS = (
    "name",
    "short_name",
    "kind",
    "code",
    "region",
    "uscc",
    "contact_person",
    "contact_phone",
    "email",
    "address",
)


def region_contains(outer: Region, inner: Region) -> bool:
    """Whether ``inner`` lies within ``outer`` (codes are hierarchical: 6542 → 654221 → …)."""
    if outer.level == "prefecture":
        return inner.code[:4] == outer.code[:4]
    if outer.level == "county":
        return inner.code[:6] == outer.code[:6]
    return inner.code == outer.code


def association_code(region: Region) -> str:
    return f"KX{region.code}"


def _require(actor, action: str, organisation: Organisation) -> None:
    if actor is not None and not can(actor, action, organisation):
        raise PermissionDenied


def _clean_common(
    *,
    kind: str,
    code: str,
    region: Region,
    parent: Organisation | None,
    uscc: str,
    instance: Organisation | None = None,
) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    code = code.strip().upper()
    if kind in ASSOCIATION_KINDS and code != association_code(region):
        errors.setdefault("code", []).append(
            _("An association at a region has the code %(code)s.")
            % {"code": association_code(region)}
        )
    if parent is not None and not region_contains(parent.region, region):
        errors.setdefault("region", []).append(
            _("The region must lie within the parent organisation's region (%(region)s).")
            % {"region": parent.region.name}
        )
    if parent is None and kind != OrganisationKind.PREFECTURE_ASSOCIATION:
        errors.setdefault("parent", []).append(_("Only a prefecture association has no parent."))
    if uscc:
        try:
            uscc = validate_uscc(uscc)
        except ValidationError as exc:
            errors.setdefault("uscc", []).extend(exc.messages)
    clash = Organisation.objects.filter(code=code)
    if instance is not None:
        clash = clash.exclude(pk=instance.pk)
    if code and clash.exists():
        errors.setdefault("code", []).append(
            _("The code %(code)s is already used by another organisation.") % {"code": code}
        )
    if errors:
        raise ValidationError(errors)
    return code, uscc


def _next_child_path(parent: Organisation | None) -> tuple[str, int]:
    if parent is None:
        siblings = Organisation.objects.filter(depth=1)
        prefix, depth = "", 1
    else:
        siblings = Organisation.objects.filter(parent=parent)
        prefix, depth = parent.path, parent.depth + 1
    last = siblings.aggregate(m=Max("path"))["m"]
    number = int(last[-PATH_SEGMENT:]) + 1 if last else 1
    return prefix + segment(number), depth


@transaction.atomic
def organisation_create(
    *,
    actor,
    parent: Organisation | None,
    name: str,
    kind: str,
    code: str,
    region: Region,
    short_name: str = "",
    uscc: str = "",
    contact_person: str = "",
    contact_phone: str = "",
    email: str = "",
    address: str = "",
    audit_details: dict[str, Any] | None = None,
) -> Organisation:
    if parent is not None:
        _require(actor, Action.CREATE, parent)
        parent = Organisation.objects.select_for_update().get(pk=parent.pk)
        if not parent.is_active:
            raise ValidationError({"parent": _("A dissolved organisation cannot get new units.")})
    elif actor is not None:
        raise PermissionDenied
    code, uscc = _clean_common(kind=kind, code=code, region=region, parent=parent, uscc=uscc)
    path, depth = _next_child_path(parent)
    org = Organisation(
        parent=parent,
        name=name.strip(),
        short_name=short_name.strip(),
        kind=kind,
        code=code,
        region=region,
        uscc=uscc,
        contact_person=contact_person.strip(),
        contact_phone=contact_phone.strip(),
        email=email.strip(),
        address=address.strip(),
        path=path,
        depth=depth,
    )
    org.full_clean()
    org.save()
    if parent is not None:
        Organisation.objects.filter(pk=parent.pk).update(child_count=F("child_count") + 1)
    audit_log(actor=actor, event_type="org.create", obj=org, details=audit_details or {})
    return org


@transaction.atomic
def organisation_update(
    *, actor, organisation: Organisation, data: dict[str, Any], audit_details: dict | None = None
) -> list[str]:
    """Change the editable fields given in ``data``; returns the names of the changed fields."""
    _require(actor, Action.CHANGE, organisation)
    org = (
        Organisation.objects.select_for_update(of=("self",))
        .select_related("parent__region")
        .get(pk=organisation.pk)
    )
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    merged = {field: data.get(field, getattr(org, field)) for field in EDITABLE_FIELDS}
    code, uscc = _clean_common(
        kind=merged["kind"],
        code=merged["code"],
        region=merged["region"],
        parent=org.parent,
        uscc=merged["uscc"] or "",
        instance=org,
    )
    merged["code"], merged["uscc"] = code, uscc
    for text_field in ("name", "short_name", "contact_person", "contact_phone", "email", "address"):
        merged[text_field] = (merged[text_field] or "").strip()
    changed = [f for f in EDITABLE_FIELDS if getattr(org, f) != merged[f]]
    if not changed:
        return []
    for field in changed:
        setattr(org, field, merged[field])
    org.full_clean()
    org.save(update_fields=[*changed, "updated_at"])
    details = {"fields": changed, **(audit_details or {})}
    audit_log(actor=actor, event_type="org.update", obj=org, details=details)
    return changed


@transaction.atomic
def organisation_move(*, actor, organisation: Organisation, new_parent: Organisation) -> None:
    """Hang ``organisation`` (with its subtree) under ``new_parent``; paths are rewritten in SQL."""
    _require(actor, Action.MOVE, organisation)
    _require(actor, Action.MOVE, new_parent)
    org = Organisation.objects.select_for_update().get(pk=organisation.pk)
    new_parent = Organisation.objects.select_for_update().get(pk=new_parent.pk)
    if actor is not None and org.pk in scope_root_ids(actor, Action.MOVE):
        raise ValidationError(_("You cannot move the organisation your own role is attached to."))
    if org.parent_id is None:
        raise ValidationError(_("The prefecture association cannot be moved."))
    if new_parent.path.startswith(org.path):
        raise ValidationError(_("An organisation cannot be moved below itself."))
    if not new_parent.is_active:
        raise ValidationError(_("A dissolved organisation cannot get new units."))
    if not region_contains(new_parent.region, org.region):
        raise ValidationError(
            _("The region must lie within the parent organisation's region (%(region)s).")
            % {"region": new_parent.region.name}
        )
    if new_parent.pk == org.parent_id:
        return
    old_parent_id = org.parent_id
    old_path = org.path
    new_path, new_depth = _next_child_path(new_parent)
    delta = new_depth - org.depth
    subtree = Organisation.objects.subtree_of(org)
    subtree.update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + delta,
    )
    Organisation.objects.filter(pk=org.pk).update(parent=new_parent, updated_at=timezone.now())
    Organisation.objects.filter(pk=old_parent_id).update(child_count=F("child_count") - 1)
    Organisation.objects.filter(pk=new_parent.pk).update(child_count=F("child_count") + 1)
    org.refresh_from_db()
    audit_log(
        actor=actor,
        event_type="org.move",
        obj=org,
        details={"from_parent": old_parent_id, "to_parent": new_parent.pk},
    )


@transaction.atomic
def organisation_dissolve(
    *, actor, organisation: Organisation, on_date: dt.date | None = None, reason: str = ""
) -> None:
    """Mark an organisation dissolved. It stays in the tree (and in history); never deleted."""
    _require(actor, Action.DISSOLVE, organisation)
    org = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if actor is not None and org.pk in scope_root_ids(actor, Action.DISSOLVE):
        raise ValidationError(
            _("You cannot dissolve the organisation your own role is attached to.")
        )
    if not org.is_active:
        raise ValidationError(_("This organisation is already dissolved."))
    if org.parent_id is None:
        raise ValidationError(_("The prefecture association cannot be dissolved."))
    if Organisation.objects.filter(parent=org, status=OrganisationStatus.ACTIVE).exists():
        raise ValidationError(
            _(
                "Dissolve or move its active units first; an organisation with active units "
                "cannot be dissolved."
            )
        )
    org.status = OrganisationStatus.DISSOLVED
    org.dissolved_on = on_date or timezone.localdate()
    org.full_clean()
    org.save(update_fields=["status", "dissolved_on", "updated_at"])
    audit_log(actor=actor, event_type="org.dissolve", obj=org, reason=reason)


def organisation_is_referenced(organisation: Organisation) -> bool:
    """Whether anything points at the organisation (then it may never be deleted)."""
    from django.db.models.deletion import Collector

    if Organisation.objects.filter(parent=organisation).exists():
        return True
    collector = Collector(using="default")
    related = [
        rel
        for rel in organisation._meta.related_objects
        if rel.related_model is not Organisation and (rel.one_to_many or rel.one_to_one)
    ]
    for rel in related:
        if collector.related_objects(rel.related_model, [rel.field], [organisation]).exists():
            return True
    return False


@transaction.atomic
def organisation_delete_unreferenced(*, actor, organisation: Organisation, reason: str) -> None:
    """Delete an organisation nothing refers to — used only to undo an import that created it."""
    _require(actor, Action.CREATE, organisation)
    org = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if organisation_is_referenced(org):
        raise ValidationError(
            _("%(name)s is already referenced and cannot be removed.") % {"name": org.name}
        )
    parent_id, pk, name = org.parent_id, org.pk, str(org)
    org.delete()
    if parent_id:
        Organisation.objects.filter(pk=parent_id).update(child_count=F("child_count") - 1)
    audit_log(
        actor=actor,
        event_type="org.delete",
        object_type="orgs.organisation",
        object_id=str(pk),
        object_repr=name,
        reason=reason,
    )
