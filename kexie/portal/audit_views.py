"""The audit log pages of the 审计管理员 (AC-06): read, search, filter, export — read only.

Only users holding ``Action.READ_AUDIT`` (the audit administrator) get in; everyone else gets
403. Nothing here changes data: the only writes are the ``audit.search`` and ``audit.export``
events that record what the auditor looked for (AUD-01).

The table grows to millions of rows, so the list never counts: it pages by ``sequence`` (keyset
pagination, "older" / "newer" links), and the export is capped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import django_filters
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from kexie.accounts.roles import Action
from kexie.accounts.scope import has_action
from kexie.core.audit import audit_log
from kexie.core.audit_chain import event_link_problem
from kexie.core.audit_events import event_choices, event_label
from kexie.core.choices import AuditOutcome
from kexie.core.exports import XLSX_CONTENT_TYPE, ExportColumn, Exporter, content_disposition
from kexie.core.models import AuditEvent
from kexie.core.selectors import audit_event_list
from kexie.core.xlsx import write_xlsx

PAGE_SIZE = 50
EXPORT_MAX_ROWS = 100_000
CURSOR_PARAMS = ("before", "after")


# --- Filters (one FilterSet for the page and the export, STYLE.md 11) --------------------------


class IPAddressFilter(django_filters.CharFilter):
    field_class = forms.GenericIPAddressField


def _local_midnight(day: dt.date) -> dt.datetime:
    """The start of ``day`` in the instance's time zone (Beijing time by default)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class AuditEventFilterSet(django_filters.FilterSet):
    date_from = django_filters.DateFilter(
        label=_("From (date)"),
        method="filter_date_from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        label=_("To (date, inclusive)"),
        method="filter_date_to",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    username = django_filters.CharFilter(
        label=_("Username"),
        method="filter_username",
        max_length=150,
    )
    event = django_filters.ChoiceFilter(
        label=_("Event"),
        choices=event_choices,
        method="filter_event",
        empty_label=_("Every event"),
    )
    outcome = django_filters.ChoiceFilter(
        label=_("Outcome"),
        choices=AuditOutcome.choices,
        empty_label=_("Every outcome"),
    )
    object_type = django_filters.CharFilter(
        label=_("Object type"),
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": "orgs.organisation"}),
    )
    object_id = django_filters.CharFilter(
        label=_("Object id"),
        max_length=64,
    )
    ip = IPAddressFilter(
        label=_("IP address"),
        field_name="ip_address",
    )

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, **kwargs) -> None:
        super().__init__(data, queryset=queryset, **kwargs)
        for field in self.form.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = css

    def filter_date_from(self, queryset, name, value: dt.date):
        return queryset.filter(occurred_at__gte=_local_midnight(value))

    def filter_date_to(self, queryset, name, value: dt.date):
        return queryset.filter(occurred_at__lt=_local_midnight(value + dt.timedelta(days=1)))

    def filter_username(self, queryset, name, value: str):
        value = value.strip()
        if not value:
            return queryset
        # Sign-in events without a user (failed logins, lock-outs) name the username tried.
        return queryset.filter(
            Q(actor_username__iexact=value)
            | Q(actor__isnull=True, event_type__startswith="auth.", object_repr__iexact=value)
        )

    def filter_event(self, queryset, name, value: str):
        if value.endswith("."):
            return queryset.filter(event_type__startswith=value)
        return queryset.filter(event_type=value)

    @property
    def usable(self) -> bool:
        """No filters, or valid ones (invalid input shows errors, never "everything")."""
        return not self.is_bound or self.form.is_valid()

    def applied(self) -> dict[str, str]:
        """The filters in effect, for the ``audit.search`` / ``audit.export`` events."""
        if not self.is_bound or not self.form.is_valid():
            return {}
        return {
            key: value.isoformat() if isinstance(value, dt.date) else str(value)
            for key, value in self.form.cleaned_data.items()
            if value not in (None, "")
        }


def _require_audit_reader(user) -> None:
    if not has_action(user, Action.READ_AUDIT):
        raise PermissionDenied


def _filtered(request: HttpRequest) -> AuditEventFilterSet:
    base = audit_event_list(user=request.user).select_related(None).order_by("-sequence")
    params = request.GET.copy()
    for name in CURSOR_PARAMS:
        params.pop(name, None)
    return AuditEventFilterSet(params or None, queryset=base)


