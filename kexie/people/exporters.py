"""Export of persons: masked by default (ID 6542**********123X, phone 138****5678), with the
importer's columns (codes as their names, so an unmasked file can be imported again) plus the
responsible organisation and the review status.

An unmasked export (AC-09) needs a second person: the requester states the organisation subtree
and the reason, another holder of the export and view-sensitive rights over it approves or
refuses, and the requester downloads once within 24 hours.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kexie.accounts.roles import Action
from kexie.accounts.scope import can, scope_paths
from kexie.core.audit import audit_log
from kexie.core.exports import ExportColumn, Exporter
from kexie.core.masking import mask_email, mask_id_number, mask_phone
from kexie.orgs.models import Organisation
from kexie.orgs.tree import subtree_q

from .choices import ReviewStatus
from .importers import COLUMNS
from .models import Person, UnmaskedExportRequest
from .services import CODE_FIELDS, code_entries

DOWNLOAD_HOURS = 24
_MASKS = {"id_number": mask_id_number, "phone": mask_phone, "email": mask_email}


def person_export_value(person: Person, key: str) -> Any:
    """The value of import column ``key`` for ``person``, as the importer reads it back."""
    if key in CODE_FIELDS:
        code = getattr(person, key) or ""
        entry = code_entries(CODE_FIELDS[key]).get(code)
        return entry.name if entry is not None else code
    if key == "employer":
        return person.employer_name
    if key == "township":
        return person.township.name if person.township_id else ""
    if key == "employer_category":
        return person.get_employer_category_display() if person.employer_category else ""
    value = getattr(person, key)
    return value if value is not None else ""


def _accessor(key: str):
    def get(person):
        return person_export_value(person, key)

    return get


class PersonExporter(Exporter):
    code = "people.person"
    title = gettext_lazy("Persons")
    columns = (
        *(
            ExportColumn(header=column.header, accessor=_accessor(column.key), key=column.key)
            for column in COLUMNS
        ),
        ExportColumn(
            header=gettext_lazy("Responsible organisation"),
            accessor="organisation.name",
            key="organisation",
        ),
        ExportColumn(
            header=gettext_lazy("Review status"),
            accessor=lambda p: p.get_review_status_display(),
            key="review_status",
        ),
    )
    unmasked = False

    def __init__(self, *, unmasked: bool = False) -> None:
        self.unmasked = unmasked

    def display_value(self, column: ExportColumn, value: Any) -> Any:
        if not self.unmasked and column.key in _MASKS:
            return _MASKS[column.key](value)
        return value

    def prepare_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("organisation", "employer", "township").order_by("id")


# --- Filters -------------------------------------------------------------------------------------


def person_export_queryset(*, user, params, action: str = Action.EXPORT) -> tuple[QuerySet, dict]:
    """The persons to export and the filters applied: the list page's FilterSet when there is
    one, else ``county`` (region code or organisation code) and ``review_status``."""
    base = Person.objects.visible_to(user, action).current()
    try:
        from .filters import PersonFilterSet  # the list page's filters (another part)
    except ImportError:
        PersonFilterSet = None  # noqa: N806
    if PersonFilterSet is not None:
        try:
            filterset = PersonFilterSet(params or None, queryset=base, user=user)
        except TypeError:
            filterset = PersonFilterSet(params or None, queryset=base)
        applied = (
            filterset.applied()
            if hasattr(filterset, "applied")
            else {k: v for k, v in (params or {}).items() if k in filterset.filters and v}
        )
        return filterset.qs, dict(applied)
    return _simple_filters(base, params or {})


def _simple_filters(qs: QuerySet, params) -> tuple[QuerySet, dict]:
    applied: dict[str, str] = {}
    county = (params.get("county") or "").strip()
    if county:
        qs = qs.filter(
            Q(township__parent__code=county)
            | Q(organisation__region__code=county)
            | Q(organisation__code=county)
        )
        applied["county"] = county
    status = (params.get("review_status") or "").strip()
    if status in ReviewStatus.values:
        qs = qs.filter(review_status=status)
        applied["review_status"] = status
    return qs, applied


# --- Unmasked export requests (AC-09) ------------------------------------------------------------


def may_export_unmasked(user, organisation: Organisation) -> bool:
    return can(user, Action.EXPORT, organisation) and can(user, Action.VIEW_SENSITIVE, organisation)


def request_organisations(*, user) -> QuerySet[Organisation]:
    """Organisations over which ``user`` may ask for (and decide on) an unmasked export."""
    export_paths = scope_paths(user, Action.EXPORT)
    sensitive_paths = scope_paths(user, Action.VIEW_SENSITIVE)
    if not export_paths or not sensitive_paths:
        return Organisation.objects.none()
    return (
        Organisation.objects.active()
        .filter(subtree_q(export_paths))
        .filter(subtree_q(sensitive_paths))
        .order_by("path")
    )


@transaction.atomic
def export_request_create(*, actor, organisation: Organisation, reason: str, filters: dict):
    reason = " ".join((reason or "").split())
    if not may_export_unmasked(actor, organisation):
        raise PermissionDenied
    if not reason:
        raise ValidationError({"reason": [_("Say why the full values are needed.")]})
    request = UnmaskedExportRequest.objects.create(
        requested_by=actor,
        organisation=organisation,
        filters={k: str(v)[:100] for k, v in (filters or {}).items() if v},
        reason=reason[:300],
    )
    audit_log(
        actor=actor,
        event_type="export.request",
        obj=request,
        reason=request.reason,
        details={"organisation": organisation.code, "filters": request.filters},
    )
    return request


def export_request_list(*, user) -> QuerySet[UnmaskedExportRequest]:
    """The user's own requests and the requests the user may decide on."""
    decidable = request_organisations(user=user).values("pk")
    return (
        UnmaskedExportRequest.objects.filter(Q(requested_by=user) | Q(organisation__in=decidable))
        .select_related("requested_by", "decided_by", "organisation")
        .order_by("-id")
    )


