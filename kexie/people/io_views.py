"""Import and export pages of the talent registry (generic views from ``core.io_views``), and
the unmasked export requests (AC-09)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kexie.accounts.roles import Action
from kexie.accounts.scope import has_action
from kexie.core.audit import audit_log
from kexie.core.exports import export_response
from kexie.core.forms import StyledFormMixin
from kexie.core.io_views import ImportPages

from .choices import ReviewStatus
from .exporters import (
    PersonExporter,
    export_request_create,
    export_request_decide,
    export_request_get,
    export_request_list,
    export_request_use,
    may_export_unmasked,
    person_export_queryset,
    request_organisations,
    unmasked_queryset,
)
from .importers import PersonImporter

person_import_pages = ImportPages(
    importer=PersonImporter(),
    url_name="people:person_import",
    back_url_name="",
)


def _stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d-%H%M")


@require_GET
def person_export(request: HttpRequest) -> HttpResponse:
    # The export right is checked (and a refusal audited) by export_response.
    queryset, filters = person_export_queryset(user=request.user, params=request.GET)
    return export_response(
        user=request.user,
        exporter=PersonExporter(),
        queryset=queryset,
        filters=filters,
        filename=f"{gettext('persons')}-{_stamp()}.xlsx",
        file_format="csv" if request.GET.get("format") == "csv" else "xlsx",
    )


class ExportRequestForm(StyledFormMixin, forms.Form):
    organisation = forms.ModelChoiceField(label=_("Organisation"), queryset=None)
    review_status = forms.ChoiceField(
        label=_("Review status"),
        choices=[("", "—"), *ReviewStatus.choices],
        required=False,
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Another person with the export right over the organisation must approve."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = request_organisations(user=user)


def _require_unmasked_right(request: HttpRequest) -> None:
    if not (
        has_action(request.user, Action.EXPORT) and has_action(request.user, Action.VIEW_SENSITIVE)
    ):
        raise PermissionDenied


@require_http_methods(["GET", "POST"])
def export_request(request: HttpRequest) -> HttpResponse:
    _require_unmasked_right(request)
    form = ExportRequestForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            export_request_create(
                actor=request.user,
                organisation=form.cleaned_data["organisation"],
                reason=form.cleaned_data["reason"],
                filters={"review_status": form.cleaned_data.get("review_status") or ""},
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, gettext("The request was sent for approval."))
            return redirect("people:export_request_list")
    status = 400 if request.method == "POST" else 200
    return render(request, "people/export_request_form.html", {"form": form}, status=status)


@require_GET
def export_request_list_view(request: HttpRequest) -> HttpResponse:
    _require_unmasked_right(request)
    now = timezone.now()
    rows = []
    for item in export_request_list(user=request.user)[:100]:
        rows.append(
            {
                "request": item,
                "mine": item.requested_by_id == request.user.pk,
                "can_decide": item.status == item.STATUS_PENDING
                and item.requested_by_id != request.user.pk
                and may_export_unmasked(request.user, item.organisation),
                "can_download": item.status == item.STATUS_APPROVED
                and item.requested_by_id == request.user.pk
                and item.expires_at is not None
                and item.expires_at > now,
            }
        )
    return render(request, "people/export_request_list.html", {"rows": rows})


@require_POST
def export_request_decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_unmasked_right(request)
    item = export_request_get(user=request.user, pk=pk)
    decision = request.POST.get("decision")
    if decision not in ("approve", "refuse"):
        messages.error(request, gettext("Choose approve or refuse."))
        return redirect("people:export_request_list")
    try:
        export_request_decide(
            actor=request.user,
            request=item,
            approve=decision == "approve",
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, gettext("The decision was recorded."))
    return redirect("people:export_request_list")


@require_POST
def export_request_download(request: HttpRequest, pk: int) -> HttpResponse:
    _require_unmasked_right(request)
    item = export_request_get(user=request.user, pk=pk)
    try:
        item = export_request_use(actor=request.user, request=item)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(reverse("people:export_request_list"))
    queryset, filters = unmasked_queryset(user=request.user, request=item)
    response = export_response(
        user=request.user,
        exporter=PersonExporter(unmasked=True),
        queryset=queryset,
        filters=filters,
        filename=f"{gettext('persons')}-{_stamp()}.xlsx",
        audit_details={"unmasked": True, "export_request": item.pk},
    )
    audit_log(
        actor=request.user,
        event_type="pii.export",
        obj=item,
        reason=item.reason,
        details={
            "fields": ["id_number", "phone", "email"],
            "organisation": item.organisation.code,
            "approved_by": item.decided_by_id,
        },
    )
    return response