def _cursor(request: HttpRequest, name: str) -> int | None:
    try:
        value = int(request.GET.get(name, ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def _page(queryset: QuerySet[AuditEvent], *, before: int | None, after: int | None):
    """One page of events, newest first, and whether older / newer events exist — without
    counting the table."""
    if after is not None:
        rows = list(queryset.filter(sequence__gt=after).order_by("sequence")[: PAGE_SIZE + 1])
        has_newer = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE][::-1]
        has_older = bool(rows) and queryset.filter(sequence__lt=rows[-1].sequence).exists()
        return rows, has_older, has_newer
    if before is not None:
        queryset = queryset.filter(sequence__lt=before)
    rows = list(queryset.order_by("-sequence")[: PAGE_SIZE + 1])
    has_older = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    has_newer = before is not None and bool(rows)
    return rows, has_older, has_newer


def _query_string(params: QueryDict, **cursor: int) -> str:
    query = params.copy()
    for name in CURSOR_PARAMS:
        query.pop(name, None)
    for name, value in cursor.items():
        query[name] = str(value)
    return query.urlencode()


# --- Views -------------------------------------------------------------------------------------


@require_GET
def audit_list_view(request: HttpRequest) -> HttpResponse:
    """Search and filter the audit log; a search with filters is itself audited."""
    _require_audit_reader(request.user)
    filterset = _filtered(request)
    before, after = _cursor(request, "before"), _cursor(request, "after")
    if filterset.usable:
        rows, has_older, has_newer = _page(filterset.qs, before=before, after=after)
    else:
        rows, has_older, has_newer = [], False, False
    applied = filterset.applied()
    if applied and before is None and after is None:
        # Turning pages of the same search is not a new search.
        audit_log(
            actor=request.user,
            event_type="audit.search",
            object_type="core.auditevent",
            details={"filters": applied, "shown": len(rows), "more": has_older},
        )
    for event in rows:
        event.label = event_label(event.event_type)
    filter_query = _query_string(request.GET)
    return render(
        request,
        "portal/audit_list.html",
        {
            "filterset": filterset,
            "events": rows,
            "older_query": _query_string(request.GET, before=rows[-1].sequence)
            if has_older
            else "",
            "newer_query": _query_string(request.GET, after=rows[0].sequence) if has_newer else "",
            "is_paged": before is not None or after is not None,
            "filter_query": filter_query,
        },
    )


@require_GET
def audit_detail_view(request: HttpRequest, sequence: int) -> HttpResponse:
    """One event (by its sequence number, the number auditors and ``verify_audit_chain``
    cite) with every recorded field, and whether its link in the chain holds."""
    _require_audit_reader(request.user)
    events = audit_event_list(user=request.user).select_related(None)
    event = get_object_or_404(events, sequence=sequence)
    problem = event_link_problem(event)
    return render(
        request,
        "portal/audit_detail.html",
        {
            "event": event,
            "label": event_label(event.event_type),
            "chain_problem": problem,
            "details_json": json.dumps(event.details, ensure_ascii=False, indent=2, sort_keys=True),
        },
    )


# --- Export (AUD-05 "exportable") --------------------------------------------------------------


def _local_time(event: AuditEvent) -> str:
    return timezone.localtime(event.occurred_at).strftime("%Y-%m-%d %H:%M:%S")


class AuditEventExporter(Exporter):
    code = "core.auditevent"
    title = _("Audit log")
    action = Action.READ_AUDIT
    columns = (
        ExportColumn(_("Sequence number"), "sequence"),
        ExportColumn(_("Time (Beijing)"), _local_time, key="occurred_at"),
        ExportColumn(_("Username"), "actor_username"),
        ExportColumn(_("Roles"), "actor_roles"),
        ExportColumn(_("Event code"), "event_type"),
        ExportColumn(_("Event"), lambda event: event_label(event.event_type), key="event_label"),
        ExportColumn(_("Object type"), "object_type"),
        ExportColumn(_("Object id"), "object_id"),
        ExportColumn(_("Object"), "object_repr"),
        ExportColumn(_("Outcome"), "get_outcome_display", key="outcome"),
        ExportColumn(_("Reason"), "reason"),
        ExportColumn(
            _("Details"),
            lambda event: json.dumps(event.details, ensure_ascii=False, sort_keys=True),
            key="details",
        ),
        ExportColumn(_("IP address"), "ip_address"),
        ExportColumn(_("User agent"), "user_agent"),
        ExportColumn(_("Request id"), "request_id"),
        ExportColumn(_("Chain key id"), "key_id"),
        ExportColumn(_("HMAC"), "hmac"),
    )


@require_GET
def audit_export_view(request: HttpRequest) -> HttpResponse:
    """The filtered events as .xlsx (escaped cells, ``no-store``), audited as ``audit.export``
    with the filters, the columns, the row count and the file's SHA-256."""
    exporter = AuditEventExporter()
    filterset = _filtered(request)
    applied = filterset.applied()
    if not has_action(request.user, exporter.action):
        audit_log(
            actor=request.user,
            event_type="audit.export",
            object_type=exporter.code,
            outcome=AuditOutcome.DENIED,
            details={"filters": applied},
        )
        raise PermissionDenied
    list_url = reverse("portal:audit_list")
    if not filterset.usable:
        messages.error(request, gettext("Correct the filters before exporting."))
        return redirect(f"{list_url}?{_query_string(request.GET)}")
    queryset = filterset.qs.order_by("-sequence")[: EXPORT_MAX_ROWS + 1]
    rows = list(exporter.rows(queryset))
    if len(rows) > EXPORT_MAX_ROWS:
        messages.error(
            request,
            gettext("More than %(max)s events match; narrow the filters (e.g. the dates).")
            % {"max": EXPORT_MAX_ROWS},
        )
        return redirect(f"{list_url}?{_query_string(request.GET)}")
    content = write_xlsx(exporter.headers(), rows, sheet_title=str(exporter.title))
    sha256 = hashlib.sha256(content).hexdigest()
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    filename = f"{gettext('audit-log')}-{stamp}.xlsx"
    audit_log(
        actor=request.user,
        event_type="audit.export",
        object_type=exporter.code,
        object_repr=filename,
        details={
            "format": "xlsx",
            "filters": applied,
            "fields": exporter.field_names(),
            "rows": len(rows),
            "sha256": sha256,
        },
    )
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition(filename)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