def export_request_get(*, user, pk: int) -> UnmaskedExportRequest:
    request = export_request_list(user=user).filter(pk=pk).first()
    if request is None:
        raise Http404
    return request


@transaction.atomic
def export_request_decide(*, actor, request: UnmaskedExportRequest, approve: bool, note=""):
    request = (
        UnmaskedExportRequest.objects.select_for_update()
        .select_related("organisation")
        .get(pk=request.pk)
    )
    if request.requested_by_id == actor.pk or not may_export_unmasked(actor, request.organisation):
        audit_log(
            actor=actor,
            event_type="export.request_decide",
            obj=request,
            outcome="denied",
            details={"approve": approve},
        )
        raise PermissionDenied
    if request.status != UnmaskedExportRequest.STATUS_PENDING:
        raise ValidationError(_("This request has already been decided."))
    now = timezone.now()
    request.status = (
        UnmaskedExportRequest.STATUS_APPROVED if approve else UnmaskedExportRequest.STATUS_REFUSED
    )
    request.decided_by = actor
    request.decided_at = now
    request.expires_at = now + dt.timedelta(hours=DOWNLOAD_HOURS) if approve else None
    request.save(update_fields=["status", "decided_by", "decided_at", "expires_at"])
    audit_log(
        actor=actor,
        event_type="export.request_decide",
        obj=request,
        reason=" ".join((note or "").split())[:300],
        details={"approve": approve, "requested_by": request.requested_by_id},
    )
    return request


@transaction.atomic
def export_request_use(*, actor, request: UnmaskedExportRequest) -> UnmaskedExportRequest:
    """Mark an approved request as used (one download, by the requester, before it expires)."""
    request = (
        UnmaskedExportRequest.objects.select_for_update()
        .select_related("organisation")
        .get(pk=request.pk)
    )
    if request.requested_by_id != actor.pk:
        raise PermissionDenied
    if request.status != UnmaskedExportRequest.STATUS_APPROVED:
        raise ValidationError(_("Only an approved request can be downloaded, and only once."))
    if request.expires_at is None or request.expires_at < timezone.now():
        raise ValidationError(_("The approval has expired; ask again."))
    if not may_export_unmasked(actor, request.organisation):
        raise PermissionDenied
    request.status = UnmaskedExportRequest.STATUS_USED
    request.save(update_fields=["status"])
    return request


def unmasked_queryset(*, user, request: UnmaskedExportRequest) -> tuple[QuerySet, dict]:
    qs, applied = person_export_queryset(user=user, params=request.filters or {})
    qs = qs.filter(subtree_q([request.organisation.path], prefix="organisation__"))
    return qs, {**applied, "organisation": request.organisation.code, "unmasked": True}


__all__ = [
    "PersonExporter",
    "export_request_create",
    "export_request_decide",
    "export_request_get",
    "export_request_list",
    "export_request_use",
    "person_export_queryset",
    "request_organisations",
]
